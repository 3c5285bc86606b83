package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun: -check lists what is missing or stale and writes nothing; a run
// writes every route's main, after which -check passes.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	err := run(dir, true)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "wallets-deposit", "main.go")) {
		t.Fatalf("check of an empty folder: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("check wrote %d entries", len(entries))
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Fatalf("check after a run: %v", err)
	}
	stale := filepath.Join(dir, "health", "main.go")
	if err := os.WriteFile(stale, []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err == nil || !strings.Contains(err.Error(), stale) {
		t.Errorf("check of a stale main: %v", err)
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(stale)
	want, _ := os.ReadFile(filepath.Join("..", "..", "functions", "health", "main.go"))
	if string(got) != string(want) {
		t.Errorf("rewritten health main differs from functions/health/main.go")
	}
}
