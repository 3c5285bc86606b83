package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Client talks to the stack for the set-up (logins, walking cursors).
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// Login logs username in and returns its token.
func (c Client) Login(ctx context.Context, username, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/users/login", "", body, &out); err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	return out.Token, nil
}

// LoginAll logs every username in, two at a time (logins hash passwords),
// and returns their tokens by username.
func (c Client) LoginAll(ctx context.Context, usernames []string) (map[string]string, error) {
	tokens := make(map[string]string, len(usernames))
	results := make([]string, len(usernames))
	var next atomic.Int64
	var f fanOut
	for range 2 {
		f.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(usernames) {
					return nil
				}
				t, err := c.Login(ctx, usernames[i], SeedPassword)
				if err != nil {
					return err
				}
				results[i] = t
			}
		})
	}
	if err := f.Wait(); err != nil {
		return nil, err
	}
	for i, u := range usernames {
		tokens[u] = results[i]
	}
	return tokens, nil
}

// DeepCursor follows the business transactions list's cursor links for
// pages pages from the first and returns the query of the page reached.
func (c Client) DeepCursor(ctx context.Context, token string, pages int) (string, error) {
	query := "?cursor="
	for i := 1; i < pages; i++ {
		var page struct {
			Next *string `json:"next"`
		}
		if err := c.do(ctx, http.MethodGet, "/wallets/business/transactions"+query, token, nil, &page); err != nil {
			return "", fmt.Errorf("cursor page %d: %w", i, err)
		}
		if page.Next == nil {
			return "", fmt.Errorf("cursor page %d is the last", i)
		}
		u, err := url.Parse(*page.Next)
		if err != nil {
			return "", fmt.Errorf("cursor page %d: next link: %w", i, err)
		}
		query = "?cursor=" + url.QueryEscape(u.Query().Get("cursor"))
	}
	return query, nil
}

func (c Client) do(ctx context.Context, method, path, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "JWT "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// Request is one request of a workload.
type Request struct {
	Method, Path, Token string
	Body                []byte
}

// Sequence hands out requests in turn: next(i) is the i-th request.
// It must be safe for concurrent use.
type Sequence func(i int64) Request

// Attack is one workload's run.
type Attack struct {
	Name     string
	BaseURL  string
	Clients  int
	Duration time.Duration
	Next     Sequence
}

// Run drives the workload at constant concurrency (Clients workers, each
// sending its next request as soon as its last is answered) for Duration,
// and returns what it measured.
func (a Attack) Run(ctx context.Context) Stats {
	var n atomic.Int64
	targeter := func(t *vegeta.Target) error {
		r := a.Next(n.Add(1) - 1)
		t.Method, t.URL, t.Body = r.Method, a.BaseURL+r.Path, r.Body
		t.Header = http.Header{}
		if r.Token != "" {
			t.Header.Set("Authorization", "JWT "+r.Token)
		}
		if r.Body != nil {
			t.Header.Set("Content-Type", "application/json")
		}
		return nil
	}
	workers := uint64(a.Clients)
	atk := vegeta.NewAttacker(
		vegeta.Workers(workers), vegeta.MaxWorkers(workers),
		vegeta.Connections(a.Clients), vegeta.MaxConnections(a.Clients),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second),
	)
	var m vegeta.Metrics
	s := Stats{Name: a.Name, Clients: a.Clients}
	results := atk.Attack(targeter, vegeta.Rate{Freq: 0}, a.Duration, a.Name)
	done := ctx.Done()
	for {
		select {
		case <-done:
			atk.Stop()
			done = nil
		case r, ok := <-results:
			if !ok {
				m.Close()
				s.Requests = int(m.Requests)
				s.Rate = m.Rate
				s.P50, s.P99 = m.Latencies.P50, m.Latencies.P99
				return s
			}
			m.Add(r)
			switch {
			case r.Code >= 500 || r.Code == 0: // 0: a transport error
				s.Status5xx++
			case r.Code/100 != 2:
				s.Non2xx++
			}
		}
	}
}
