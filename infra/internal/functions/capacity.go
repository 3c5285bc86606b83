package functions

import (
	"fmt"
	"strings"

	"wallets/infra/internal/data"
	"wallets/infra/internal/settings"
)

// lambdaUnreservedMinimum is the concurrency Lambda keeps unreserved in
// every account.
const lambdaUnreservedMinimum = 100

// CapacityRule checks, at synth time, that the functions cannot open more
// database connections than the proxy may: the sum over functions of
// reserved concurrency × pools × pool size stays within ProxyMaxConnections
// at the configured capacity. A listing function counts twice (its reader
// pool, and the writer it falls back to when the reader is unreachable), so
// that a reader failover cannot push the writer over. It also checks that
// the reservations fit the account's concurrency.
func CapacityRule(s settings.Settings, fns *Functions) error {
	conns, reserved := 0, 0
	var parts []string
	for _, f := range fns.All() {
		n := f.Reserved * f.Pools * PoolSize
		conns += n
		reserved += f.Reserved
		parts = append(parts, fmt.Sprintf("%s %d×%d×%d", f.Name, f.Reserved, f.Pools, PoolSize))
	}
	var errs []string
	if limit := data.ProxyMaxConnections(s); conns > limit {
		errs = append(errs, fmt.Sprintf("the functions may open %d database connections (reserved concurrency × pools × pool size: %s), "+
			"more than the %d the proxy may open at dbMinCapacity %.1f / dbMaxCapacity %.1f (%d%% of max_connections %d): "+
			"lower routeConcurrency or authorizerConcurrency, or raise the capacity",
			conns, strings.Join(parts, ", "), limit, s.DBMinCapacity, s.DBMaxCapacity, data.ProxyMaxConnectionsPercent,
			data.AuroraMaxConnections(s.DBMinCapacity, s.DBMaxCapacity)))
	}
	if limit := s.AccountConcurrency - lambdaUnreservedMinimum; reserved > limit {
		errs = append(errs, fmt.Sprintf("the functions reserve %d concurrent executions, more than accountConcurrency %d leaves reservable (%d)",
			reserved, s.AccountConcurrency, limit))
	}
	if len(errs) > 0 {
		return fmt.Errorf("stage %s: capacity rule: %s", s.Stage, strings.Join(errs, "; "))
	}
	return nil
}

// ConnectionBudget is what CapacityRule adds up: the connections the
// functions may open, and the proxy's limit.
func ConnectionBudget(s settings.Settings, fns *Functions) (used, limit int) {
	for _, f := range fns.All() {
		used += f.Reserved * f.Pools * PoolSize
	}
	return used, data.ProxyMaxConnections(s)
}
