// Package migrations holds the numbered SQL migrations, embedded so the
// binary that applies them carries them.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// RuntimeRole is the database role the functions connect as, which
// migration 00006 creates: rows, not schema (the role that runs the
// migrations owns the schema).
const RuntimeRole = "wallets_app"
