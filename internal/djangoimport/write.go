package djangoimport

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/money"
)

// writer writes a plan into the target in batches, each batch copied into a
// temporary table and inserted from it, skipping rows already there.
type writer struct {
	db       *pgxpool.Pool
	batch    int
	progress io.Writer
}

func (w *writer) logf(format string, args ...any) {
	if w.progress != nil {
		fmt.Fprintf(w.progress, format+"\n", args...)
	}
}

// table is how one kind of row is copied and inserted.
type table struct {
	name    string   // for progress and errors
	temp    string   // CREATE TEMP TABLE … body
	columns []string // of the temporary table, in COPY order
	insert  string   // INSERT … SELECT … FROM imp ON CONFLICT DO NOTHING
}

var (
	usersTable = table{
		name: "users",
		temp: `(id bigint, username text, email text, first_name text, last_name text, type smallint,
			password_hash text, is_active boolean, created_at timestamptz)`,
		columns: []string{"id", "username", "email", "first_name", "last_name", "type", "password_hash", "is_active", "created_at"},
		insert: `
			INSERT INTO users (id, username, email, first_name, last_name, type, password_hash, is_active, created_at, updated_at)
			OVERRIDING SYSTEM VALUE
			SELECT id, username, email, first_name, last_name, type, password_hash, is_active, created_at, created_at FROM imp
			ON CONFLICT (id) DO NOTHING`,
	}
	walletsTable = table{
		name:    "wallets",
		temp:    `(uuid uuid, user_id bigint, is_business boolean, cents bigint, created_at timestamptz, updated_at timestamptz)`,
		columns: []string{"uuid", "user_id", "is_business", "cents", "created_at", "updated_at"},
		insert: `
			INSERT INTO wallets (uuid, user_id, is_business, balance, created_at, updated_at)
			SELECT uuid, user_id, is_business, cents / 100.0, created_at, updated_at FROM imp
			ON CONFLICT (uuid) DO NOTHING`,
	}
	transactionsTable = table{
		name: "transactions",
		temp: `(uuid uuid, wallet_id uuid, customer_id bigint, business_id bigint, cents bigint, description text,
			status smallint, type smallint, created_at timestamptz)`,
		columns: []string{"uuid", "wallet_id", "customer_id", "business_id", "cents", "description", "status", "type", "created_at"},
		insert: `
			INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type, created_at, updated_at)
			SELECT uuid, wallet_id, customer_id, business_id, cents / 100.0, description, status, type, created_at, created_at FROM imp
			ON CONFLICT (uuid) DO NOTHING`,
	}
)

// write copies rows into a fresh temporary table and inserts them from it,
// in one transaction, returning the number of rows inserted.
func (w *writer) write(ctx context.Context, t table, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	var n int64
	err := pgx.BeginFunc(ctx, w.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE imp `+t.temp+` ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"imp"}, t.columns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, t.insert)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", t.name, err)
	}
	return n, nil
}

