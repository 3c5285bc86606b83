// Package migrations holds the numbered SQL migrations, embedded so the
// binary that applies them carries them.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
