package contract_test

import (
	"os"
	"testing"

	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
