package relay

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"wallets/internal/event"
	"wallets/internal/obs"
)

// awsStandIn speaks just enough of EventBridge's (JSON 1.1, AWSEvents.*)
// and SQS's (JSON 1.0, AmazonSQS.*) protocols for the adapters: it records
// each call's decoded body and answers with reply's, or a default success.
type awsStandIn struct {
	srv *httptest.Server

	mu    sync.Mutex
	calls []awsCall
	// reply answers a call; nil (or a nil answer) for the default.
	reply func(c awsCall) any
}

type awsCall struct {
	Target string // "AWSEvents.PutEvents", "AmazonSQS.SendMessageBatch", ...
	Body   map[string]any
}

func newAWSStandIn(t *testing.T) *awsStandIn {
	s := &awsStandIn{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *awsStandIn) config() aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(s.srv.URL),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}
}

func (s *awsStandIn) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || r.Header.Get("Authorization") == "" || target == "" {
		http.Error(w, "not a signed JSON-protocol call", http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := awsCall{Target: target, Body: body}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	reply := s.reply
	s.mu.Unlock()
	var out any
	if reply != nil {
		out = reply(c)
	}
	if out == nil {
		out = defaultReply(c)
	}
	if strings.HasPrefix(target, "AmazonSQS.") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	} else {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	}
	_ = json.NewEncoder(w).Encode(out)
}

