package bench

import (
	"fmt"
	"strconv"
)

// Baseline names.
const (
	TPCB         = "pgbench tpcb-like"
	SimpleUpdate = "pgbench simple-update"
	HotRow       = "pgbench hot-row update"
)

// Workload names.
const (
	CollectOne    = "collect, one business"
	CollectSpread = "collect, 50 businesses"
	DepositSpread = "deposit, 50 wallets"
	DepositHot    = "deposit, one wallet"
	UsersMe       = "GET /users/me"
	PageOne       = "list 1M, page 1 + count"
	CursorDeep    = "list 1M, cursor page"
	PageDeep      = "list 1M, ?page="
)

// Spec is a workload to run: its requests, its clients, the Lambda function
// it exercises (for the cost line) and its checks.
type Spec struct {
	Name     string
	Function string
	Clients  int
	Next     Sequence
	Checks   []Check
}

// Inputs is what the workloads need from the seed and the set-up.
type Inputs struct {
	Seeded Seeded
	// Tokens by username.
	Tokens map[string]string
	// DepositWallets is how many customers' wallets the spread deposits use.
	DepositWallets int
	// CursorQuery is a deep cursor page's query (?cursor=…), CursorPage its
	// page number; DeepPage the page number of the deep ?page=N workload.
	CursorQuery string
	CursorPage  int
	DeepPage    int
}

var depositBody = []byte(`{"amount":"1.00","description":"bench deposit"}`)

func moneyChecks() []Check {
	return []Check{{Kind: MaxP99, Limit: 20}, {Kind: No5xx}}
}

// Specs returns the workloads in the order they run, with the issue's
// targets.
func Specs(in Inputs, clients int) []Spec {
	s, tok := in.Seeded, in.Tokens
	businessToken := map[int64]string{}
	for _, b := range s.Businesses {
		businessToken[b.ID] = tok[b.Username]
	}
	collect := func(charges []Charge) Sequence {
		return func(i int64) Request {
			c := charges[i%int64(len(charges))]
			return Request{Method: "PUT", Path: "/wallets/business/transactions/" + c.ID.String() + "/debit", Token: businessToken[c.Business]}
		}
	}
	spread := s.Customers[:in.DepositWallets]
	deposit := func(i int64) Request {
		c := spread[i%int64(len(spread))]
		return Request{Method: "PUT", Path: "/wallets/customers/wallets/" + c.Wallet.String() + "/deposit", Token: tok[c.Username], Body: depositBody}
	}
	hot := s.Customers[0]
	lister := tok[s.Lister.Username]
	get := func(path, token string) Sequence {
		return func(int64) Request { return Request{Method: "GET", Path: path, Token: token} }
	}
	return []Spec{
		{Name: CollectOne, Function: "business-debit", Clients: clients, Next: collect(s.HotCharges),
			Checks: append([]Check{{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.6}, {Kind: AtLeastRatio, Reference: CollectSpread, Limit: 0.8}}, moneyChecks()...)},
		{Name: CollectSpread, Function: "business-debit", Clients: clients, Next: collect(s.SpreadCharges),
			Checks: append([]Check{{Kind: InfoRatio, Reference: TPCB}}, moneyChecks()...)},
		{Name: DepositSpread, Function: "wallets-deposit", Clients: clients, Next: deposit,
			Checks: append([]Check{{Kind: InfoRatio, Reference: SimpleUpdate}}, moneyChecks()...)},
		{Name: DepositHot, Function: "wallets-deposit", Clients: clients,
			Next: func(int64) Request {
				return Request{Method: "PUT", Path: "/wallets/customers/wallets/" + hot.Wallet.String() + "/deposit", Token: tok[hot.Username], Body: depositBody}
			},
			Checks: append([]Check{{Kind: AtLeastRatio, Reference: DepositSpread, Limit: 0.8}, {Kind: InfoRatio, Reference: HotRow}}, moneyChecks()...)},
		{Name: UsersMe, Function: "users-me-get", Clients: clients,
			Next: func(i int64) Request {
				c := spread[i%int64(len(spread))]
				return Request{Method: "GET", Path: "/users/me", Token: tok[c.Username]}
			},
			Checks: []Check{{Kind: No5xx}}},
		{Name: PageOne, Function: "business-transactions", Clients: 1, Next: get("/wallets/business/transactions?page=1", lister),
			Checks: []Check{{Kind: MaxP99, Limit: 5}, {Kind: No5xx}}},
		{Name: CursorDeep + " " + strconv.Itoa(in.CursorPage), Function: "business-transactions", Clients: 1,
			Next:   get("/wallets/business/transactions"+in.CursorQuery, lister),
			Checks: []Check{{Kind: MaxP99, Limit: 5}, {Kind: No5xx}}},
		{Name: PageDeep + strconv.Itoa(in.DeepPage), Function: "business-transactions", Clients: 1,
			Next:   get(fmt.Sprintf("/wallets/business/transactions?page=%d", in.DeepPage), lister),
			Checks: []Check{{Kind: LatencyMultiple, Reference: PageOne}}},
	}
}
