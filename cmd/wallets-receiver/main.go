// Command wallets-receiver is a webhook receiver for development: it
// listens on 127.0.0.1, checks each delivery's Wallets-Signature with the
// endpoint's secret, and prints one line per delivery. With -fail-first it
// answers 500 to the first attempt of every event, to watch the retries
// (the same event id comes again).
//
//	go run ./cmd/wallets-receiver -port 9099 -secret whsec_… [-fail-first]
//
// and register http://127.0.0.1:9099/ as a webhook of a `make run` API.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"wallets/internal/webhook"
)

func main() {
	port := flag.Int("port", 9099, "port on 127.0.0.1 to listen on")
	secret := flag.String("secret", "", "the endpoint's signing secret (whsec_…); empty skips the check")
	failFirst := flag.Bool("fail-first", false, "answer 500 to the first attempt of each event")
	flag.Parse()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("wallets-receiver: %v", err)
	}
	fmt.Printf("Receiving webhooks at http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: newReceiver(*secret, *failFirst, os.Stdout), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// receiver answers deliveries and prints them to out.
type receiver struct {
	secret    string
	failFirst bool
	mu        sync.Mutex
	out       io.Writer
	attempts  map[string]int
}

func newReceiver(secret string, failFirst bool, out io.Writer) *receiver {
	return &receiver{secret: secret, failFirst: failFirst, out: out, attempts: map[string]int{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.Header.Get(webhook.HeaderEventID)
	signature := "not checked (no -secret)"
	status := http.StatusNoContent
	if rc.secret != "" {
		if err := webhook.Verify(rc.secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance); err != nil {
			signature, status = "BAD: "+err.Error(), http.StatusUnauthorized
		} else {
			signature = "ok"
		}
	}
	rc.mu.Lock()
	rc.attempts[id]++
	n := rc.attempts[id]
	if rc.failFirst && n == 1 && status == http.StatusNoContent {
		status = http.StatusInternalServerError
	}
	fmt.Fprintf(rc.out, "%s event %s attempt %d: signature %s; answered %d\n  %s\n",
		time.Now().UTC().Format(time.RFC3339), id, n, signature, status, body)
	rc.mu.Unlock()
	w.WriteHeader(status)
}
