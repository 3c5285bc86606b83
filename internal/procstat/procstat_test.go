package procstat

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	self, ok := Read(os.Getpid())
	if !ok {
		t.Fatal("Read(self): not ok")
	}
	// The state is the main thread's, which may sleep while this goroutine
	// runs on another: running or sleeping, never a zombie.
	if self.PPID != os.Getppid() || !strings.ContainsRune("RS", rune(self.State)) || self.Started == 0 {
		t.Errorf("Read(self) = %+v, want ppid %d, state R or S, a start time", self, os.Getppid())
	}
	// A busy child's CPU reaches our CUTime once it is waited for.
	if err := exec.Command("sh", "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`).Run(); err != nil {
		t.Fatal(err)
	}
	after, _ := Read(os.Getpid())
	if after.CUTime+after.CSTime <= self.CUTime+self.CSTime {
		t.Errorf("children's CPU did not grow: %+v then %+v", self, after)
	}
	start := time.Now()
	for x := 0; time.Since(start) < 100*time.Millisecond; x++ {
	}
	if busy, _ := Read(os.Getpid()); busy.UTime+busy.STime <= self.UTime+self.STime {
		t.Errorf("own CPU did not grow: %+v then %+v", self, busy)
	}
	if _, ok := Read(-1); ok {
		t.Error("Read(-1): ok")
	}
}

func TestAll(t *testing.T) {
	all, ok := All()
	if !ok {
		t.Fatal("All: not ok")
	}
	self, ok := all[os.Getpid()]
	if !ok || self.PPID != os.Getppid() {
		t.Errorf("All()[self] = %+v, %v; want ppid %d", self, ok, os.Getppid())
	}
}
