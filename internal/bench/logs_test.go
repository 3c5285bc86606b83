package bench

import (
	"strings"
	"testing"
)

func TestCounterSplitsTheAuthorizersLines(t *testing.T) {
	var c Counter
	authz := `{"level":"INFO","msg":"authorize","effect":"Allow"}` + "\n"
	fn := `{"level":"INFO","msg":"request","status":200}` + "\n"
	// One line per Write, as obs writes them, and two in one Write.
	for _, p := range []string{authz, fn, authz + fn} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.Lines() != 4 || c.Bytes() != int64(2*len(authz)+2*len(fn)) {
		t.Errorf("counted %d lines, %d bytes", c.Lines(), c.Bytes())
	}
	if c.authzLines.Load() != 2 || c.authzBytes.Load() != int64(2*len(authz)) {
		t.Errorf("authorizer: %d lines, %d bytes", c.authzLines.Load(), c.authzBytes.Load())
	}
}

func TestLogOutputCheck(t *testing.T) {
	tests := []struct {
		name string
		o    LogOutput
		met  bool
	}{
		{"one short line each", LogOutput{10, 10, 10, 10, 5000, 4000}, true},
		{"a line of exactly the bound", LogOutput{1, 1, 1, 1, MaxLogLineBytes, 10}, true},
		{"function lines too long", LogOutput{10, 10, 10, 10, 6010, 4000}, false},
		{"two lines a function invocation", LogOutput{10, 10, 20, 10, 5000, 4000}, false},
		{"authorizer silent", LogOutput{10, 10, 10, 0, 5000, 0}, false},
		{"nothing ran", LogOutput{}, false},
	}
	for _, tt := range tests {
		line, met := tt.o.Check()
		if met != tt.met || !strings.HasPrefix(line, "log lines: ") {
			t.Errorf("%s: Check() = %q, %v; want met %v", tt.name, line, met, tt.met)
		}
	}
}

func TestLogOutputAdd(t *testing.T) {
	var o LogOutput
	o.Add(Usage{
		Invocations:        map[string]Invocations{"wallets-deposit": {Count: 3}, "users-me": {Count: 2}, AuthorizerFunction: {Count: 5}},
		LogLines:           10,
		LogBytes:           5000,
		AuthorizerLogLines: 5,
		AuthorizerLogBytes: 2000,
	})
	want := LogOutput{FunctionInvocations: 5, AuthorizerInvocations: 5, FunctionLines: 5, AuthorizerLines: 5, FunctionBytes: 3000, AuthorizerBytes: 2000}
	if o != want {
		t.Errorf("Add: %+v, want %+v", o, want)
	}
}
