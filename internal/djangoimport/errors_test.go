package djangoimport

import "testing"

func TestRefusedErrorListsEveryCase(t *testing.T) {
	err := &RefusedError{Cases: []Case{
		{Kind: "wallet with two owners", ID: "e58bc9dc-1b2c-4d5e-8f90-123456789abc", Detail: "customers 3 and 4"},
		{Kind: "target not empty", ID: "7", Detail: "user x"},
	}}
	want := "djangoimport: refused, nothing written: 2 case(s) need a human decision" +
		"\n  wallet with two owners e58bc9dc-1b2c-4d5e-8f90-123456789abc: customers 3 and 4" +
		"\n  target not empty 7: user x"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

// The import run's source is stored in import_runs: never its password.
func TestRedactDropsThePassword(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://django:s3cret@old-db:5432/wallets", "postgres://django:xxxxx@old-db:5432/wallets"},
		{"postgres://django@old-db/wallets", "postgres://django@old-db/wallets"},
		{"postgres://old-db/wallets", "postgres://old-db/wallets"},
		{"", ""},
		{"host=old-db user=django", "host=old-db user=django"},
		{"host=old-db user=django password=s3cret dbname=wallets", "host=old-db user=django password=xxxxx dbname=wallets"},
		{"host=old-db password = 's3 cr\\'et' dbname=wallets", "host=old-db password = xxxxx dbname=wallets"},
		{"postgres://django@old-db/wallets?sslmode=require&password=s3cret", "postgres://django@old-db/wallets?password=xxxxx&sslmode=require"},
		{"postgresql://django:s3cret@old-db/wallets", "postgresql://django:xxxxx@old-db/wallets"},
		{"postgres://django:s3cret@old-db:5432%zz/wallets", "(unparsable database URL)"},
	}
	for _, c := range cases {
		if got := redact(c.in); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
