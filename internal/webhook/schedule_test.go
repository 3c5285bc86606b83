package webhook

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Worst-case jitter: rnd returning 0 takes nothing off, rnd returning
// almost 1 takes off almost Jitter.
var (
	noJitter   = func() float64 { return 0 }
	mostJitter = func() float64 { return 0.9999999 }
)

func total(s Schedule, rnd func() float64) time.Duration {
	var d time.Duration
	for n := 1; !s.Dead(n); n++ {
		d += s.Delay(n, rnd)
	}
	return d
}

func TestScheduleDelay(t *testing.T) {
	s := AWSSchedule
	want := []time.Duration{2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360}
	for i, w := range want {
		if got := s.Delay(i+1, noJitter); got != w*time.Minute {
			t.Errorf("Delay(%d) without jitter = %v, want %v", i+1, got, w*time.Minute)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		prevMax := time.Duration(0)
		for n := 1; n <= 40; n++ {
			d := s.Delay(n, rng.Float64)
			hi := s.Delay(n, noJitter)
			lo := s.Delay(n, mostJitter)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, lo, hi)
			}
			if d > s.Cap {
				t.Fatalf("Delay(%d) = %v over the cap %v", n, d, s.Cap)
			}
			if lo < time.Duration(float64(hi)*(1-Jitter))-1 {
				t.Fatalf("Delay(%d) jitter takes off more than %v", n, Jitter)
			}
			if hi < prevMax {
				t.Fatalf("Delay(%d) = %v shrinks from %v", n, hi, prevMax)
			}
			prevMax = hi
		}
	}
	if d := s.Delay(0, noJitter); d != s.Base {
		t.Errorf("Delay(0) = %v, want Base", d)
	}
	if d := s.Delay(1000, noJitter); d != s.Cap {
		t.Errorf("Delay(1000) = %v, want Cap", d)
	}
	if d := (Schedule{Base: time.Hour}).Delay(200, noJitter); d <= 0 {
		t.Errorf("uncapped Delay(200) = %v overflows", d)
	}
	if d := s.Delay(3, nil); d < s.Delay(3, mostJitter) || d > s.Delay(3, noJitter) {
		t.Errorf("Delay with math/rand = %v", d)
	}
}

func TestScheduleDead(t *testing.T) {
	s := AWSSchedule
	for n := 1; n < s.Attempts; n++ {
		if s.Dead(n) {
			t.Errorf("Dead(%d) with %d attempts", n, s.Attempts)
		}
	}
	if !s.Dead(s.Attempts) || !s.Dead(s.Attempts+1) {
		t.Errorf("not Dead(%d) with %d attempts", s.Attempts, s.Attempts)
	}
}

func TestScheduleTotals(t *testing.T) {
	hi, lo := total(AWSSchedule, noJitter), total(AWSSchedule, mostJitter)
	t.Logf("AWS: %d attempts over %v to %v", AWSSchedule.Attempts, lo.Round(time.Minute), hi)
	if hi != 1590*time.Minute {
		t.Errorf("AWS nominal total %v, want 1590 min as documented", hi)
	}
	if lo < 20*time.Hour || hi > 30*time.Hour {
		t.Errorf("AWS total from %v to %v, want within 20 h to 30 h", lo, hi)
	}

	local := LocalSchedule(0)
	if local != LocalSchedule(time.Second) || local.Attempts != AWSSchedule.Attempts {
		t.Errorf("LocalSchedule(0) = %+v", local)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 180, 180, 180}
	for i, w := range want {
		if got := local.Delay(i+1, noJitter); got != w*time.Second {
			t.Errorf("local Delay(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
	if got := total(local, noJitter); got != 795*time.Second {
		t.Errorf("local nominal total %v, want 795 s as documented", got)
	}
	if LocalSchedule(2*time.Minute) != AWSSchedule {
		t.Error("AWSSchedule is not LocalSchedule's shape on 2 minutes")
	}
}
