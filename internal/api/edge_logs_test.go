package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"wallets/internal/api"
	"wallets/internal/money"
	"wallets/internal/obs"
	"wallets/internal/obs/obstest"
	"wallets/internal/route"
	"wallets/internal/wallet"
)

// TestEdgeLogLines runs real handlers on fakes under api.Observe: each
// invocation writes exactly one line, which is a valid EMF document with
// the business metrics and the error in it, and a request's line fits in
// 600 bytes with API Gateway's and Lambda's uuid request ids, a uuid path
// and a 6-digit user.
func TestEdgeLogLines(t *testing.T) {
	const user = 482133
	collected := func(amount money.Amount) wallet.Transaction {
		return wallet.Transaction{UUID: chargeID, Amount: amount, Status: wallet.Accepted, WalletID: walletID, Created: created}
	}
	for _, c := range []struct {
		name   string
		q      req
		set    func(e *edge)
		status int
		want   map[string]any // members of the line; nil: must be absent
	}{{
		name: "deposit",
		q:    req{fn: "wallets-deposit", params: map[string]string{"uuid": walletID.String()}, body: `{"amount":"1234.56","description":"Nómina"}`, caller: customer(user)},
		set: func(e *edge) {
			e.wallets.DepositFn = func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error) {
				return customerWallet(123456), nil
			}
		},
		status: http.StatusOK,
		want:   map[string]any{"AmountMoved": 1234.56, "Requests": 1.0, "4xx": nil, "5xx": nil, "level": "INFO", "user_id": "482133"},
	}, {
		name: "collect",
		q:    req{fn: "business-debit", params: map[string]string{"uuid": chargeID.String()}, caller: business(user)},
		set: func(e *edge) {
			e.wallets.CollectFn = func(context.Context, int64, uuid.UUID) (wallet.Transaction, error) { return collected(-1500), nil }
		},
		status: http.StatusOK,
		want:   map[string]any{"AmountMoved": 15.0, "RejectedMovements": nil, "4xx": nil},
	}, {
		name: "collect rejected",
		q:    req{fn: "business-debit", params: map[string]string{"uuid": chargeID.String()}, caller: business(user)},
		set: func(e *edge) {
			e.wallets.CollectFn = func(context.Context, int64, uuid.UUID) (wallet.Transaction, error) {
				return collected(-1500), wallet.ErrNegativeBalance
			}
		},
		status: http.StatusConflict,
		want:   map[string]any{"RejectedMovements": 1.0, "4xx": 1.0, "AmountMoved": nil, "error": nil},
	}, {
		name: "withdrawal, database unreachable",
		q:    req{fn: "wallets-retire", params: map[string]string{"uuid": walletID.String()}, body: `{"amount":"-10.00"}`, caller: customer(user)},
		set: func(e *edge) {
			e.wallets.WithdrawFn = func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error) {
				return wallet.Wallet{}, unavailable()
			}
		},
		status: http.StatusServiceUnavailable,
		want:   map[string]any{"5xx": 1.0, "level": "ERROR", "AmountMoved": nil},
	}, {
		name:   "health, database unreachable",
		q:      req{fn: "health"},
		set:    func(e *edge) { e.health.err = unavailable() },
		status: http.StatusServiceUnavailable,
		want:   map[string]any{"5xx": 1.0, "level": "ERROR", "user_id": nil},
	}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEdge(t)
			c.set(e)
			var buf bytes.Buffer
			o := obs.New(obs.Config{Output: &buf})
			rt, ev := c.q.event(t)
			ev.RequestContext.RequestID = "1b0c6f2d-8e4a-4c7b-9d3e-5a1f2b8c4d69"
			h := api.Observe(o, rt.Function, rt.Path, e.srv.Handler(rt, api.Handlers()[rt.Function]))
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "2e9f0c53-3b1f-4f4c-a3b5-0d1c9b8e7f60"})
			resp, err := h(ctx, ev)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("answer %d %s, %v; want %d", resp.StatusCode, resp.Body, err, c.status)
			}

			out := buf.String()
			if n := strings.Count(out, "\n"); n != 1 {
				t.Fatalf("%d lines, want 1:\n%s", n, out)
			}
			line, err := obstest.EMF(buf.Bytes())
			if err != nil {
				t.Fatalf("not an EMF document: %v\n%s", err, out)
			}
			t.Logf("%d bytes: %s", len(out), out)
			if c.status < 500 && len(out) > 600 {
				t.Errorf("%d bytes, want at most 600", len(out))
			}
			for k, v := range map[string]any{"msg": "request", "Function": rt.Function, "method": rt.Methods[0], "path": ev.Path,
				"status": float64(c.status), "request_id": ev.RequestContext.RequestID, "aws_request_id": "2e9f0c53-3b1f-4f4c-a3b5-0d1c9b8e7f60"} {
				if line[k] != v {
					t.Errorf("%s = %v, want %v", k, line[k], v)
				}
			}
			for k, v := range c.want {
				if got, ok := line[k]; v == nil && ok || v != nil && got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if c.status >= 500 {
				if e, _ := line["error"].(string); !strings.Contains(e, "connection refused") {
					t.Errorf("error = %q, want the cause", e)
				}
			}
			if _, ok := line[obs.MetricLatency].(float64); !ok {
				t.Errorf("Latency = %v", line[obs.MetricLatency])
			}
		})
	}
}

