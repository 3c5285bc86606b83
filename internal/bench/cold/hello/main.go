// Command hello is the reference of the cold-start benchmark
// (internal/bench/cold): the smallest aws-lambda-go function.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
