package webhook

import (
	"math/rand/v2"
	"time"
)

// Schedule is when failed attempts are retried: after attempt n fails, the
// next comes Delay(n) later, unless Dead(n).
type Schedule struct {
	// Base is the delay after the first failure; it doubles with every
	// further failure, up to Cap (0: no cap).
	Base, Cap time.Duration
	// Attempts is how many attempts are made in all before the delivery is
	// dead-lettered.
	Attempts int
}

// AWSSchedule is the schedule in Lambda: 12 attempts, 11 delays of 2, 4, 8,
// 16, 32, 64, 128 and 256 minutes then 6 h three times: 1590 min ≈ 26.5 h
// nominal, 21.2 h with the most jitter, so a delivery is dead-lettered about
// a day after its event (plus the attempts' own durations).
//
// (Base 1 min would total 20.5 h nominal and 16.4 h at worst: under a day.)
var AWSSchedule = Schedule{Base: 2 * time.Minute, Cap: 6 * time.Hour, Attempts: 12}

// LocalSchedule is the schedule for make run: AWSSchedule's shape on base
// (default 1 s when base ≤ 0) instead of 2 minutes: 12 attempts, delays of
// base, 2·base, 4·base … capped at 180·base. With base 1 s: 1, 2, 4 … 128 s
// then 180 s three times, 795 s ≈ 13 min nominal in all.
func LocalSchedule(base time.Duration) Schedule {
	if base <= 0 {
		base = time.Second
	}
	return Schedule{Base: base, Cap: 180 * base, Attempts: AWSSchedule.Attempts}
}

// Jitter is the fraction Delay takes off at most: a delay is between
// (1-Jitter)·d and d, d the exponential delay, so jittered delays never
// exceed Cap.
const Jitter = 0.2

// Delay returns how long to wait after attempt n (1 for the first) failed:
// min(Base·2^(n-1), Cap), less up to Jitter of it at random. rnd returns a
// number in [0, 1); nil is math/rand/v2's Float64.
func (s Schedule) Delay(n int, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	limit := s.Cap
	if limit <= 0 {
		limit = time.Duration(1<<63 - 1)
	}
	d := s.Base
	for i := 1; i < n && d < limit; i++ {
		if d > limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	r := min(max(rnd(), 0), 1)
	return d - time.Duration(float64(d)*Jitter*r)
}

// Dead reports whether a delivery whose attempt n failed is dead-lettered:
// n ≥ Attempts.
func (s Schedule) Dead(n int) bool { return n >= s.Attempts }