// Only the request's own metrics and the money metrics, by Function, ride
// in a money route's line: no other directive.
func TestEdgeMoneyMetricsByFunction(t *testing.T) {
	e := newEdge(t)
	e.wallets.DepositFn = func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error) {
		return customerWallet(100), nil
	}
	var buf bytes.Buffer
	o := obs.New(obs.Config{Output: &buf})
	rt, ev := req{fn: "wallets-deposit", params: map[string]string{"uuid": walletID.String()}, body: `{"amount":"1.00"}`, caller: customer(customerID)}.event(t)
	if _, err := api.Observe(o, rt.Function, rt.Path, e.srv.Handler(rt, api.Handlers()[rt.Function]))(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	line, err := obstest.EMF(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	dirs := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
	if got := fmt.Sprint(dirs); len(dirs) != 1 || !strings.Contains(got, "[[Function]]") || !strings.Contains(got, obs.MetricAmountMoved) {
		t.Errorf("directives %s", got)
	}
	if _, ok := route.ByFunction(rt.Function); !ok || line["Function"] != "wallets-deposit" {
		t.Errorf("Function = %v", line["Function"])
	}
}

// failingHousekeeper's purges fail.
type failingHousekeeper struct{ calls counter }

func (h *failingHousekeeper) Purge(context.Context, int) (int64, error) {
	h.calls.inc()
	return 0, errors.New("canceling statement due to statement timeout")
}

// A failed purge (about one mutating request in 100 purges) is a warning in
// the request's one line, not a line of its own.
func TestEdgePurgeFailureIsAWarning(t *testing.T) {
	e := newEdge(t)
	hk := &failingHousekeeper{}
	e.srv = api.NewServer(api.Services{Wallets: e.wallets, Housekeeper: hk, Tokens: e.tokens, Cursors: testCursors(t)})
	e.wallets.OpenWalletFn = func(context.Context, int64) (wallet.Wallet, error) { return customerWallet(0), nil }
	var buf bytes.Buffer
	o := obs.New(obs.Config{Output: &buf})
	rt, ev := req{fn: "wallets-create", caller: customer(customerID)}.event(t)
	h := api.Observe(o, rt.Function, rt.Path, e.srv.Handler(rt, api.Handlers()[rt.Function]))
	const n = 2000 // P(no purge) = 0.99^2000, about 2e-9
	for range n {
		if resp, err := h(context.Background(), ev); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("answer %d, %v", resp.StatusCode, err)
		}
	}
	if hk.calls.get() == 0 {
		t.Fatal("no purge in 2000 mutating requests")
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines for %d requests", len(lines), n)
	}
	warned := 0
	for _, l := range lines {
		if strings.Contains(l, `"warning"`) {
			warned++
			if !strings.Contains(l, `"level":"WARN"`) || !strings.Contains(l, `"warning":"purge expired rows: canceling statement due to statement timeout"`) {
				t.Errorf("line %s", l)
			}
		}
	}
	if warned != hk.calls.get() {
		t.Errorf("%d warnings for %d failed purges", warned, hk.calls.get())
	}
}
