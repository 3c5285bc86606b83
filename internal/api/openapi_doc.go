package api

import "errors"

// OpenAPIJSON returns the OpenAPI 3.1 document of the API.
// PLACEHOLDER: being written now; replaced before commit.
func OpenAPIJSON() ([]byte, error) { return nil, errors.New("openapi: not built yet") }
