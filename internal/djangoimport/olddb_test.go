package djangoimport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/pgtest"
)

// oldSchema is the old service's tables as DJANGO_IMPORT.md documents them
// (Django 3.2's defaults for its models).
const oldSchema = `
CREATE TABLE auth_user (
    id integer PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz,
    is_superuser boolean NOT NULL, username varchar(150) NOT NULL UNIQUE,
    first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL,
    is_staff boolean NOT NULL, is_active boolean NOT NULL, date_joined timestamptz NOT NULL);
CREATE TABLE users_userprofile (
    id bigint PRIMARY KEY, type integer NOT NULL, user_id integer NOT NULL UNIQUE REFERENCES auth_user);
CREATE TABLE wallets_wallet (
    uuid uuid PRIMARY KEY, balance numeric(11,2) NOT NULL,
    created_date timestamptz NOT NULL, modified_date timestamptz NOT NULL);
CREATE TABLE wallets_customerwallets (
    id bigint PRIMARY KEY, user_id integer NOT NULL UNIQUE REFERENCES auth_user);
CREATE TABLE wallets_customerwallets_wallets (
    id bigserial PRIMARY KEY, customerwallets_id bigint NOT NULL REFERENCES wallets_customerwallets,
    wallet_id uuid NOT NULL REFERENCES wallets_wallet, UNIQUE (customerwallets_id, wallet_id));
CREATE TABLE wallets_businesswallet (
    id bigserial PRIMARY KEY, user_id integer NOT NULL UNIQUE REFERENCES auth_user,
    wallet_id uuid UNIQUE REFERENCES wallets_wallet);
CREATE TABLE wallets_businesscustomers (id bigserial PRIMARY KEY, business_id integer NOT NULL UNIQUE REFERENCES auth_user);
CREATE TABLE wallets_businesscustomers_customers (
    id bigserial PRIMARY KEY, businesscustomers_id bigint NOT NULL REFERENCES wallets_businesscustomers,
    user_id integer NOT NULL REFERENCES auth_user);
CREATE TABLE wallets_transaction (
    uuid uuid PRIMARY KEY, amount numeric(11,2) NOT NULL, created_date timestamptz NOT NULL,
    description varchar(250) NOT NULL, status integer NOT NULL, type integer NOT NULL,
    wallet_id uuid REFERENCES wallets_wallet, business_id integer REFERENCES auth_user,
    customer_id integer REFERENCES auth_user);
`

// oldDB is an old service's database under construction.
type oldDB struct {
	t    testing.TB
	db   *pgxpool.Pool
	url  string
	now  time.Time
	tick int
}

// newOldDB creates an old database with the documented schema and the
// fixtures' 100 users (password as12345678), their profiles and customer rows.
func newOldDB(t testing.TB) *oldDB {
	t.Helper()
	url := ownerURL(t)
	db := connect(t, url)
	o := &oldDB{t: t, db: db, url: url, now: time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC)}
	o.exec(oldSchema)
	type fixture struct {
		PK     int64           `json:"pk"`
		Fields json.RawMessage `json:"fields"`
	}
	read := func(name string) []fixture {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var fs []fixture
		if err := json.Unmarshal(b, &fs); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	for _, f := range read("users.json") {
		var u struct {
			Password    string    `json:"password"`
			Username    string    `json:"username"`
			FirstName   string    `json:"first_name"`
			LastName    string    `json:"last_name"`
			Email       string    `json:"email"`
			IsSuperuser bool      `json:"is_superuser"`
			IsStaff     bool      `json:"is_staff"`
			IsActive    bool      `json:"is_active"`
			DateJoined  time.Time `json:"date_joined"`
		}
		if err := json.Unmarshal(f.Fields, &u); err != nil {
			t.Fatal(err)
		}
		o.exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			f.PK, u.Password, u.IsSuperuser, u.Username, u.FirstName, u.LastName, u.Email, u.IsStaff, u.IsActive, u.DateJoined)
	}
	for _, f := range read("profiles.json") {
		var p struct {
			User int64 `json:"user"`
			Type int   `json:"type"`
		}
		_ = json.Unmarshal(f.Fields, &p)
		o.exec(`INSERT INTO users_userprofile (id, type, user_id) VALUES ($1, $2, $3)`, f.PK, p.Type, p.User)
	}
	for _, f := range read("customer_wallets.json") {
		var c struct {
			User int64 `json:"user"`
		}
		_ = json.Unmarshal(f.Fields, &c)
		o.exec(`INSERT INTO wallets_customerwallets (id, user_id) VALUES ($1, $2)`, f.PK, c.User)
	}
	return o
}

