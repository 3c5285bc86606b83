package settings

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestSettings(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"stage": "qa", "alarmEmail": "qa@example.com", "natGateways": "3", "tracing": "true", "logRetentionDays": 90,
		StagesContextKey: map[string]any{"qa": map[string]any{"dbMaxCapacity": 8, "natGateways": 1}},
	}})
	s, err := Load(app)
	if err != nil {
		t.Fatal(err)
	}
	if s.Stage != "qa" || s.NatGateways != 3 || !s.Tracing || s.LogRetentionDays != 90 || s.DBMaxCapacity != 8 || !s.Protect {
		t.Errorf("settings %+v", s)
	}
	for ctx, wantErr := range map[string]string{
		`{"stage": "Prod"}`:                    "stage",
		`{"backupRetentionDays": 3}`:           "backupRetentionDays",
		`{"logRetentionDays": 10}`:             "logRetentionDays",
		`{"dbMinCapacity": 0}`:                 "dbMinCapacity",
		`{"natGateways": "two"}`:               "natGateways",
		`{"authorizerCacheTtlSeconds": "1.5"}`: "authorizerCacheTtlSeconds",
	} {
		var c map[string]any
		if err := json.Unmarshal([]byte(ctx), &c); err != nil {
			t.Fatal(err)
		}
		_, err := Load(awscdk.NewApp(&awscdk.AppProps{Context: &c}))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want one naming %s", ctx, err, wantErr)
		}
	}
}
