package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Concurrent writes each land whole; String sees all of them.
func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, _ = b.Write([]byte("line\n"))
			_ = b.String()
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("line\n", 50) {
		t.Errorf("String() = %q", got)
	}
}
