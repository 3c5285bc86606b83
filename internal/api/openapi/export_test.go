package openapi

// The tests check the document package api serves, built from its view
// types; api imports this package, so only an external test package may
// import it (api_test.go), and it hands them over here.
var (
	// Served is api.OpenAPIJSON.
	Served func() ([]byte, error)
	// APIInput is api.OpenAPIInput().
	APIInput API
)
