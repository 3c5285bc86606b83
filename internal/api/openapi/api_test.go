package openapi_test

import (
	"wallets/internal/api"
	"wallets/internal/api/openapi"
)

func init() {
	openapi.Served = api.OpenAPIJSON
	openapi.APIInput = api.OpenAPIInput()
}
