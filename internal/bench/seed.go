package bench

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SeedPassword is every seeded user's password.
const SeedPassword = "Bench-Tr0mbone-Galaxy-42"

// Plan sizes the seed.
type Plan struct {
	// Customers, each with one wallet holding CustomerFunds (in units).
	Customers     int
	CustomerFunds int64
	// Businesses collected at in the spread workload; the first is also the
	// one business of the hot workload.
	Businesses int
	// ListRows are the accepted charges at the listing business (one more
	// business of its own).
	ListRows int
	// Charges is how many pending charges of 1.00 each collect workload gets.
	Charges int
}

// Account is a seeded user.
type Account struct {
	ID       int64
	Username string
	Wallet   uuid.UUID // the customer's wallet, or the business's
}

// Seeded is what the workloads use.
type Seeded struct {
	Customers  []Account
	Businesses []Account // collected at; Businesses[0] is the hot one
	Lister     Account   // holds the ListRows charges
	// HotCharges are pending charges at Businesses[0]; SpreadCharges are
	// pending charges at Businesses[i % len(Businesses)], in that order.
	HotCharges    []Charge
	SpreadCharges []Charge
}

// Charge is a pending charge and the business that collects it.
type Charge struct {
	ID       uuid.UUID
	Business int64
}

// Seed writes the plan's rows straight into the database (no API calls):
// users with passwordHash, their wallets funded by a deposit each, the
// listing business's rows (one INSERT … SELECT generate_series; the counter
// triggers keep the counts), and the pending charges. It ends with VACUUM
// ANALYZE and a CHECKPOINT.
func Seed(ctx context.Context, conn *pgx.Conn, p Plan, passwordHash string) (Seeded, error) {
	var s Seeded
	var err error
	if s.Customers, err = insertUsers(ctx, conn, "bench-customer-", 1, p.Customers, passwordHash); err != nil {
		return s, err
	}
	bs, err := insertUsers(ctx, conn, "bench-business-", 2, p.Businesses+1, passwordHash)
	if err != nil {
		return s, err
	}
	s.Lister, s.Businesses = bs[0], bs[1:]
	if err := insertWallets(ctx, conn, s.Customers, false, p.CustomerFunds); err != nil {
		return s, err
	}
	if err := insertWallets(ctx, conn, bs, true, 0); err != nil {
		return s, err
	}
	if err := insertListRows(ctx, conn, s.Lister.ID, p.ListRows); err != nil {
		return s, err
	}
	if s.HotCharges, err = insertCharges(ctx, conn, s.Customers, s.Businesses[:1], p.Charges); err != nil {
		return s, err
	}
	if s.SpreadCharges, err = insertCharges(ctx, conn, s.Customers, s.Businesses, p.Charges); err != nil {
		return s, err
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return s, fmt.Errorf("seed: vacuum analyze: %w", err)
	}
	// Write the seed's dirty pages out now, not in a checkpoint during the
	// first workloads.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return s, fmt.Errorf("seed: checkpoint: %w", err)
	}
	return s, nil
}

func insertUsers(ctx context.Context, conn *pgx.Conn, prefix string, typ, n int, hash string) ([]Account, error) {
	rows, err := conn.Query(ctx, `
		INSERT INTO users (username, email, first_name, type, password_hash)
		SELECT $1 || g, $1 || g || '@bench.invalid', $1 || g, $2, $3 FROM generate_series(1, $4) g
		RETURNING id, username`, prefix, typ, hash, n)
	if err != nil {
		return nil, fmt.Errorf("seed users %s*: %w", prefix, err)
	}
	accounts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		return a, r.Scan(&a.ID, &a.Username)
	})
	if err != nil {
		return nil, fmt.Errorf("seed users %s*: %w", prefix, err)
	}
	return accounts, nil
}

// insertWallets gives each account one wallet (a business's when business)
// and, for funds > 0, a deposit of funds that its balance reflects.
func insertWallets(ctx context.Context, conn *pgx.Conn, accounts []Account, business bool, funds int64) error {
	ids := make([]int64, len(accounts))
	wallets := make([]uuid.UUID, len(accounts))
	for i := range accounts {
		accounts[i].Wallet = uuid.New()
		ids[i], wallets[i] = accounts[i].ID, accounts[i].Wallet
	}
	_, err := conn.Exec(ctx, `
		WITH w AS (
			INSERT INTO wallets (uuid, user_id, is_business, balance)
			SELECT w, u, $3, $4 FROM unnest($1::uuid[], $2::bigint[]) AS x(w, u)
			RETURNING uuid, user_id
		)
		INSERT INTO transactions (uuid, wallet_id, customer_id, amount, description, status, type)
		SELECT gen_random_uuid(), uuid, user_id, $4, 'bench funds', 2, 1 FROM w WHERE $4 > 0`,
		wallets, ids, business, funds)
	if err != nil {
		return fmt.Errorf("seed wallets: %w", err)
	}
	return nil
}

// insertListRows writes n accepted charges of 1.00 at business, one a
// second back from now, from one seeded customer.
func insertListRows(ctx context.Context, conn *pgx.Conn, business int64, n int) error {
	_, err := conn.Exec(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type, created_at, updated_at)
		SELECT gen_random_uuid(), w.uuid, w.user_id, $1, 1.00, 'bench list row', 2, 2,
		       now() - g * interval '1 second', now() - g * interval '1 second'
		  FROM generate_series(1, $2) g,
		       (SELECT uuid, user_id FROM wallets WHERE NOT is_business ORDER BY user_id LIMIT 1) w`,
		business, n)
	if err != nil {
		return fmt.Errorf("seed %d list rows: %w", n, err)
	}
	return nil
}

// insertCharges writes n pending charges of 1.00, charge i from customer
// i % len(customers) at business i % len(businesses).
func insertCharges(ctx context.Context, conn *pgx.Conn, customers, businesses []Account, n int) ([]Charge, error) {
	charges := make([]Charge, n)
	ids := make([]uuid.UUID, n)
	wallets := make([]uuid.UUID, n)
	owners := make([]int64, n)
	at := make([]int64, n)
	for i := range charges {
		c, b := customers[i%len(customers)], businesses[i%len(businesses)]
		charges[i] = Charge{ID: uuid.New(), Business: b.ID}
		ids[i], wallets[i], owners[i], at[i] = charges[i].ID, c.Wallet, c.ID, b.ID
	}
	_, err := conn.Exec(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type)
		SELECT id, w, c, b, 1.00, 'bench charge', 1, 2
		  FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[]) AS x(id, w, c, b)`,
		ids, wallets, owners, at)
	if err != nil {
		return nil, fmt.Errorf("seed %d charges: %w", n, err)
	}
	return charges, nil
}
