package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
	"wallets/internal/idempotency"
	"wallets/internal/money"
	"wallets/internal/postgres"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// shop is a business with its wallet, and a customer with a wallet.
type shopFixture struct {
	customer, business int64
	wallet, bwallet    uuid.UUID
}

func (e *env) shop(t testing.TB, suffix string) shopFixture {
	t.Helper()
	alice := e.newUser(t, "alice"+suffix, user.CustomerType)
	shop := e.newUser(t, "shop"+suffix, user.BusinessType)
	bw, err := e.wallets.OpenBusinessWallet(context.Background(), shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	return shopFixture{customer: alice.ID, business: shop.ID, wallet: e.newWallet(t, alice.ID).UUID, bwallet: bw.UUID}
}

// allEvents returns every event, oldest first, read as the owner
// reads them: straight from the table.
func (e *env) allEvents(t testing.TB) []event.Event {
	t.Helper()
	rows, err := e.db.Query(context.Background(), `
		SELECT id, type, created_at, customer_id, business_id, transaction_id, amount, description, status,
		       transaction_type, wallet_id, transaction_created_at
		  FROM events ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var ev event.Event
		tx := &ev.Transaction
		if err := rows.Scan(&ev.ID, &ev.Type, &ev.Created, &ev.Customer, &ev.Business, &tx.UUID, &tx.Amount,
			&tx.Description, &tx.Status, &tx.Type, &tx.WalletID, &tx.Created); err != nil {
			t.Fatal(err)
		}
		tx.BusinessID = ev.Business
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMovementsRaiseEvents: each movement that moves money (or collects or
// rejects a charge) raises exactly one event, of its type, to its
// recipients, with its transaction as it stood right after; a refusal
// raises none.
func TestMovementsRaiseEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	f := e.shop(t, "")
	var charge, poor wallet.Transaction
	tests := []struct {
		name string
		move func() (wallet.Transaction, error) // the transaction the event must show
		want event.Type                         // "" for a refusal: no event
		biz  bool
	}{
		{"deposit", func() (wallet.Transaction, error) {
			_, err := e.wallets.Deposit(ctx, f.customer, f.wallet, 1000, "in")
			return wallet.Transaction{Amount: 1000, Description: "in", Status: wallet.Accepted, Type: wallet.DepositType, WalletID: f.wallet}, err
		}, event.WalletDeposited, false},
		{"withdraw", func() (wallet.Transaction, error) {
			_, err := e.wallets.Withdraw(ctx, f.customer, f.wallet, -300, "out")
			return wallet.Transaction{Amount: -300, Description: "out", Status: wallet.Accepted, Type: wallet.DebitType, WalletID: f.wallet}, err
		}, event.WalletWithdrawn, false},
		{"open charge", func() (wallet.Transaction, error) {
			var err error
			charge, err = e.wallets.OpenCharge(ctx, f.customer, f.business, f.wallet, 500, "buy")
			return charge, err
		}, event.ChargeCreated, true},
		{"collect", func() (wallet.Transaction, error) {
			_, err := e.wallets.Collect(ctx, f.business, charge.UUID)
			c := charge
			c.Status = wallet.Accepted
			return c, err
		}, event.ChargeCollected, true},
		{"open a charge too big", func() (wallet.Transaction, error) {
			var err error
			poor, err = e.wallets.OpenCharge(ctx, f.customer, f.business, f.wallet, 90000, "too much")
			return poor, err
		}, event.ChargeCreated, true},
		{"collect with insufficient funds", func() (wallet.Transaction, error) {
			got, err := e.wallets.Collect(ctx, f.business, poor.UUID)
			if !errors.Is(err, wallet.ErrNegativeBalance) {
				return got, fmt.Errorf("want ErrNegativeBalance, got %v", err)
			}
			c := poor
			c.Status = wallet.Rejected
			return c, nil
		}, event.ChargeRejected, true},
		// Refusals.
		{"deposit on someone else's wallet", func() (wallet.Transaction, error) {
			_, err := e.wallets.Deposit(ctx, f.business, f.wallet, 100, "x")
			return wallet.Transaction{}, wantErr(err, wallet.ErrNotFound)
		}, "", false},
		{"deposit past the limit", func() (wallet.Transaction, error) {
			_, err := e.wallets.Deposit(ctx, f.customer, f.wallet, money.Max, "x")
			return wallet.Transaction{}, wantErr(err, wallet.ErrBalanceOverflow)
		}, "", false},
		{"overdraft", func() (wallet.Transaction, error) {
			_, err := e.wallets.Withdraw(ctx, f.customer, f.wallet, -100000, "x")
			return wallet.Transaction{}, wantErr(err, wallet.ErrNegativeBalance)
		}, "", false},
		{"bad amount", func() (wallet.Transaction, error) {
			_, err := e.wallets.Deposit(ctx, f.customer, f.wallet, -5, "x")
			return wallet.Transaction{}, wantErrAny(err)
		}, "", false},
		{"charge at no business", func() (wallet.Transaction, error) {
			_, err := e.wallets.OpenCharge(ctx, f.customer, f.customer, f.wallet, 100, "x")
			return wallet.Transaction{}, wantErr(err, wallet.ErrNotFound)
		}, "", false},
		{"collect again", func() (wallet.Transaction, error) {
			_, err := e.wallets.Collect(ctx, f.business, charge.UUID)
			return wallet.Transaction{}, wantErr(err, wallet.ErrAlreadyProcessed)
		}, "", false},
		{"collect someone else's charge", func() (wallet.Transaction, error) {
			_, err := e.wallets.Collect(ctx, f.business, uuid.New())
			return wallet.Transaction{}, wantErr(err, wallet.ErrNotFound)
		}, "", false},
	}
	for _, tt := range tests {
		before := e.allEvents(t)
		want, err := tt.move()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		after := e.allEvents(t)
		if tt.want == "" {
			if len(after) != len(before) {
				t.Errorf("%s: a refusal raised %d event(s)", tt.name, len(after)-len(before))
			}
			continue
		}
		if len(after) != len(before)+1 {
			t.Fatalf("%s: raised %d events, want 1", tt.name, len(after)-len(before))
		}
		got := after[len(after)-1]
		if got.Type != tt.want || got.Customer != f.customer {
			t.Errorf("%s: event %s to customer %d, want %s to %d", tt.name, got.Type, got.Customer, tt.want, f.customer)
		}
		if tt.biz != (got.Business != nil) || (got.Business != nil && *got.Business != f.business) {
			t.Errorf("%s: business %v, want one: %v (%d)", tt.name, got.Business, tt.biz, f.business)
		}
		// The snapshot: the transaction's own row for what the test cannot
		// know (its id and time), the expected values for the rest.
		tx := got.Transaction
		var row wallet.Transaction
		if err := e.db.QueryRow(ctx, `SELECT uuid, created_at FROM transactions WHERE uuid = $1`, tx.UUID).Scan(&row.UUID, &row.Created); err != nil {
			t.Fatalf("%s: the event's transaction: %v", tt.name, err)
		}
		if want.UUID != uuid.Nil && tx.UUID != want.UUID {
			t.Errorf("%s: transaction %s, want %s", tt.name, tx.UUID, want.UUID)
		}
		if !tx.Created.Equal(row.Created) || tx.Amount != want.Amount || tx.Description != want.Description ||
			tx.Status != want.Status || tx.Type != want.Type || tx.WalletID != want.WalletID ||
			!equalPtr(tx.BusinessID, got.Business) {
			t.Errorf("%s: snapshot %+v, want %+v (created %v)", tt.name, tx, want, row.Created)
		}
	}
	// The charge.created snapshot keeps the charge pending after it was
	// collected.
	for _, ev := range e.allEvents(t) {
		if ev.Type == event.ChargeCreated && ev.Transaction.Status != wallet.Pending {
			t.Errorf("charge.created shows status %d, want pending", ev.Transaction.Status)
		}
	}
}

func sameTransaction(a, b wallet.Transaction) bool {
	ab, bb := a.BusinessID, b.BusinessID
	a.BusinessID, b.BusinessID = nil, nil
	return a == b && equalPtr(ab, bb)
}

func wantErr(err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("got %v, want %v", err, want)
	}
	return nil
}

func wantErrAny(err error) error {
	if err == nil {
		return errors.New("want a refusal, got none")
	}
	return nil
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// TestEventsFollowTheUnitOfWork: a movement in an idempotent unit that
// rolls back raises no event, and one replayed by its key no second one.
func TestEventsFollowTheUnitOfWork(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	f := e.shop(t, "")
	e.fund(t, f.customer, f.wallet, 10000)
	base := len(e.allEvents(t))

	// A fault rolls the unit back: its deposit and charge raise nothing.
	_, _, err := e.keys.Run(ctx, idempotency.Request{User: f.customer, Key: "fault", Hash: []byte("h")}, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		if _, err := e.wallets.In(u).Deposit(ctx, f.customer, f.wallet, 100, "lost"); err != nil {
			t.Error(err)
		}
		if _, err := e.wallets.In(u).OpenCharge(ctx, f.customer, f.business, f.wallet, 100, "lost"); err != nil {
			t.Error(err)
		}
		return idempotency.Answer{}, errors.New("boom")
	})
	if err == nil {
		t.Fatal("Run: no fault")
	}
	// A refusal later in the unit rolls back the deposit before it.
	if _, _, err := e.keys.Run(ctx, idempotency.Request{User: f.customer, Key: "refused", Hash: []byte("h")}, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		if _, err := e.wallets.In(u).Deposit(ctx, f.customer, f.wallet, 100, "lost"); err != nil {
			t.Error(err)
		}
		_, err := e.wallets.In(u).Withdraw(ctx, f.customer, f.wallet, -1000000, "too much")
		return refusal(err)
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.allEvents(t)); n != base {
		t.Fatalf("rolled-back units raised %d events", n-base)
	}

	// A rejected collect commits in its unit, with its event.
	charge, err := e.wallets.OpenCharge(ctx, f.customer, f.business, f.wallet, 50000, "big")
	if err != nil {
		t.Fatal(err)
	}
	req := idempotency.Request{User: f.business, Key: "collect", Hash: []byte("h")}
	collect := func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		_, err := e.wallets.In(u).Collect(ctx, f.business, charge.UUID)
		return refusal(err)
	}
	if a, _, err := e.keys.Run(ctx, req, collect); err != nil || a.Status != 409 {
		t.Fatalf("collect: %+v %v", a, err)
	}
	// A deposit done once, then replayed.
	dep := idempotency.Request{User: f.customer, Key: "deposit", Hash: []byte("h")}
	var ran atomic.Int32
	for range 2 {
		if _, _, err := e.keys.Run(ctx, dep, e.depositWork(f.customer, f.wallet, 100, &ran)); err != nil {
			t.Fatal(err)
		}
	}
	if _, replayed, err := e.keys.Run(ctx, req, collect); err != nil || !replayed {
		t.Fatalf("collect replay: %v %v", replayed, err)
	}
	var types []event.Type
	for _, ev := range e.allEvents(t)[base:] {
		types = append(types, ev.Type)
	}
	want := []event.Type{event.ChargeCreated, event.ChargeRejected, event.WalletDeposited}
	if !slices.Equal(types, want) || ran.Load() != 1 {
		t.Errorf("events %v (work ran %d times), want %v", types, ran.Load(), want)
	}
}

// TestConcurrentDepositsRaiseOneEventEach: every committed movement has its
// event, however many run at once on one wallet.
func TestConcurrentDepositsRaiseOneEventEach(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	f := e.shop(t, "")
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				if (i+j)%3 == 0 {
					if _, err := e.wallets.Withdraw(ctx, f.customer, f.wallet, -100, "w"); err != nil && !errors.Is(err, wallet.ErrNegativeBalance) {
						t.Error(err)
					}
					continue
				}
				if _, err := e.wallets.Deposit(ctx, f.customer, f.wallet, 100, "d"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	txs := e.count(t, `SELECT count(*) FROM transactions WHERE wallet_id = $1`, f.wallet)
	evs := e.count(t, `SELECT count(*) FROM events WHERE wallet_id = $1`, f.wallet)
	joined := e.count(t, `SELECT count(*) FROM transactions t JOIN events v ON v.transaction_id = t.uuid AND v.amount = t.amount WHERE t.wallet_id = $1`, f.wallet)
	if txs == 0 || evs != txs || joined != txs {
		t.Errorf("%d transactions, %d events, %d matching; want equal", txs, evs, joined)
	}
}

// TestListEvents: a user sees the events they hear of, newest first, as a
// customer or a business, filtered by type, by offset or by cursor.
func TestListEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	g := e.shop(t, "2") // another customer and business: never seen by f's
	for _, s := range []shopFixture{f, g} {
		e.fund(t, s.customer, s.wallet, 1000)
		c, err := e.wallets.OpenCharge(ctx, s.customer, s.business, s.wallet, 400, "buy")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.wallets.Collect(ctx, s.business, c.UUID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.wallets.Withdraw(ctx, s.customer, s.wallet, -100, "out"); err != nil {
			t.Fatal(err)
		}
	}
	list := func(user int64, typ event.Type, p wallet.Page) wallet.Listing[event.Event] {
		t.Helper()
		l, err := ev.ListEvents(ctx, user, event.Filter{Type: typ}, p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	typesOf := func(items []event.Event) []event.Type {
		var out []event.Type
		for _, it := range items {
			out = append(out, it.Type)
		}
		return out
	}
	all := list(f.customer, "", wallet.Page{Limit: 10})
	if got, want := typesOf(all.Items), []event.Type{event.WalletWithdrawn, event.ChargeCollected, event.ChargeCreated, event.WalletDeposited}; !slices.Equal(got, want) || all.Total != 4 || all.More {
		t.Errorf("customer: %v (total %d, more %v), want %v", got, all.Total, all.More, want)
	}
	for _, it := range all.Items {
		if it.Customer != f.customer || it.Transaction.WalletID != f.wallet {
			t.Errorf("customer sees someone else's event %+v", it)
		}
	}
	biz := list(f.business, "", wallet.Page{Limit: 10})
	if got, want := typesOf(biz.Items), []event.Type{event.ChargeCollected, event.ChargeCreated}; !slices.Equal(got, want) || biz.Total != 2 {
		t.Errorf("business: %v (total %d), want %v", got, biz.Total, want)
	}
	if biz.Items[0].ID != all.Items[1].ID || *biz.Items[0].Business != f.business {
		t.Errorf("the business and the customer see different charge.collected events")
	}
	if l := list(f.customer, event.ChargeCreated, wallet.Page{Limit: 10}); len(l.Items) != 1 || l.Total != 1 || l.Items[0].Type != event.ChargeCreated {
		t.Errorf("type filter: %+v", l)
	}
	if l := list(f.business, event.WalletDeposited, wallet.Page{Limit: 10}); len(l.Items) != 0 || l.Total != 0 {
		t.Errorf("business's deposits: %+v", l)
	}
	// Offset pages, then cursor pages, forward and back, cover the list.
	if l := list(f.customer, "", wallet.Page{Limit: 3, Offset: 3}); len(l.Items) != 1 || l.Items[0].ID != all.Items[3].ID || l.More || l.Total != 4 {
		t.Errorf("second offset page: %+v", l)
	}
	first := list(f.customer, "", wallet.Page{Limit: 2, Cursor: &wallet.Cursor{}})
	if len(first.Items) != 2 || !first.More || first.Items[0].ID != all.Items[0].ID {
		t.Fatalf("first cursor page: %+v", first)
	}
	last := first.Items[1]
	second := list(f.customer, "", wallet.Page{Limit: 2, Cursor: &wallet.Cursor{Created: last.Created, UUID: last.ID}})
	if got := []uuid.UUID{second.Items[0].ID, second.Items[1].ID}; len(second.Items) != 2 || second.More ||
		got[0] != all.Items[2].ID || got[1] != all.Items[3].ID {
		t.Errorf("second cursor page: %+v", second)
	}
	back := list(f.customer, "", wallet.Page{Limit: 2, Cursor: &wallet.Cursor{Created: second.Items[0].Created, UUID: second.Items[0].ID, Backward: true}})
	if len(back.Items) != 2 || back.Items[0].ID != all.Items[0].ID || back.Items[1].ID != all.Items[1].ID {
		t.Errorf("backward cursor page: %+v", back)
	}
}

// TestListEventsPlan: the list reads both recipients' indexes in order,
// merged, without a sort.
func TestListEventsPlan(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.owner.Exec(ctx, `
		INSERT INTO events (type, customer_id, business_id, transaction_id, amount, description, status,
		                    transaction_type, wallet_id, transaction_created_at, created_at)
		SELECT 'charge.created', 1 + i % 500, 1000 + i % 5, gen_random_uuid(), 1, '', 1, 2, gen_random_uuid(), now(),
		       now() - (i || ' seconds')::interval
		  FROM generate_series(1, 50000) i;
		ANALYZE events;`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`SELECT uuid FROM ` + postgres.UserEventsTable + ` WHERE recipient = $1 ORDER BY created_at DESC, uuid DESC LIMIT 20`,
		`SELECT uuid FROM ` + postgres.UserEventsTable + ` WHERE recipient = $1 AND type = 'charge.created' ORDER BY created_at DESC, uuid DESC LIMIT 20`,
		`SELECT uuid FROM ` + postgres.UserEventsTable + ` WHERE recipient = $1 AND (created_at, uuid) < (now(), gen_random_uuid()) ORDER BY created_at DESC, uuid DESC LIMIT 21`,
	} {
		rows, err := e.db.Query(ctx, "EXPLAIN "+sql, int64(1002)) // a busy business
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "Merge Append") || !strings.Contains(text, "events_customer_idx") ||
			!strings.Contains(text, "events_business_idx") || strings.Contains(text, "->  Sort") {
			t.Errorf("plan does not merge the two indexes in order:\n%s", text)
		}
	}
}

// TestEndpoints: create, list newest first, delete; another user's
// endpoint is not found; a user has at most MaxEndpoints.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	alice := e.newUser(t, "alice", user.CustomerType)
	bob := e.newUser(t, "bob", user.CustomerType)
	all, err := ev.CreateEndpoint(ctx, alice.ID, event.NewEndpoint{URL: "https://a.example.com/all", Secret: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	some, err := ev.CreateEndpoint(ctx, alice.ID, event.NewEndpoint{URL: "https://a.example.com/some", Events: []event.Type{event.ChargeCreated}, Secret: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	none, err := ev.CreateEndpoint(ctx, alice.ID, event.NewEndpoint{URL: "https://a.example.com/none", Events: []event.Type{}, Secret: "s3"})
	if err != nil {
		t.Fatal(err)
	}
	if all.Events != nil || !slices.Equal(some.Events, []event.Type{event.ChargeCreated}) || none.Events == nil || len(none.Events) != 0 ||
		all.Owner != alice.ID || all.URL != "https://a.example.com/all" || all.Created.IsZero() {
		t.Errorf("created %+v %+v %+v", all, some, none)
	}
	eps, err := ev.ListEndpoints(ctx, alice.ID)
	if err != nil || len(eps) != 3 {
		t.Fatalf("list: %v %v", eps, err)
	}
	ids := []uuid.UUID{eps[0].ID, eps[1].ID, eps[2].ID}
	if !slices.Contains(ids, all.ID) || !slices.Contains(ids, some.ID) || !slices.Contains(ids, none.ID) ||
		eps[0].Created.Before(eps[1].Created) || eps[1].Created.Before(eps[2].Created) {
		t.Errorf("list: %+v", eps)
	}
	if eps, err := ev.ListEndpoints(ctx, bob.ID); err != nil || len(eps) != 0 {
		t.Errorf("bob's: %v %v", eps, err)
	}
	if err := ev.DeleteEndpoint(ctx, bob.ID, all.ID); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("bob deletes alice's: %v", err)
	}
	if _, err := ev.DeadDeliveries(ctx, bob.ID, all.ID, wallet.Page{Limit: 10}); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("bob's dead letters of alice's: %v", err)
	}
	if l, err := ev.DeadDeliveries(ctx, alice.ID, all.ID, wallet.Page{Limit: 10}); err != nil || len(l.Items) != 0 || l.Total != 0 {
		t.Errorf("no dead letters: %+v %v", l, err)
	}
	if err := ev.DeleteEndpoint(ctx, alice.ID, all.ID); err != nil {
		t.Fatal(err)
	}
	if err := ev.DeleteEndpoint(ctx, alice.ID, all.ID); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if eps, _ := ev.ListEndpoints(ctx, alice.ID); len(eps) != 2 {
		t.Errorf("after delete: %v", eps)
	}
	// Inside a unit that rolls back, a creation is undone; a refusal
	// aborts the unit.
	if _, _, err := e.keys.Run(ctx, idempotency.Request{User: alice.ID, Key: "k", Hash: []byte("h")}, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		if _, err := ev.In(u).CreateEndpoint(ctx, alice.ID, event.NewEndpoint{URL: "https://x", Secret: "s"}); err != nil {
			t.Error(err)
		}
		return idempotency.Answer{}, errors.New("boom")
	}); err == nil {
		t.Fatal("no fault")
	}
	if eps, _ := ev.ListEndpoints(ctx, alice.ID); len(eps) != 2 {
		t.Errorf("after a rolled-back unit: %d endpoints", len(eps))
	}
}

// TestEndpointLimitUnderRace: many creations at once for one user leave
// exactly MaxEndpoints.
func TestEndpointLimitUnderRace(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	alice := e.newUser(t, "alice", user.CustomerType)
	var (
		wg            sync.WaitGroup
		created, many atomic.Int32
	)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ev.CreateEndpoint(ctx, alice.ID, event.NewEndpoint{URL: fmt.Sprintf("https://a.example.com/%d", i), Secret: "s"})
			switch {
			case err == nil:
				created.Add(1)
			case errors.Is(err, event.ErrTooManyEndpoints):
				many.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n := e.count(t, `SELECT count(*) FROM webhook_endpoints WHERE user_id = $1`, alice.ID)
	if n != event.MaxEndpoints || created.Load() != event.MaxEndpoints || many.Load() != 30-event.MaxEndpoints {
		t.Errorf("%d endpoints (%d created, %d refused), want %d", n, created.Load(), many.Load(), event.MaxEndpoints)
	}
}

// relayed collects what a publish saw.
type relayed struct {
	mu      sync.Mutex
	batches []event.Batch
}

func (r *relayed) publish(_ context.Context, b []event.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b...)
	return nil
}

// TestRelay: the relay publishes unpublished events oldest first with one
// delivery per endpoint of their recipients that wants their type, and
// marks them published; a failing publish changes nothing.
func TestRelay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	g := e.shop(t, "2")
	endpoint := func(owner int64, types []event.Type) uuid.UUID {
		ep, err := ev.CreateEndpoint(ctx, owner, event.NewEndpoint{URL: "https://example.com/" + uuid.NewString(), Events: types, Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		return ep.ID
	}
	custAll := endpoint(f.customer, nil)
	custDeposits := endpoint(f.customer, []event.Type{event.WalletDeposited})
	endpoint(f.customer, []event.Type{}) // wants nothing
	bizCharges := endpoint(f.business, []event.Type{event.ChargeCreated, event.ChargeCollected})
	endpoint(g.customer, nil) // hears of nothing of f's

	e.fund(t, f.customer, f.wallet, 1000)
	if _, err := e.wallets.OpenCharge(ctx, f.customer, f.business, f.wallet, 200, "buy"); err != nil {
		t.Fatal(err)
	}

	// A failing publish: nothing published, no deliveries.
	boom := errors.New("bus down")
	var saw int
	if n, err := ev.Relay(ctx, 10, func(_ context.Context, b []event.Batch) error { saw = len(b); return boom }); !errors.Is(err, boom) || n != 0 || saw != 2 {
		t.Fatalf("failing relay: %d %v (saw %d)", n, err, saw)
	}
	if n := e.count(t, `SELECT count(*) FROM webhook_deliveries`); n != 0 {
		t.Errorf("a failed relay left %d deliveries", n)
	}
	if n := e.count(t, `SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_outbox o WHERE o.event_id = e.id)`); n != 0 {
		t.Errorf("a failed relay published %d events", n)
	}
	if age, err := ev.OutboxAge(ctx); err != nil || age <= 0 {
		t.Errorf("outbox age %v %v, want > 0", age, err)
	}

	var r relayed
	if n, err := ev.Relay(ctx, 1, r.publish); err != nil || n != 1 {
		t.Fatalf("relay 1: %d %v", n, err)
	}
	if n, err := ev.Relay(ctx, 10, r.publish); err != nil || n != 1 {
		t.Fatalf("relay the rest: %d %v", n, err)
	}
	if n, err := ev.Relay(ctx, 10, r.publish); err != nil || n != 0 {
		t.Fatalf("relay none: %d %v", n, err)
	}
	if age, err := ev.OutboxAge(ctx); err != nil || age != 0 {
		t.Errorf("outbox age %v %v, want 0", age, err)
	}
	if len(r.batches) != 2 || r.batches[0].Event.Type != event.WalletDeposited || r.batches[1].Event.Type != event.ChargeCreated {
		t.Fatalf("batches %+v", r.batches)
	}
	endpointsOf := func(b event.Batch) []uuid.UUID {
		var out []uuid.UUID
		for _, id := range b.Deliveries {
			d, err := ev.Delivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Event.ID != b.Event.ID || d.Status != event.Pending || d.Attempts != 0 || d.Secret != "s" || !sameTransaction(d.Event.Transaction, b.Event.Transaction) {
				t.Errorf("delivery %+v of batch %+v", d, b)
			}
			out = append(out, d.Endpoint.ID)
		}
		slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return out
	}
	sorted := func(ids ...uuid.UUID) []uuid.UUID {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return ids
	}
	if got, want := endpointsOf(r.batches[0]), sorted(custAll, custDeposits); !slices.Equal(got, want) {
		t.Errorf("deposit delivered to %v, want %v", got, want)
	}
	if got, want := endpointsOf(r.batches[1]), sorted(custAll, bizCharges); !slices.Equal(got, want) {
		t.Errorf("charge delivered to %v, want %v", got, want)
	}
	if n := e.count(t, `SELECT count(*) FROM event_outbox`); n != 0 {
		t.Errorf("%d events left unpublished", n)
	}
	// A deleted endpoint's deliveries are gone.
	id := r.batches[0].Deliveries[0]
	d, _ := ev.Delivery(ctx, id)
	owner := f.customer
	if d.Endpoint.Owner != owner {
		owner = f.business
	}
	if err := ev.DeleteEndpoint(ctx, owner, d.Endpoint.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Delivery(ctx, id); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("delivery of a deleted endpoint: %v", err)
	}
}

// TestConcurrentRelaysNeverShareAnEvent: relays running at once each take
// events the others do not hold, and together relay every event once.
func TestConcurrentRelaysNeverShareAnEvent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	if _, err := ev.CreateEndpoint(ctx, f.customer, event.NewEndpoint{URL: "https://example.com", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	const events = 200
	for range events {
		e.fund(t, f.customer, f.wallet, 1)
	}
	var (
		wg sync.WaitGroup
		r  relayed
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := ev.Relay(ctx, 7, func(ctx context.Context, b []event.Batch) error {
					time.Sleep(2 * time.Millisecond) // hold the events a while
					return r.publish(ctx, b)
				})
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[uuid.UUID]int{}
	for _, b := range r.batches {
		seen[b.Event.ID]++
		if len(b.Deliveries) != 1 {
			t.Errorf("event %s has %d deliveries", b.Event.ID, len(b.Deliveries))
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s relayed %d times", id, n)
		}
	}
	if len(seen) != events || e.count(t, `SELECT count(*) FROM webhook_deliveries`) != events {
		t.Errorf("%d events relayed, %d deliveries; want %d", len(seen), e.count(t, `SELECT count(*) FROM webhook_deliveries`), events)
	}
}

// relayOne makes one deposit event with a delivery to a new endpoint of
// the customer's, relays it, and returns the delivery and the endpoint.
func relayOne(t *testing.T, e *env, ev *postgres.Events, f shopFixture) (uuid.UUID, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	ep, err := ev.CreateEndpoint(ctx, f.customer, event.NewEndpoint{URL: "https://example.com/" + uuid.NewString(), Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	e.fund(t, f.customer, f.wallet, 100)
	var r relayed
	if _, err := ev.Relay(ctx, 100, r.publish); err != nil {
		t.Fatal(err)
	}
	for _, b := range r.batches {
		for _, id := range b.Deliveries {
			if d, err := ev.Delivery(ctx, id); err == nil && d.Endpoint.ID == ep.ID {
				return id, ep.ID
			}
		}
	}
	t.Fatal("no delivery relayed")
	return uuid.Nil, uuid.Nil
}

// TestRecordAttempt: attempts are recorded once each, in order; a
// duplicate or late one changes nothing.
func TestRecordAttempt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	d, _ := relayOne(t, e, ev, f)
	next := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	steps := []struct {
		name string
		n    int
		a    event.Attempt
		dead bool
		ok   bool
		want event.DeliveryStatus
	}{
		{"second before first", 2, event.Attempt{Status: 500, Error: "x"}, false, false, event.Pending},
		{"first fails", 1, event.Attempt{Status: 0, Error: "timeout"}, false, true, event.Pending},
		{"first again (duplicate)", 1, event.Attempt{Status: 200}, false, false, event.Pending},
		{"second fails", 2, event.Attempt{Status: 503, Error: "unavailable"}, false, true, event.Pending},
		{"third delivers", 3, event.Attempt{Status: 204}, false, true, event.Delivered},
		{"fourth after delivered", 4, event.Attempt{Status: 500, Error: "x"}, true, false, event.Delivered},
	}
	for _, s := range steps {
		ok, err := ev.RecordAttempt(ctx, d, s.n, s.a, next, s.dead)
		if err != nil || ok != s.ok {
			t.Fatalf("%s: %v %v, want %v", s.name, ok, err, s.ok)
		}
		got, err := ev.Delivery(ctx, d)
		if err != nil || got.Status != s.want {
			t.Fatalf("%s: status %s %v, want %s", s.name, got.Status, err, s.want)
		}
	}
	var (
		attempts    int
		lastStatus  *int
		delivered   *time.Time
		nextAttempt time.Time
	)
	if err := e.db.QueryRow(ctx, `SELECT attempts, last_status, delivered_at, next_attempt_at FROM webhook_deliveries WHERE id = $1`, d).
		Scan(&attempts, &lastStatus, &delivered, &nextAttempt); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || lastStatus == nil || *lastStatus != 204 || delivered == nil || !nextAttempt.Equal(next) {
		t.Errorf("row: attempts %d, last status %v, delivered %v, next %v", attempts, lastStatus, delivered, nextAttempt)
	}

	// A delivery that dies shows in its endpoint's dead letters.
	d2, ep2 := relayOne(t, e, ev, f)
	if ok, err := ev.RecordAttempt(ctx, d2, 1, event.Attempt{Status: 0, Error: "refused"}, next, true); err != nil || !ok {
		t.Fatalf("dead: %v %v", ok, err)
	}
	if ok, _ := ev.RecordAttempt(ctx, d2, 2, event.Attempt{Status: 200}, next, false); ok {
		t.Error("an attempt after death recorded")
	}
	l, err := ev.DeadDeliveries(ctx, f.customer, ep2, wallet.Page{Limit: 10})
	if err != nil || len(l.Items) != 1 || l.Total != 1 {
		t.Fatalf("dead letters: %+v %v", l, err)
	}
	dl := l.Items[0]
	if dl.ID != d2 || dl.Status != event.Dead || dl.Attempts != 1 || dl.LastError != "refused" || dl.Secret != "" ||
		dl.Endpoint.ID != ep2 || dl.Event.Type != event.WalletDeposited || dl.Event.Transaction.Amount != 100 {
		t.Errorf("dead letter %+v", dl)
	}
	if l, err := ev.DeadDeliveries(ctx, f.customer, ep2, wallet.Page{Limit: 10, Cursor: &wallet.Cursor{}}); err != nil || len(l.Items) != 1 {
		t.Errorf("dead letters by cursor: %+v %v", l, err)
	}
}

// TestOverdue: pending deliveries long past due are returned once and
// pushed back; others are not.
func TestOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	late, _ := relayOne(t, e, ev, f)
	onTime, _ := relayOne(t, e, ev, f)
	done, _ := relayOne(t, e, ev, f)
	if _, err := ev.RecordAttempt(ctx, done, 1, event.Attempt{Status: 200}, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 hour' WHERE id = ANY ($1::uuid[])`, []string{late.String(), done.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, onTime); err != nil {
		t.Fatal(err)
	}
	ids, err := ev.Overdue(ctx, time.Minute, 10)
	if err != nil || !slices.Equal(ids, []uuid.UUID{late}) {
		t.Fatalf("overdue: %v %v, want [%s]", ids, err, late)
	}
	if ids, err := ev.Overdue(ctx, time.Minute, 10); err != nil || len(ids) != 0 {
		t.Errorf("overdue again at once: %v %v", ids, err)
	}
	var next time.Time
	if err := e.db.QueryRow(ctx, `SELECT next_attempt_at FROM webhook_deliveries WHERE id = $1`, late).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(next); d < 50*time.Second || d > 70*time.Second {
		t.Errorf("pushed to %v from now, want about a minute", d)
	}
}

// TestPurgeEvents: old published events without a pending delivery go, with
// their deliveries; the rest stay.
func TestPurgeEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev := postgres.NewEvents(e.db, nil)
	f := e.shop(t, "")
	if _, err := ev.CreateEndpoint(ctx, f.customer, event.NewEndpoint{URL: "https://example.com", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	// deposit relays a deposit of amount and records outcome (if any) on
	// its one delivery.
	deposit := func(amount money.Amount, outcome func(id uuid.UUID)) uuid.UUID {
		e.fund(t, f.customer, f.wallet, amount)
		var r relayed
		if n, err := ev.Relay(ctx, 10, r.publish); err != nil || n != 1 || len(r.batches[0].Deliveries) != 1 {
			t.Fatalf("relay: %d %v %+v", n, err, r.batches)
		}
		if outcome != nil {
			outcome(r.batches[0].Deliveries[0])
		}
		return r.batches[0].Event.ID
	}
	record := func(a event.Attempt, dead bool) func(uuid.UUID) {
		return func(id uuid.UUID) {
			if ok, err := ev.RecordAttempt(ctx, id, 1, a, time.Now(), dead); err != nil || !ok {
				t.Fatalf("record: %v %v", ok, err)
			}
		}
	}
	pending := deposit(100, nil)
	delivered := deposit(200, record(event.Attempt{Status: 200}, false))
	dead := deposit(300, record(event.Attempt{Status: 500, Error: "x"}, true))
	if _, err := e.owner.Exec(ctx, `UPDATE events SET created_at = now() - make_interval(days => $1 + 1)`, event.RetentionDays); err != nil {
		t.Fatal(err)
	}
	recent := deposit(500, record(event.Attempt{Status: 200}, false))
	e.fund(t, f.customer, f.wallet, 400) // old, unpublished
	if _, err := e.owner.Exec(ctx, `UPDATE events SET created_at = now() - make_interval(days => $1 + 1) WHERE amount = 4`, event.RetentionDays); err != nil {
		t.Fatal(err)
	}

	if n, err := ev.Purge(ctx, 1); err != nil || n != 1 {
		t.Fatalf("purge 1: %d %v", n, err)
	}
	if n, err := ev.Purge(ctx, 100); err != nil || n != 1 {
		t.Fatalf("purge the rest: %d %v", n, err)
	}
	if n, err := ev.Purge(ctx, 100); err != nil || n != 0 {
		t.Fatalf("purge none: %d %v", n, err)
	}
	var left []uuid.UUID
	for _, x := range e.allEvents(t) {
		left = append(left, x.ID)
	}
	if len(left) != 3 || !slices.Contains(left, pending) || !slices.Contains(left, recent) ||
		slices.Contains(left, delivered) || slices.Contains(left, dead) {
		t.Errorf("left %v; want the pending %s, the unpublished and the recent %s", left, pending, recent)
	}
	if n := e.count(t, `SELECT count(*) FROM webhook_deliveries`); n != 2 {
		t.Errorf("%d deliveries left, want 2 (the pending and the recent)", n)
	}
}
