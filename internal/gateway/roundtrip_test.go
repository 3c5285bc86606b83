package gateway

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"pgregory.net/rapid"
)

// stdRoundTrip is what the Lambda Go runtime and API Gateway do: JSON with
// encoding/json.
func stdRoundTrip[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}

// roundTrip must hand a handler exactly what encoding/json would (it decodes
// with another library): the events the gateway builds (headers and query strings with any bytes, the
// authorizer's context with numbers and booleans, nil and empty maps) and
// the responses handlers return.
func TestRoundTripMatchesEncodingJSON(t *testing.T) {
	// Any bytes, invalid UTF-8, control characters and HTML included.
	text := rapid.OneOf(rapid.String(), rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) }),
		rapid.SampledFrom([]string{"", "<script>&amp;</script>", "\u2028\u2029", "\x00\x7f", "\xff\xfe", "a\"b\\c"}))
	strings := rapid.MapOf(text, text)
	multi := rapid.MapOf(text, rapid.SliceOf(text))
	orNil := func(g *rapid.Generator[map[string]string]) *rapid.Generator[map[string]string] {
		return rapid.OneOf(g, rapid.Just[map[string]string](nil))
	}
	value := rapid.OneOf[any](text.AsAny(), rapid.Int64().AsAny(), rapid.Float64().AsAny(), rapid.Bool().AsAny(), rapid.Just[any](nil))

	rapid.Check(t, func(t *rapid.T) {
		ev := events.APIGatewayProxyRequest{
			Resource: text.Draw(t, "resource"), Path: text.Draw(t, "path"), HTTPMethod: text.Draw(t, "method"),
			Headers: orNil(strings).Draw(t, "headers"), MultiValueHeaders: multi.Draw(t, "multiHeaders"),
			QueryStringParameters: orNil(strings).Draw(t, "query"), MultiValueQueryStringParameters: multi.Draw(t, "multiQuery"),
			PathParameters: orNil(strings).Draw(t, "pathParams"), Body: text.Draw(t, "body"),
			IsBase64Encoded: rapid.Bool().Draw(t, "base64"),
			RequestContext: events.APIGatewayProxyRequestContext{
				RequestID: text.Draw(t, "requestID"), RequestTimeEpoch: rapid.Int64().Draw(t, "epoch"),
				Identity:   events.APIGatewayRequestIdentity{SourceIP: text.Draw(t, "ip"), UserAgent: text.Draw(t, "ua")},
				Authorizer: rapid.MapOf(text, value).Draw(t, "authorizer"),
			},
		}
		got, gotErr := roundTrip(ev)
		want, wantErr := stdRoundTrip(ev)
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("event: roundTrip = %#v, %v\nencoding/json = %#v, %v", got, gotErr, want, wantErr)
		}

		resp := events.APIGatewayProxyResponse{
			StatusCode: rapid.IntRange(100, 599).Draw(t, "status"), Headers: orNil(strings).Draw(t, "respHeaders"),
			MultiValueHeaders: multi.Draw(t, "respMulti"), Body: text.Draw(t, "respBody"), IsBase64Encoded: rapid.Bool().Draw(t, "respBase64"),
		}
		gotResp, gotErr := roundTrip(resp)
		wantResp, wantErr := stdRoundTrip(resp)
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(gotResp, wantResp) {
			t.Fatalf("response: roundTrip = %#v, %v\nencoding/json = %#v, %v", gotResp, gotErr, wantResp, wantErr)
		}
	})
}
