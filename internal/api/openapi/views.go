package openapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"wallets/internal/event"
	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// The response objects' schemas come from the view types the handlers
// encode (package api's userView, walletView, …, handed over in API.Views):
// one property per JSON field, each one
// required (the views never omit a field), its type from the Go type (a
// pointer is nullable, money.Amount is an Amount, a view is a $ref to its
// schema). refine adds what the Go type cannot say (limits, enums, formats,
// words) field by field, and may name only fields the view has, so a field
// added, renamed or removed in a view changes the document or fails to
// build it.

// view returns the view type of schema name.
func (a API) view(name string) reflect.Type {
	t, ok := a.Views[name]
	if !ok {
		panic(viewError{fmt.Sprintf("no view type for schema %s", name)})
	}
	return t
}

// viewSchema names the component schema of view type t, for $refs (Page
// is no schema of its own).
func (a API) viewSchema(t reflect.Type) (string, bool) {
	for name, v := range a.Views {
		if v == t && name != "Page" {
			return name, true
		}
	}
	return "", false
}

// viewError is a view that the document's refinements do not fit.
type viewError struct{ msg string }

// fromView returns the object schema of the view type of schema name with
// refinements.
func (a API) fromView(name string, refine map[string]obj, extra obj) obj {
	t := a.view(name)
	props := obj{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			panic(viewError{fmt.Sprintf("%s.%s: an optional field; the views answer every field", t.Name(), name)})
		}
		s := a.typeSchema(t, name, f.Type)
		if r, ok := refine[name]; ok {
			// A $ref (or an allOf around one, to carry words) replaces the
			// Go type's schema: no $ref siblings.
			_, isRef := r["$ref"]
			_, isAllOf := r["allOf"]
			if isRef || isAllOf {
				s = obj{}
			}
			for k, v := range r {
				s[k] = v
			}
		}
		props[name] = s
		required = append(required, name)
	}
	var unknown []string
	for name := range refine {
		if _, ok := props[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		panic(viewError{fmt.Sprintf("%s has no JSON fields %v that the document refines", t.Name(), unknown)})
	}
	return object(required, props, extra)
}

// typeSchema is the schema of a field of Go type ft.
func (a API) typeSchema(view reflect.Type, field string, ft reflect.Type) obj {
	if name, ok := a.viewSchema(ft); ok {
		return schemaRef(name)
	}
	if ft == reflect.TypeFor[money.Amount]() {
		return schemaRef("Amount")
	}
	nullable := false
	if ft.Kind() == reflect.Pointer {
		nullable, ft = true, ft.Elem()
	}
	var s obj
	switch ft.Kind() {
	case reflect.String:
		s = obj{"type": "string"}
	case reflect.Bool:
		s = obj{"type": "boolean"}
	case reflect.Int, reflect.Int32:
		s = obj{"type": "integer"}
	case reflect.Int64:
		s = obj{"type": "integer", "format": "int64"}
	case reflect.Slice:
		if ft.Elem().Kind() != reflect.String {
			panic(viewError{fmt.Sprintf("%s.%s: no schema for Go type %s", view.Name(), field, ft)})
		}
		s = obj{"type": "array", "items": obj{"type": "string"}}
	case reflect.Interface:
		// Anything: the refinement says what.
		return obj{}
	default:
		panic(viewError{fmt.Sprintf("%s.%s: no schema for Go type %s", view.Name(), field, ft)})
	}
	if nullable {
		s["type"] = []any{s["type"], "null"}
	}
	return s
}