func connect(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func (o *oldDB) exec(sql string, args ...any) {
	o.t.Helper()
	if _, err := o.db.Exec(context.Background(), sql, args...); err != nil {
		o.t.Fatalf("old database: %v\n%s", err, sql)
	}
}

// at returns a new moment, a minute after the last.
func (o *oldDB) at() time.Time {
	o.tick++
	return o.now.Add(time.Duration(o.tick) * time.Minute)
}

// djangoPassword is every fixture user's password.
const djangoPassword = "as12345678"

// pbkdf2 hashes of as12345678 in Django's format, for extra users.
const (
	sha256Hash = "pbkdf2_sha256$260000$vewssiEM501dY9z6ehs60O$fPi9djbCGyQ64mfQSXGrQyUCu9qH9ECPspqAYHeKWWc="
	sha1Hash   = "pbkdf2_sha1$10000$oldsalt1$TdbxTi5n4D7aMLDfhZscY/y68hQ="
)

// user adds an account; profile 0 means no profile row.
func (o *oldDB) user(id int64, username, email, password string, profile int, staff, super, active bool) {
	o.t.Helper()
	o.exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		VALUES ($1, $2, $3, $4, 'First', 'Last', $5, $6, $7, $8)`, id, password, super, username, email, staff, active, o.at())
	if profile != 0 {
		o.exec(`INSERT INTO users_userprofile (id, type, user_id) VALUES ($1, $2, $3)`, id, profile, id)
	}
}

// customerWallet adds a wallet with balance under customer user.
func (o *oldDB) customerWallet(user int64, balance string) uuid.UUID {
	o.t.Helper()
	w := o.wallet(balance)
	o.exec(`INSERT INTO wallets_customerwallets (id, user_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, user+10000, user)
	o.exec(`INSERT INTO wallets_customerwallets_wallets (customerwallets_id, wallet_id)
		SELECT id, $2 FROM wallets_customerwallets WHERE user_id = $1`, user, w)
	return w
}

// businessWallet adds business user's wallet.
func (o *oldDB) businessWallet(user int64, balance string) uuid.UUID {
	o.t.Helper()
	w := o.wallet(balance)
	o.exec(`INSERT INTO wallets_businesswallet (user_id, wallet_id) VALUES ($1, $2)`, user, w)
	return w
}

// wallet adds a wallet no one owns (yet).
func (o *oldDB) wallet(balance string) uuid.UUID {
	o.t.Helper()
	w := uuid.New()
	at := o.at()
	o.exec(`INSERT INTO wallets_wallet (uuid, balance, created_date, modified_date) VALUES ($1, $2, $3, $4)`, w, balance, at, at.Add(time.Hour))
	return w
}

// tx adds a transaction row; business 0 means none.
func (o *oldDB) tx(wallet *uuid.UUID, customer, business int64, amount string, status, typ int) uuid.UUID {
	o.t.Helper()
	id := uuid.New()
	var b *int64
	if business != 0 {
		b = &business
	}
	o.exec(`INSERT INTO wallets_transaction (uuid, amount, created_date, description, status, type, wallet_id, business_id, customer_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, amount, o.at(), fmt.Sprintf("movement %d", o.tick), status, typ, wallet, b, customer)
	return id
}

// history gives customer's wallet w the standard history: two deposits of
// 100.00 (pending-looking, status 1), a withdrawal of 30.00, a charge of
// 15.00 collected at business, one of 5.00 not collected and a failed
// collection of 1000.00 left pending: 155.00 applied. It returns the
// pending 5.00 charge.
func (o *oldDB) history(w uuid.UUID, customer, business int64) uuid.UUID {
	o.tx(&w, customer, 0, "100.00", 1, 1)
	o.tx(&w, customer, 0, "100.00", 1, 1)
	o.tx(&w, customer, 0, "-30.00", 2, 2)
	o.tx(&w, customer, business, "15.00", 2, 2)
	pending := o.tx(&w, customer, business, "5.00", 1, 2)
	o.tx(&w, customer, business, "1000.00", 1, 2)
	return pending
}

// ownerURL is a fresh database as its owner: the importer is an operator's
// tool and runs as the schema's owner (it writes import_runs, which the
// functions' runtime role may not touch), and the old database's schema is
// created in a database of its own.
func ownerURL(t testing.TB) string {
	t.Helper()
	return pgtest.OwnerURL(t, pgtest.URL(t))
}