// run writes the plan: users, wallets, the transactions streamed from old,
// the adjustments, then moves the users' id sequence past the imported ids.
func (w *writer) run(ctx context.Context, old *pgxpool.Pool, p *plan, rep *Report) error {
	for i := 0; i < len(p.users); i += w.batch {
		batch := p.users[i:min(i+w.batch, len(p.users))]
		rows := make([][]any, len(batch))
		for j, u := range batch {
			rows[j] = []any{u.id, u.username, u.email, u.first, u.last, u.typ, u.password, u.active, u.joined}
		}
		n, err := w.write(ctx, usersTable, rows)
		if err != nil {
			return err
		}
		rep.UsersInserted += n
		w.logf("users: %d/%d", i+len(batch), len(p.users))
	}
	for i := 0; i < len(p.wallets); i += w.batch {
		batch := p.wallets[i:min(i+w.batch, len(p.wallets))]
		rows := make([][]any, len(batch))
		for j, x := range batch {
			rows[j] = []any{[16]byte(x.id), x.user, x.business, int64(x.balance), x.created, x.modified}
		}
		n, err := w.write(ctx, walletsTable, rows)
		if err != nil {
			return err
		}
		rep.WalletsInserted += n
		w.logf("wallets: %d/%d", i+len(batch), len(p.wallets))
	}
	if err := w.transactions(ctx, old, p, rep); err != nil {
		return err
	}
	rows := make([][]any, len(p.adjustments))
	for i, a := range p.adjustments {
		typ := int16(1) // a deposit
		if a.Difference < 0 {
			typ = 2 // a withdrawal
		}
		desc := fmt.Sprintf("Import adjustment: the stored balance %s, the transactions add up to %s", a.Stored, a.Ledger)
		rows[i] = []any{[16]byte(a.Transaction), [16]byte(a.Wallet), a.Owner, nil, int64(a.Difference), desc, int16(2), typ, a.at}
	}
	n, err := w.write(ctx, transactionsTable, rows)
	if err != nil {
		return fmt.Errorf("adjustments: %w", err)
	}
	rep.AdjInserted = n
	// New accounts get ids after every imported one; the sequence never
	// moves back (users may have signed up since an earlier run).
	if err := w.db.QueryRow(ctx, `
		SELECT setval(seq, greatest(max(id), pg_sequence_last_value(seq)))
		FROM users, (SELECT pg_get_serial_sequence('users', 'id')::regclass AS seq) s
		GROUP BY seq HAVING max(id) IS NOT NULL`).Scan(&rep.NextUserID); err != nil && !noRows(err) {
		return fmt.Errorf("move the users id sequence: %w", err)
	}
	return nil
}

// transactions streams the old transaction rows into the target in batches,
// mapping each to its new meaning.
func (w *writer) transactions(ctx context.Context, old *pgxpool.Pool, p *plan, rep *Report) error {
	var total int64
	if err := old.QueryRow(ctx, `SELECT count(*) FROM wallets_transaction`).Scan(&total); err != nil {
		return fmt.Errorf("count transactions: %w", err)
	}
	rows, err := old.Query(ctx, `
		SELECT uuid, wallet_id, business_id, (amount * 100)::bigint, created_date, coalesce(description, ''), status, type
		FROM wallets_transaction`)
	if err != nil {
		return fmt.Errorf("read transactions: %w", err)
	}
	defer rows.Close()
	batch := make([][]any, 0, w.batch)
	var done int64
	flush := func() error {
		n, err := w.write(ctx, transactionsTable, batch)
		if err != nil {
			return err
		}
		rep.TxInserted += n
		done += int64(len(batch))
		batch = batch[:0]
		w.logf("transactions: %d/%d", done, total)
		return nil
	}
	for rows.Next() {
		var (
			id, walletID uuid.UUID
			business     *int64
			c            int64
			created      time.Time
			desc         string
			status, typ  int16
		)
		if err := rows.Scan(&id, &walletID, &business, &c, &created, &desc, &status, &typ); err != nil {
			return fmt.Errorf("read transactions: %w", err)
		}
		amount := money.Amount(c)
		switch {
		case business == nil && status == 3:
			// Never applied; the new ledger holds no such row.
			rep.add(KindNotAppliedIgnore, amount)
			rep.NotApplied = append(rep.NotApplied, id)
			done++
			continue
		case business == nil && typ == 1:
			rep.add(KindDeposit, amount)
			status = 2
		case business == nil:
			rep.add(KindWithdrawal, amount)
			status = 2
		case status == 2:
			rep.add(KindChargeCollected, amount)
		case status == 3:
			rep.add(KindChargeRejected, amount)
		default:
			rep.add(KindChargePending, amount)
		}
		batch = append(batch, []any{[16]byte(id), [16]byte(walletID), p.owners[walletID], business, c, desc, status, typ, created})
		if len(batch) == w.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read transactions: %w", err)
	}
	return flush()
}