func entries(c awsCall) []map[string]any {
	var out []map[string]any
	for _, e := range c.Body["Entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// defaultReply answers a call with its success.
func defaultReply(c awsCall) any {
	switch c.Target {
	case "AWSEvents.PutEvents":
		var res []map[string]any
		for range entries(c) {
			res = append(res, map[string]any{"EventId": uuid.NewString()})
		}
		return map[string]any{"FailedEntryCount": 0, "Entries": res}
	case "AmazonSQS.SendMessageBatch":
		var ok []map[string]any
		for _, e := range entries(c) {
			ok = append(ok, sqsSuccess(e))
		}
		return map[string]any{"Successful": ok}
	}
	return map[string]any{}
}

func sqsSuccess(e map[string]any) map[string]any {
	return map[string]any{"Id": e["Id"], "MessageId": uuid.NewString(), "MD5OfMessageBody": md5Hex(e["MessageBody"].(string))}
}

func (s *awsStandIn) callsOf(target string) []awsCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []awsCall
	for _, c := range s.calls {
		if c.Target == target {
			out = append(out, c)
		}
	}
	return out
}

func messages(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{ID: uuid.New(), Type: event.WalletDeposited, Created: time.Unix(1765000000+int64(i), 0), Body: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	return msgs
}

func TestEventBridgeBusPublishes(t *testing.T) {
	s := newAWSStandIn(t)
	bus := &EventBridgeBus{Client: eventbridge.NewFromConfig(s.config()), BusName: "wallets-events"}
	msgs := messages(23)
	if err := bus.Publish(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	calls := s.callsOf("AWSEvents.PutEvents")
	if len(calls) != 3 {
		t.Fatalf("%d PutEvents calls, want 3", len(calls))
	}
	i := 0
	for k, c := range calls {
		es := entries(c)
		if want := []int{10, 10, 3}[k]; len(es) != want {
			t.Fatalf("call %d has %d entries, want %d", k, len(es), want)
		}
		for _, e := range es {
			m := msgs[i]
			i++
			if e["Source"] != DefaultSource || e["DetailType"] != string(m.Type) || e["Detail"] != string(m.Body) || e["EventBusName"] != "wallets-events" {
				t.Fatalf("entry %v for %+v", e, m)
			}
			if tm, ok := e["Time"].(float64); !ok || int64(tm) != m.Created.Unix() {
				t.Fatalf("entry time %v, want %v", e["Time"], m.Created.Unix())
			}
		}
	}
}

func TestEventBridgeBusPartialFailure(t *testing.T) {
	s := newAWSStandIn(t)
	s.reply = func(c awsCall) any {
		return map[string]any{"FailedEntryCount": 1, "Entries": []map[string]any{
			{"EventId": "e1"},
			{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
			{"EventId": "e3"},
		}}
	}
	bus := &EventBridgeBus{Client: eventbridge.NewFromConfig(s.config()), BusName: "b", Source: "wallets.test"}
	msgs := messages(3)
	err := bus.Publish(context.Background(), msgs)
	if err == nil || !strings.Contains(err.Error(), msgs[1].ID.String()) || !strings.Contains(err.Error(), "InternalFailure") || strings.Contains(err.Error(), msgs[0].ID.String()) {
		t.Fatalf("Publish = %v; want an error naming the second event", err)
	}
	if e := entries(s.callsOf("AWSEvents.PutEvents")[0])[0]; e["Source"] != "wallets.test" {
		t.Fatalf("Source %v", e["Source"])
	}
}

func TestEventBridgeBusError(t *testing.T) {
	s := newAWSStandIn(t)
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","message":"no"}`)
	})
	bus := &EventBridgeBus{Client: eventbridge.NewFromConfig(s.config()), BusName: "b"}
	if err := bus.Publish(context.Background(), messages(1)); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Publish = %v", err)
	}
}

func refs(n int) []DeliveryRef {
	rs := make([]DeliveryRef, n)
	for i := range rs {
		rs[i] = DeliveryRef{ID: uuid.New(), Attempt: 1}
	}
	return rs
}

func TestSQSQueueSends(t *testing.T) {
	s := newAWSStandIn(t)
	q := &SQSQueue{Client: sqs.NewFromConfig(s.config()), URL: s.srv.URL + "/123456789012/deliveries"}
	rs := refs(12)
	if err := q.Send(context.Background(), rs, 0); err != nil {
		t.Fatal(err)
	}
	calls := s.callsOf("AmazonSQS.SendMessageBatch")
	if len(calls) != 2 || len(entries(calls[0])) != 10 || len(entries(calls[1])) != 2 {
		t.Fatalf("calls %+v", calls)
	}
	i := 0
	for _, c := range calls {
		if c.Body["QueueUrl"] != q.URL {
			t.Fatalf("QueueUrl %v", c.Body["QueueUrl"])
		}
		for _, e := range entries(c) {
			got, err := ParseDeliveryRef(e["MessageBody"].(string))
			if err != nil || got != rs[i] {
				t.Fatalf("message %v: %+v, %v; want %+v", e, got, err, rs[i])
			}
			if d, _ := e["DelaySeconds"].(float64); d != 0 {
				t.Fatalf("DelaySeconds %v", e["DelaySeconds"])
			}
			i++
		}
	}

	// Delays are whole seconds, rounded up, at most 900.
	for _, tc := range []struct {
		delay time.Duration
		want  float64
	}{{1500 * time.Millisecond, 2}, {time.Minute, 60}, {2 * time.Hour, 900}} {
		if err := q.Send(context.Background(), refs(1), tc.delay); err != nil {
			t.Fatal(err)
		}
		calls := s.callsOf("AmazonSQS.SendMessageBatch")
		if got := entries(calls[len(calls)-1])[0]["DelaySeconds"]; got != tc.want {
			t.Errorf("delay %v sent DelaySeconds %v, want %v", tc.delay, got, tc.want)
		}
	}
}

func TestSQSQueuePartialFailure(t *testing.T) {
	s := newAWSStandIn(t)
	s.reply = func(c awsCall) any {
		if c.Target != "AmazonSQS.SendMessageBatch" {
			return nil
		}
		es := entries(c)
		return map[string]any{
			"Successful": []map[string]any{sqsSuccess(es[0])},
			"Failed":     []map[string]any{{"Id": es[1]["Id"], "Code": "InternalError", "SenderFault": false, "Message": "try again"}},
		}
	}
	q := &SQSQueue{Client: sqs.NewFromConfig(s.config()), URL: s.srv.URL + "/1/q"}
	rs := refs(2)
	err := q.Send(context.Background(), rs, 0)
	if err == nil || !strings.Contains(err.Error(), rs[1].ID.String()) || strings.Contains(err.Error(), rs[0].ID.String()) || !strings.Contains(err.Error(), "InternalError") {
		t.Fatalf("Send = %v; want an error naming the second delivery", err)
	}
}

func TestSQSHandler(t *testing.T) {
	s := newAWSStandIn(t)
	done, retry, fault := uuid.New(), uuid.New(), uuid.New()
	long := uuid.New()
	worker := handlerFunc(func(_ context.Context, r DeliveryRef) (time.Duration, error) {
		switch r.ID {
		case retry:
			return 90*time.Second + time.Millisecond, nil
		case long:
			return 48 * time.Hour, nil
		case fault:
			return 0, errDown
		}
		return 0, nil
	})
	var out bytes.Buffer
	h := &SQSHandler{Worker: worker, Client: sqs.NewFromConfig(s.config()), Obs: obs.New(obs.Config{Function: "wallets-deliver", Output: &out})}
	const arn = "arn:aws:sqs:eu-west-1:123456789012:wallets-deliveries"
	rec := func(id, body string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: body, EventSourceARN: arn}
	}
	body := func(id uuid.UUID) string { b, _ := json.Marshal(DeliveryRef{ID: id, Attempt: 1}); return string(b) }
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		rec("m-done", body(done)), rec("m-retry", body(retry)), rec("m-fault", body(fault)),
		rec("m-poison", "not json"), rec("m-long", body(long)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	if len(failed) != 4 || failed["m-done"] || !failed["m-retry"] || !failed["m-fault"] || !failed["m-poison"] || !failed["m-long"] {
		t.Fatalf("batch item failures %+v", resp.BatchItemFailures)
	}
	vis := map[string]float64{}
	for _, c := range s.callsOf("AmazonSQS.ChangeMessageVisibility") {
		if c.Body["QueueUrl"] != "https://sqs.eu-west-1.amazonaws.com/123456789012/wallets-deliveries" {
			t.Errorf("QueueUrl %v", c.Body["QueueUrl"])
		}
		vis[c.Body["ReceiptHandle"].(string)] = c.Body["VisibilityTimeout"].(float64)
	}
	if len(vis) != 2 || vis["rh-m-retry"] != 91 || vis["rh-m-long"] != float64(maxVisibility/time.Second) {
		t.Fatalf("visibility changes %v", vis)
	}
	line := out.String()
	if !strings.Contains(line, `"status":500`) || !strings.Contains(line, "m-fault") || !strings.Contains(line, `"Function":"wallets-deliver"`) {
		t.Fatalf("invocation line %s", line)
	}
}

func TestSQSHandlerWithWorkerMetrics(t *testing.T) {
	s := newAWSStandIn(t)
	c := newClock()
	o := newFakeOutbox(c.Now)
	o.add(event.WalletDeposited, endpoint("https://ok.example"), endpoint("https://down.example"))
	q := &SQSQueue{Client: sqs.NewFromConfig(s.config()), URL: s.srv.URL + "/1/q"}
	r := &Relay{Outbox: o, Queue: q, Render: render, Now: c.Now}
	if _, err := r.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	var recs []events.SQSMessage
	for i, e := range entries(s.callsOf("AmazonSQS.SendMessageBatch")[0]) {
		recs = append(recs, events.SQSMessage{MessageId: fmt.Sprint(i), ReceiptHandle: fmt.Sprint("rh", i), Body: e["MessageBody"].(string)})
	}
	sender := senderFunc(func(url string) event.Attempt {
		if url == "https://ok.example" {
			return event.Attempt{Status: 200}
		}
		return event.Attempt{Error: "connection refused"}
	})
	var out bytes.Buffer
	h := &SQSHandler{
		Worker:   &Worker{Outbox: o, Sender: sender, Schedule: schedule{time.Minute, 3}, Render: render, Now: c.Now},
		Client:   sqs.NewFromConfig(s.config()),
		QueueURL: q.URL,
		Obs:      obs.New(obs.Config{Function: "wallets-deliver", Output: &out}),
	}
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("line %s: %v", out.String(), err)
	}
	if line[obs.MetricDeliveriesDelivered] != 1.0 || line[obs.MetricDeliveriesRetried] != 1.0 {
		t.Fatalf("metrics in %s", out.String())
	}
	if v := s.callsOf("AmazonSQS.ChangeMessageVisibility"); len(v) != 1 || v[0].Body["QueueUrl"] != q.URL || v[0].Body["VisibilityTimeout"] != 60.0 {
		t.Fatalf("visibility changes %+v", v)
	}
}

