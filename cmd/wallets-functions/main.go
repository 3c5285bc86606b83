// Command wallets-functions writes functions/<Function>/main.go for every
// route of the route table (see internal/mains), or with -check lists the
// ones that differ and exits 1. `make functions` runs it from the module
// root.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"wallets/internal/mains"
)

func main() {
	dir := flag.String("dir", "functions", "the folder of the functions")
	check := flag.Bool("check", false, "write nothing; list the mains that differ and exit 1 if any")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "wallets-functions:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	all, err := mains.All()
	if err != nil {
		return err
	}
	var stale []string
	for _, fn := range slices.Sorted(maps.Keys(all)) {
		path := filepath.Join(dir, fn, "main.go")
		have, err := os.ReadFile(path)
		if err == nil && bytes.Equal(have, all[fn]) {
			continue
		}
		if check {
			stale = append(stale, path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, all[fn], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	if len(stale) > 0 {
		return fmt.Errorf("out of date (run `make functions`): %v", stale)
	}
	return nil
}
