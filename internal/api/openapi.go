package api

import (
	"context"
	"encoding/json"
)

// openAPI serves the OpenAPI document.
func (s *Server) openAPI(ctx context.Context, r *Request) (Response, error) {
	doc, err := OpenAPIJSON()
	if err != nil {
		return Response{}, err
	}
	return ok(json.RawMessage(doc)), nil
}