// viewSchemaComponents are the schemas of the response objects.
func (a API) viewSchemaComponents() obj {
	return obj{
		"Profile": a.fromView("Profile", map[string]obj{
			"type": {"enum": []any{1, 2}, "description": "1 customer, 2 business."},
		}, nil),
		"User": a.fromView("User", map[string]obj{
			"id":         {"minimum": 1},
			"username":   {"maxLength": user.MaxUsername},
			"email":      {"maxLength": user.MaxEmail},
			"first_name": {"maxLength": user.MaxName},
			"last_name":  {"maxLength": user.MaxName},
		}, obj{"examples": []any{exampleUser}}),
		"Wallet": a.fromView("Wallet", map[string]obj{
			"uuid":         schemaRef("UUID"),
			"created_date": schemaRef("Timestamp"),
		}, obj{"description": "A balance is never negative.", "examples": []any{exampleWallet}}),
		"Transaction": a.fromView("Transaction", map[string]obj{
			"uuid": schemaRef("UUID"),
			"amount": {"allOf": []any{schemaRef("Amount")}, "description": "Deposits and charges are positive, " +
				"withdrawals negative."},
			"description": {"maxLength": wallet.MaxDescription},
			"status":      {"enum": []any{1, 2, 3}, "description": "1 pending, 2 accepted, 3 rejected."},
			"type":        {"enum": []any{1, 2}, "description": "1 deposit, 2 debit (a withdrawal or a charge)."},
			"business": {"minimum": 1, "format": "int64",
				"description": "The business's id; null where no business is involved."},
			"wallet":       schemaRef("UUID"),
			"created_date": schemaRef("Timestamp"),
		}, obj{"examples": []any{exampleTransaction}}),
		"Business": a.fromView("Business", map[string]obj{
			"id":   {"minimum": 1},
			"name": {"description": "The business's first name, else its username."},
		}, obj{"examples": []any{exampleBusiness}}),
		"WalletPage":      a.page("Wallet", "A page of wallets."),
		"TransactionPage": a.page("Transaction", "A page of transactions, newest first."),
		"BusinessPage":    a.page("Business", "A page of businesses."),
		"Event": a.fromView("Event", map[string]obj{
			"id":      schemaRef("UUID"),
			"type":    {"enum": eventTypeEnum(), "description": "What happened."},
			"created": schemaRef("Timestamp"),
			"data": {"allOf": []any{schemaRef("Transaction")}, "description": "The transaction as the lists show " +
				"it, as it stood right after the event (a `charge.created` event's charge is pending)."},
		}, obj{"description": "An event; the same object is the body of a webhook delivery. Deliveries are at " +
			"least once: receivers dedupe by `id`.", "examples": []any{exampleEvent}}),
		"EventPage": a.page("Event", "A page of events, newest first."),
		"Webhook": a.fromView("Webhook", map[string]obj{
			"id":      schemaRef("UUID"),
			"url":     {"format": "uri", "maxLength": a.MaxWebhookURL},
			"events":  {"items": obj{"type": "string", "enum": eventTypeEnum()}, "description": "The event types delivered."},
			"created": schemaRef("Timestamp"),
		}, obj{"description": "A webhook endpoint (its secret is shown only when it is created)."}),
		"NewWebhook": a.fromView("NewWebhook", map[string]obj{
			"id":      schemaRef("UUID"),
			"url":     {"format": "uri", "maxLength": a.MaxWebhookURL},
			"events":  {"items": obj{"type": "string", "enum": eventTypeEnum()}, "description": "The event types delivered."},
			"secret":  {"description": "Signs every delivery (`Wallets-Signature`); shown only here."},
			"created": schemaRef("Timestamp"),
		}, obj{"description": "A webhook endpoint just created, with its signing secret."}),
		"WebhookPage": a.page("Webhook", "The caller's webhook endpoints, newest first (all of them: at most 10)."),
		"DeadLetter": a.fromView("DeadLetter", map[string]obj{
			"event":      schemaRef("Event"),
			"attempts":   {"minimum": 1},
			"last_error": {"description": "Why the last attempt failed."},
			"failed":     obj{"allOf": []any{schemaRef("Timestamp")}, "description": "When the last attempt failed."},
		}, obj{"description": "An event an endpoint never accepted: every attempt failed."}),
		"DeadLetterPage": a.page("DeadLetter", "A page of dead-lettered deliveries, newest first."),
		"Health": a.fromView("Health", map[string]obj{
			"status":   {"enum": []any{"ok", "unavailable"}},
			"database": {"enum": []any{"ok", "unreachable"}},
		}, obj{"examples": []any{obj{"status": "ok", "database": "ok"}}}),
		"Detail": a.fromView("Detail", nil, obj{"examples": []any{obj{"detail": "Not found."}}}),
	}
}

func (a API) page(item, description string) obj {
	return a.fromView("Page", map[string]obj{
		"count": {"minimum": 0, "description": "The number of items of the whole list; null in cursor mode."},
		"next": {"format": "uri",
			"description": "The next page's URL (with `page` or `cursor`), or null on the last page."},
		"previous": {"format": "uri", "description": "The previous page's URL, or null on the first page."},
		"results":  {"type": "array", "items": schemaRef(item)},
	}, obj{"description": description})
}

// eventTypeEnum is the event types, for enums.
func eventTypeEnum() []any {
	names := event.TypeNames()
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}