type senderFunc func(url string) event.Attempt

func (f senderFunc) Send(_ context.Context, url, _, _ string, _ []byte) event.Attempt { return f(url) }

func TestRelayHandler(t *testing.T) {
	s := newAWSStandIn(t)
	o := newFakeOutbox(nil)
	o.add(event.WalletDeposited, endpoint("https://a.example"))
	o.add(event.ChargeCreated)
	r := &Relay{
		Outbox: o,
		Bus:    &EventBridgeBus{Client: eventbridge.NewFromConfig(s.config()), BusName: "b"},
		Queue:  &SQSQueue{Client: sqs.NewFromConfig(s.config()), URL: s.srv.URL + "/1/q"},
		Render: render,
	}
	var out bytes.Buffer
	h := &RelayHandler{Relay: r, Window: 400 * time.Millisecond, Poll: 20 * time.Millisecond, Obs: obs.New(obs.Config{Function: "wallets-relay", Output: &out})}
	// An event committed while the invocation runs goes out in it.
	go func() {
		time.Sleep(100 * time.Millisecond)
		o.add(event.WalletWithdrawn)
	}()
	start := time.Now()
	if err := h.Handle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("returned after %v, well before its window", el)
	}
	if o.unpublished() != 0 {
		t.Fatal("events left")
	}
	if n := len(s.callsOf("AWSEvents.PutEvents")); n != 2 {
		t.Fatalf("%d PutEvents calls, want 2", n)
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("line %s: %v", out.String(), err)
	}
	if line[obs.MetricEventsPublished] != 3.0 || line[obs.MetricOutboxAgeSeconds] == nil || line["status"] != 200.0 {
		t.Fatalf("line %s", out.String())
	}
}

func TestRelayHandlerOutage(t *testing.T) {
	o := newFakeOutbox(nil)
	o.add(event.WalletDeposited)
	o.fail("Relay", 1000)
	var out bytes.Buffer
	h := &RelayHandler{
		Relay:  &Relay{Outbox: o, Queue: newFakeQueue(), Render: render},
		Window: 100 * time.Millisecond, Poll: 10 * time.Millisecond,
		Obs: obs.New(obs.Config{Function: "wallets-relay", Output: &out}),
	}
	// Stops before the invocation's deadline, less its margin.
	ctx, cancel := context.WithTimeout(context.Background(), deadlineMargin+50*time.Millisecond)
	defer cancel()
	if err := h.Handle(ctx); err != nil {
		t.Fatalf("Handle = %v; errors are the line's, not the result", err)
	}
	if ctx.Err() != nil {
		t.Fatal("ran into the invocation's deadline")
	}
	if !strings.Contains(out.String(), `"status":500`) || !strings.Contains(out.String(), "database unreachable") {
		t.Fatalf("line %s", out.String())
	}
	if o.unpublished() != 1 {
		t.Fatal("event lost")
	}
}
