package relay

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrClosed is Send's error once the MemoryQueue is closed.
var ErrClosed = errors.New("relay: queue closed")

// DefaultFaultPause is how long a MemoryQueue waits before handing back a
// message whose handling faulted.
const DefaultFaultPause = 2 * time.Second

// MemoryQueue is the local run's delivery queue: an in-process delay queue
// whose workers hand each due message to a Handler (the Worker), put it
// back after the retry delay Handle returns, or after FaultPause when
// Handle faults. Its messages live in memory only: those pending when the
// process stops are lost, and the relay's sweep (Relay.Sweep) resends them
// once they are overdue.
type MemoryQueue struct {
	h          Handler
	faultPause time.Duration
	log        *slog.Logger

	ctx    context.Context // the handlers'; cancelled by Close
	cancel context.CancelFunc
	stop   chan struct{} // closed by Close: workers stop taking messages
	wake   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	items  delayHeap
	seq    uint64
	closed bool
}

// MemoryQueueConfig configures NewMemoryQueue.
type MemoryQueueConfig struct {
	// Workers is how many messages are handled at once (default 4).
	Workers int
	// FaultPause (DefaultFaultPause when zero).
	FaultPause time.Duration
	// Log receives the faults; nil means slog.Default().
	Log *slog.Logger
}

// NewMemoryQueue starts a queue handing messages to h. Close stops it.
func NewMemoryQueue(h Handler, cfg MemoryQueueConfig) *MemoryQueue {
	workers := cfg.Workers
	if workers <= 0 {
		workers = 4
	}
	q := &MemoryQueue{
		h:          h,
		faultPause: orDefault(cfg.FaultPause, DefaultFaultPause),
		log:        cfg.Log,
		stop:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
	}
	if q.log == nil {
		q.log = slog.Default()
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.wg.Add(workers)
	for range workers {
		go q.work()
	}
	return q
}

// Send enqueues refs, due after delay.
func (q *MemoryQueue) Send(_ context.Context, refs []DeliveryRef, delay time.Duration) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	due := time.Now().Add(delay)
	for _, r := range refs {
		q.pushLocked(r, due)
	}
	q.mu.Unlock()
	q.signal()
	return nil
}

// Len is how many messages wait (due or not), not counting those being
// handled.
func (q *MemoryQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Close stops taking messages and waits for those being handled, until ctx
// ends; then it cancels their context and returns ctx's error. Messages
// still waiting are dropped.
func (q *MemoryQueue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	defer q.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		q.cancel()
		<-done
		return ctx.Err()
	}
}

func (q *MemoryQueue) pushLocked(r DeliveryRef, due time.Time) {
	q.seq++
	heap.Push(&q.items, delayed{ref: r, due: due, seq: q.seq})
}

func (q *MemoryQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next waits for a due message and takes it; false when the queue stops.
func (q *MemoryQueue) next() (DeliveryRef, bool) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return DeliveryRef{}, false
		}
		var wait time.Duration = -1
		if len(q.items) > 0 {
			wait = time.Until(q.items[0].due)
			if wait <= 0 {
				it := heap.Pop(&q.items).(delayed)
				more := len(q.items) > 0
				q.mu.Unlock()
				if more {
					// Another worker takes the next one, or waits for it.
					q.signal()
				}
				return it.ref, true
			}
		}
		q.mu.Unlock()
		var timeout <-chan time.Time
		if wait > 0 {
			if t == nil {
				t = time.NewTimer(wait)
			} else {
				t.Reset(wait)
			}
			timeout = t.C
		}
		select {
		case <-q.stop:
			return DeliveryRef{}, false
		case <-q.wake:
		case <-timeout:
		}
	}
}

func (q *MemoryQueue) work() {
	defer q.wg.Done()
	for {
		ref, ok := q.next()
		if !ok {
			return
		}
		retry, err := q.handle(ref)
		if err != nil {
			q.log.Error("delivery queue: handle delivery", slog.String("delivery", ref.ID.String()), slog.String("error", err.Error()))
			retry = q.faultPause
		}
		if retry <= 0 {
			continue
		}
		q.mu.Lock()
		if !q.closed {
			q.pushLocked(ref, time.Now().Add(retry))
		}
		q.mu.Unlock()
		q.signal()
	}
}

// handle runs the Handler, a panic counting as a fault.
func (q *MemoryQueue) handle(ref DeliveryRef) (retry time.Duration, err error) {
	defer func() {
		if p := recover(); p != nil {
			retry, err = 0, errors.New("panic handling delivery")
			q.log.Error("delivery queue: panic", slog.Any("panic", p), slog.String("delivery", ref.ID.String()))
		}
	}()
	return q.h.Handle(q.ctx, ref)
}

type delayed struct {
	ref DeliveryRef
	due time.Time
	seq uint64 // FIFO among equal due times
}

type delayHeap []delayed

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)   { *h = append(*h, x.(delayed)) }
func (h *delayHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
