package contract_test

import (
	"flag"
	"os"
	"testing"

	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	rapidDefaults()
	os.Exit(pgtest.Main(m))
}
