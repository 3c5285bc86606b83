package apperr

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	cases := []struct {
		name string
		err  *Error
		want string
	}{
		{"detail", New(NotFound, "Not found."), "not_found: Not found."},
		{"one field", Field("amount", "Must be positive."), "invalid: map[amount:[Must be positive.]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestCodeOfFindsTheErrorInAWrappedChain(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want Code
	}{
		{"an *Error", ErrForbidden, Forbidden},
		{"wrapped", fmt.Errorf("get wallet: %w", ErrNotFound), NotFound},
		{"joined", errors.Join(io.EOF, ErrUnavailable), Unavailable},
		{"a fault", io.ErrUnexpectedEOF, ""},
		{"nil", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CodeOf(c.err); got != c.want {
				t.Errorf("CodeOf = %q, want %q", got, c.want)
			}
			e, ok := As(c.err)
			if ok != (c.want != "") || (ok && e.Code != c.want) {
				t.Errorf("As = %v, %v; want an *Error with code %q", e, ok, c.want)
			}
		})
	}
}

func TestFieldsCollectsMessagesPerField(t *testing.T) {
	f := Fields{}
	if err := f.Err(); err != nil {
		t.Fatalf("Err of no fields = %v, want nil", err)
	}
	f.Add("username", "This field is required.")
	f.Add("password", "This field is required.")
	f.Add("username", "Ensure this field has no more than 150 characters.")
	e, ok := As(f.Err())
	if !ok || e.Code != Invalid {
		t.Fatalf("Err = %v; want a 400 *Error", f.Err())
	}
	want := map[string][]string{
		"username": {"This field is required.", "Ensure this field has no more than 150 characters."},
		"password": {"This field is required."},
	}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %v, want %v", e.Fields, want)
	}
}

func TestRetryAfterOnlyOnTheRetryableUnavailable(t *testing.T) {
	if ErrUnavailable.RetryAfter != 5 {
		t.Errorf("ErrUnavailable.RetryAfter = %d, want 5", ErrUnavailable.RetryAfter)
	}
	// An outcome that may have been applied must not invite a retry.
	if ErrOutcomeUnknown.Code != Unavailable || ErrOutcomeUnknown.RetryAfter != 0 {
		t.Errorf("ErrOutcomeUnknown = %+v; want a 503 without Retry-After", ErrOutcomeUnknown)
	}
}
