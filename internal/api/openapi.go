package api

import (
	"reflect"
	"sync"

	"wallets/internal/api/openapi"
	"wallets/internal/route"
)

// OpenAPIJSON returns the OpenAPI 3.1 document of the API, encoded once.
func OpenAPIJSON() ([]byte, error) {
	openAPI.once.Do(func() {
		openAPI.doc, openAPI.err = openapi.JSON(route.Routes(), OpenAPIInput())
	})
	return openAPI.doc, openAPI.err
}

// openAPI caches the encoded document. It is built on first use, and
// nothing but OpenAPIJSON refers to the builder, so functions other than
// openapi do not link it.
var openAPI struct {
	once sync.Once
	doc  []byte
	err  error
}

// OpenAPIInput is what the OpenAPI document takes from this package: the
// view types the handlers encode, by schema name, and the limits they
// apply.
func OpenAPIInput() openapi.API {
	return openapi.API{
		Views: map[string]reflect.Type{
			"Profile":     reflect.TypeFor[profileView](),
			"User":        reflect.TypeFor[userView](),
			"Wallet":      reflect.TypeFor[walletView](),
			"Transaction": reflect.TypeFor[transactionView](),
			"Business":    reflect.TypeFor[businessView](),
			"Event":       reflect.TypeFor[eventView](),
			"Webhook":     reflect.TypeFor[webhookView](),
			"NewWebhook":  reflect.TypeFor[newWebhookView](),
			"DeadLetter":  reflect.TypeFor[deadLetterView](),
			"Health":      reflect.TypeFor[healthView](),
			"Detail":      reflect.TypeFor[Detail](),
			"Page":        reflect.TypeFor[pageBody](),
		},
		CookieName:      CookieName,
		DefaultPageSize: DefaultPageSize,
		MaxPageSize:     MaxPageSize,
		MaxWebhookURL:   MaxWebhookURL,
	}
}
