package bench

import "fmt"

// MaxLogLineBytes is issue #8's bound on the average invocation log line,
// in the functions and in the authorizer each.
const MaxLogLineBytes = 600

// LogOutput is what the functions and the authorizer wrote over some
// workloads, and how many invocations wrote it.
type LogOutput struct {
	FunctionInvocations, AuthorizerInvocations int64
	FunctionLines, AuthorizerLines             int64
	FunctionBytes, AuthorizerBytes             int64
}

// Add counts u, a Sub of two Usage snapshots, in o.
func (o *LogOutput) Add(u Usage) {
	for name, inv := range u.Invocations {
		if name == AuthorizerFunction {
			o.AuthorizerInvocations += inv.Count
		} else {
			o.FunctionInvocations += inv.Count
		}
	}
	o.AuthorizerLines += u.AuthorizerLogLines
	o.AuthorizerBytes += u.AuthorizerLogBytes
	o.FunctionLines += u.LogLines - u.AuthorizerLogLines
	o.FunctionBytes += u.LogBytes - u.AuthorizerLogBytes
}

// Check reports the lines per invocation and the bytes per line of the
// functions and of the authorizer, and whether each writes one line per
// invocation of at most MaxLogLineBytes on average.
func (o LogOutput) Check() (string, bool) {
	part := func(name string, inv, lines, bytes int64) (string, bool) {
		if inv == 0 || lines == 0 {
			return fmt.Sprintf("%s: no invocations", name), false
		}
		perInv, perLine := float64(lines)/float64(inv), float64(bytes)/float64(lines)
		return fmt.Sprintf("%s %.2f lines per invocation, %.0f bytes per line", name, perInv, perLine),
			lines == inv && perLine <= MaxLogLineBytes
	}
	f, fok := part("functions", o.FunctionInvocations, o.FunctionLines, o.FunctionBytes)
	a, aok := part("authorizer", o.AuthorizerInvocations, o.AuthorizerLines, o.AuthorizerBytes)
	met := "NO"
	if fok && aok {
		met = "yes"
	}
	return fmt.Sprintf("log lines: %s; %s (target: one line per invocation, ≤ %d bytes on average, each): %s",
		f, a, MaxLogLineBytes, met), fok && aok
}
