package obstest

import (
	"strings"
	"testing"
)

func TestEMF(t *testing.T) {
	const aws = `"_aws":{"Timestamp":1796145073787,"CloudWatchMetrics":[{"Namespace":"Wallets","Dimensions":[["Function"]],"Metrics":[{"Name":"Requests"},{"Name":"Latency","Unit":"Milliseconds"}]}]}`
	good := `{"msg":"request","Function":"f","Requests":1,"Latency":[1.5,2],` + aws + `}`
	if doc, err := EMF([]byte(good)); err != nil || doc["Function"] != "f" {
		t.Fatalf("EMF(good) = %v, %v", doc, err)
	}
	for name, bad := range map[string]string{
		"not JSON":           `{"msg":`,
		"no _aws":            `{"Function":"f","Requests":1}`,
		"no dimension value": `{"Requests":1,"Latency":1,` + aws + `}`,
		"dimension a number": `{"Function":1,"Requests":1,"Latency":1,` + aws + `}`,
		"no metric value":    `{"Function":"f","Latency":1,` + aws + `}`,
		"metric a string":    `{"Function":"f","Requests":"1","Latency":1,` + aws + `}`,
		"seconds":            strings.Replace(good, "1796145073787", "1796145073", 1),
		"no directive":       `{"_aws":{"Timestamp":1796145073787,"CloudWatchMetrics":[]}}`,
		"empty unit":         strings.Replace(good, `"Unit":"Milliseconds"`, `"Unit":""`, 1),
	} {
		if _, err := EMF([]byte(bad)); err == nil {
			t.Errorf("%s: no error for %s", name, bad)
		}
	}
}
