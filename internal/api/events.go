package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"wallets/internal/api/cursor"
	"wallets/internal/apperr"
	"wallets/internal/event"
	"wallets/internal/wallet"
	"wallets/internal/webhook"
)

// URLPolicy decides which webhook URLs may be registered (webhook.Policy
// implements it).
type URLPolicy interface {
	// CheckURL returns nil for a URL deliveries may go to, else a 400
	// naming the url field.
	CheckURL(ctx context.Context, raw string) error
}

// MaxWebhookURL is the longest webhook URL accepted.
const MaxWebhookURL = webhook.MaxURLLength

type eventView struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created string          `json:"created"`
	Data    transactionView `json:"data"`
}

func viewEvent(e event.Event) eventView {
	return eventView{ID: e.ID.String(), Type: string(e.Type), Created: e.Created.UTC().Format(timeFormat),
		Data: viewTransaction(e.Transaction)}
}

// EventBody is the JSON of event e as deliveries and the event bus carry it:
// the same object GET /events lists.
func EventBody(e event.Event) ([]byte, error) {
	b, err := json.Marshal(viewEvent(e))
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

func eventPosition(e event.Event) wallet.Cursor {
	return wallet.Cursor{Created: e.Created, UUID: e.ID}
}

type webhookView struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Created string   `json:"created"`
}

// newWebhookView is the answer to a creation: the only one with the secret.
type newWebhookView struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret"`
	Created string   `json:"created"`
}

func viewWebhook(e event.Endpoint) webhookView {
	types := e.Events
	if types == nil {
		types = event.Types
	}
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return webhookView{ID: e.ID.String(), URL: e.URL, Events: names, Created: e.Created.UTC().Format(timeFormat)}
}

type deadLetterView struct {
	Event     eventView `json:"event"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Failed    string    `json:"failed"`
}

func viewDeadLetter(d event.Delivery) deadLetterView {
	return deadLetterView{Event: viewEvent(d.Event), Attempts: d.Attempts, LastError: d.LastError,
		Failed: d.Updated.UTC().Format(timeFormat)}
}

func deadLetterPosition(d event.Delivery) wallet.Cursor {
	return wallet.Cursor{Created: d.Updated, UUID: d.ID}
}

// ListEvents answers a page of the events the caller hears of, newest
// first, optionally of one ?type=.
func (s *Server) ListEvents(ctx context.Context, r *Request) (Response, error) {
	var f event.Filter
	if v, ok := r.QueryValue("type"); ok && v != "" {
		t, known := event.ParseType(v)
		if !known {
			return Response{}, apperr.Field("type", invalidChoice(v))
		}
		f.Type = t
	}
	return listPage(ctx, s, r, cursor.ByTime, func(p wallet.Page) (wallet.Listing[event.Event], error) {
		return s.events.ListEvents(ctx, r.Principal.UserID, f, p)
	}, viewEvent, eventPosition)
}

// CreateWebhook registers a webhook endpoint of the caller's.
func (s *Server) CreateWebhook(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	url, urlOK := f.String("url", true, MaxWebhookURL)
	types, _ := f.Choices("events", event.TypeNames())
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	if urlOK {
		if err := s.urls.CheckURL(ctx, url); err != nil {
			return Response{}, err
		}
	}
	var kinds []event.Type
	if types != nil {
		kinds = make([]event.Type, len(types))
		for i, t := range types {
			kinds[i] = event.Type(t)
		}
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return Response{}, err
	}
	e, err := s.events.CreateEndpoint(ctx, r.Principal.UserID, event.NewEndpoint{URL: url, Events: kinds, Secret: secret})
	if err != nil {
		return Response{}, err
	}
	v := viewWebhook(e)
	return created(newWebhookView{ID: v.ID, URL: v.URL, Events: v.Events, Secret: secret, Created: v.Created}), nil
}

// ListWebhooks answers the caller's webhook endpoints, newest first, as one
// page (there are at most event.MaxEndpoints), without their secrets.
func (s *Server) ListWebhooks(ctx context.Context, r *Request) (Response, error) {
	es, err := s.events.ListEndpoints(ctx, r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	views := make([]webhookView, len(es))
	for i, e := range es {
		views[i] = viewWebhook(e)
	}
	n := len(views)
	return ok(pageBody{Count: &n, Results: views}), nil
}

// DeleteWebhook deletes one of the caller's webhook endpoints: no further
// deliveries are made to it.
func (s *Server) DeleteWebhook(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	if err := s.events.DeleteEndpoint(ctx, r.Principal.UserID, id); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent}, nil
}

// WebhookDeadLetters answers a page of the deliveries to one of the
// caller's endpoints that failed every attempt, newest first.
func (s *Server) WebhookDeadLetters(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	return listPage(ctx, s, r, cursor.ByTime, func(p wallet.Page) (wallet.Listing[event.Delivery], error) {
		return s.events.DeadDeliveries(ctx, r.Principal.UserID, id, p)
	}, viewDeadLetter, deadLetterPosition)
}

// Choices reads a list of choices: a JSON array of strings (or, from a
// form, one string of comma-separated choices). It returns nil, false when
// the field is absent; each unknown choice is an error of the field, as
// DRF's MultipleChoiceField words it. Duplicates are dropped.
func (f *Form) Choices(field string, choices []string) ([]string, bool) {
	raw, present := f.values[field]
	if !present {
		return nil, false
	}
	var got []string
	if err := json.Unmarshal(raw, &got); err != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			var v any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			_ = dec.Decode(&v)
			f.Error(field, fmt.Sprintf("Expected a list of items but got type %q.", jsonKind(v)))
			return nil, false
		}
		got = strings.Split(one, ",")
	}
	out := []string{}
	for _, g := range got {
		g = strings.TrimSpace(g)
		if !slices.Contains(choices, g) {
			f.Error(field, fmt.Sprintf("%q is not a valid choice.", g))
			continue
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) == 0 && len(got) == 0 {
		f.Error(field, "This selection may not be empty.")
		return nil, false
	}
	return out, true
}
