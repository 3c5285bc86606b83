package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Delivery is the commit-to-delivery workload's name.
const Delivery = "commit → webhook delivery"

// DeliveryLatency measures how long an event takes from its movement's
// commit to its webhook's receiver: the customer with token registers a
// webhook to a receiver on a loopback port, then deposits into wallet one
// at a time for dur; each deposit's latency runs from its 200 (the commit
// is done) to its event's arrival (the relay found it, the delivery worker
// signed and POSTed it). The stack's relay and worker run in-process, as in
// `make run`. Rate is deliveries per second; Non2xx counts deposits whose
// event never arrived within 30 seconds of the run's end.
func DeliveryLatency(ctx context.Context, baseURL, token, wallet string, dur time.Duration) (Stats, error) {
	var (
		mu      sync.Mutex
		sent    = map[string]time.Time{}
		arrived = map[string]time.Time{}
		notify  = make(chan struct{}, 1)
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var ev struct {
			Data struct {
				Description string `json:"description"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err == nil {
			mu.Lock()
			if _, dup := arrived[ev.Data.Description]; !dup {
				arrived[ev.Data.Description] = at
			}
			mu.Unlock()
			select {
			case notify <- struct{}{}:
			default:
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Stats{}, fmt.Errorf("delivery receiver: %w", err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	c := Client{BaseURL: baseURL, HTTP: &http.Client{Timeout: time.Minute}}
	hook, _ := json.Marshal(map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "events": []string{"wallet.deposited"}})
	var created map[string]any
	if err := c.do(ctx, http.MethodPost, "/webhooks", token, hook, &created); err != nil {
		return Stats{}, fmt.Errorf("register the receiver: %w", err)
	}

	end := time.Now().Add(dur)
	n := 0
	for ; time.Now().Before(end) && ctx.Err() == nil; n++ {
		desc := "latency " + strconv.Itoa(n)
		body, _ := json.Marshal(map[string]string{"amount": "1.00", "description": desc})
		var w map[string]any
		if err := c.do(ctx, http.MethodPut, "/wallets/customers/wallets/"+wallet+"/deposit", token, body, &w); err != nil {
			return Stats{}, fmt.Errorf("deposit: %w", err)
		}
		mu.Lock()
		sent[desc] = time.Now()
		mu.Unlock()
	}
	wait := time.After(30 * time.Second)
	for {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-notify:
		case <-wait:
			got = -1
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		}
		if got < 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(arrived))
	for desc, at := range arrived {
		if t0, ok := sent[desc]; ok {
			// An event may arrive before its answer reached the client.
			lat = append(lat, max(at.Sub(t0), 0))
		}
	}
	slices.Sort(lat)
	s := Stats{Name: Delivery, Clients: 1, Requests: len(lat), Non2xx: n - len(lat)}
	if len(lat) > 0 {
		s.Rate = float64(len(lat)) / dur.Seconds()
		s.P50, s.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	}
	return s, nil
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
