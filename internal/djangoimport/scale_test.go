package djangoimport_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"wallets/internal/djangoimport"
)

// TestImportScale measures an import of 100,000 users (1,000 businesses),
// 100,000 wallets and 1,000,000 transactions. It is slow (minutes), so it
// runs only when asked:
//
//	WALLETS_IMPORT_SCALE=1 go test -run TestImportScale -v -timeout 30m ./internal/djangoimport/
//
// WALLETS_IMPORT_SCALE=n multiplies the transactions by n/1 (e.g. 0.1 for a
// quick look is not supported: use an integer ≥ 1).
func TestImportScale(t *testing.T) {
	factor, _ := strconv.Atoi(os.Getenv("WALLETS_IMPORT_SCALE"))
	if factor < 1 {
		t.Skip("set WALLETS_IMPORT_SCALE=1 to measure an import of 1M transactions and 100k users")
	}
	const users, businesses = 100_000, 1_000
	txs := factor * 1_000_000
	ctx := context.Background()
	url := ownerURL(t)
	old := &oldDB{t: t, db: connect(t, url), url: url}
	old.exec(oldSchema)
	start := time.Now()
	for _, sql := range []string{
		`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		 SELECT g, '` + sha256Hash + `', false, 'user ' || g, 'First', 'Last', 'user' || g || '@example.com', false, true,
		        timestamptz '2021-01-01' + g * interval '1 minute'
		 FROM generate_series(1, ` + strconv.Itoa(users) + `) g`,
		`INSERT INTO users_userprofile (id, type, user_id)
		 SELECT g, CASE WHEN g <= ` + strconv.Itoa(businesses) + ` THEN 2 ELSE 1 END, g FROM generate_series(1, ` + strconv.Itoa(users) + `) g`,
		`INSERT INTO wallets_wallet (uuid, balance, created_date, modified_date)
		 SELECT md5('w' || g)::uuid, 0, timestamptz '2021-02-01' + g * interval '1 second', timestamptz '2021-06-01'
		 FROM generate_series(1, ` + strconv.Itoa(users) + `) g`,
		`INSERT INTO wallets_businesswallet (user_id, wallet_id)
		 SELECT g, md5('w' || g)::uuid FROM generate_series(1, ` + strconv.Itoa(businesses) + `) g`,
		`INSERT INTO wallets_customerwallets (id, user_id)
		 SELECT g, g FROM generate_series(` + strconv.Itoa(businesses+1) + `, ` + strconv.Itoa(users) + `) g`,
		`INSERT INTO wallets_customerwallets_wallets (customerwallets_id, wallet_id)
		 SELECT g, md5('w' || g)::uuid FROM generate_series(` + strconv.Itoa(businesses+1) + `, ` + strconv.Itoa(users) + `) g`,
		// Per ten rows: four deposits of 50.00 (status 1), two withdrawals
		// of 10.00, two collected charges of 5.00, two pending ones.
		`INSERT INTO wallets_transaction (uuid, amount, created_date, description, status, type, wallet_id, business_id, customer_id)
		 SELECT md5('t' || i)::uuid,
		        CASE WHEN k < 4 THEN 50.00 WHEN k < 6 THEN -10.00 ELSE 5.00 END,
		        timestamptz '2021-03-01' + i * interval '1 second', 'movement ' || i,
		        CASE WHEN k < 4 OR k >= 8 THEN 1 ELSE 2 END,
		        CASE WHEN k < 4 THEN 1 ELSE 2 END,
		        md5('w' || c)::uuid,
		        CASE WHEN k >= 6 THEN 1 + i % ` + strconv.Itoa(businesses) + ` END,
		        c
		 FROM (SELECT i, i % 10 AS k, ` + strconv.Itoa(businesses+1) + ` + (i / 10) % ` + strconv.Itoa(users-businesses) + ` AS c
		       FROM generate_series(1, ` + strconv.Itoa(txs) + `) i) s`,
		// Stored balances agree with the rows, but for one wallet in 1,000.
		`UPDATE wallets_wallet w SET balance = s.b + CASE WHEN get_byte(decode(md5(w.uuid::text), 'hex'), 0) < 1 THEN 1.00 ELSE 0 END
		 FROM (SELECT wallet_id, sum(CASE WHEN business_id IS NULL THEN amount WHEN status = 2 THEN -amount ELSE 0 END) AS b
		       FROM wallets_transaction GROUP BY wallet_id) s
		 WHERE w.uuid = s.wallet_id`,
		`UPDATE wallets_wallet w SET balance = s.b
		 FROM (SELECT b.wallet_id, sum(t.amount) AS b FROM wallets_transaction t JOIN wallets_businesswallet b ON b.user_id = t.business_id
		       WHERE t.status = 2 GROUP BY b.wallet_id) s
		 WHERE w.uuid = s.wallet_id`,
		`ANALYZE`,
	} {
		old.exec(sql)
	}
	t.Logf("built the old database in %s", time.Since(start).Round(time.Millisecond))

	target := connect(t, ownerURL(t))
	start = time.Now()
	rep, err := djangoimport.Run(ctx, old.db, target, djangoimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("imported %d users, %d wallets, %d transactions (+%d adjustments) in %s: %.0f transactions/s",
		rep.Customers+rep.Businesses, rep.CustomerWallets+rep.BusinessWallets, rep.TxInserted, rep.AdjInserted,
		took.Round(time.Millisecond), float64(rep.TxInserted)/took.Seconds())
	if rep.TxInserted != int64(txs) || rep.UsersInserted != users {
		t.Errorf("inserted %d transactions, %d users", rep.TxInserted, rep.UsersInserted)
	}

	start = time.Now()
	again, err := djangoimport.Run(ctx, old.db, target, djangoimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second run (nothing to write) in %s, %d inserted", time.Since(start).Round(time.Millisecond), again.TxInserted)
}
