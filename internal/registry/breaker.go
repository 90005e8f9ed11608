package registry

import (
	"sync"
	"time"
)

// BreakerState is the state of a circuit breaker.
type BreakerState int

const (
	// Closed: requests flow.
	Closed BreakerState = iota
	// HalfOpen: one probe request is let through to test the registry.
	HalfOpen
	// Open: requests fail at once until the open period ends.
	Open
)

func (s BreakerState) String() string {
	switch s {
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "closed"
}

// breaker opens after threshold consecutive failures, stays open for
// openFor, then lets a single probe through: its success closes the
// breaker, its failure opens it again. A registry that is down thus costs
// callers nothing but a map lookup, instead of a timeout each.
type breaker struct {
	threshold int
	openFor   time.Duration
	now       func() time.Time
	onChange  func(BreakerState)

	mu       sync.Mutex
	state    BreakerState
	gen      uint64 // advances with every change of state
	failures int
	openedAt time.Time
	probing  bool
}

// ticket is what allow gives an allowed request, to hand back to done: the
// generation of the breaker it was allowed in, and whether it is the
// half-open probe. Requests outlive state changes (a slow one allowed
// while closed may end while a probe is out), and only results about the
// breaker's current state may move it.
type ticket struct {
	gen   uint64
	probe bool
}

func newBreaker(threshold int, openFor time.Duration, now func() time.Time, onChange func(BreakerState)) *breaker {
	if onChange == nil {
		onChange = func(BreakerState) {}
	}
	return &breaker{threshold: threshold, openFor: openFor, now: now, onChange: onChange}
}

// allow reports whether a request may go out. When it does, the caller
// must report the outcome with done and the ticket.
func (b *breaker) allow() (ticket, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return ticket{gen: b.gen}, true
	case Open:
		if b.now().Sub(b.openedAt) < b.openFor {
			return ticket{}, false
		}
		b.set(HalfOpen)
		fallthrough
	default: // HalfOpen
		if b.probing {
			return ticket{}, false
		}
		b.probing = true
		return ticket{gen: b.gen, probe: true}, true
	}
}

// done records the outcome of an allowed request. The result of a request
// allowed before the last change of state says nothing about the registry
// since: it is ignored.
func (b *breaker) done(t ticket, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return
	}
	if t.probe {
		b.probing = false
		if ok {
			b.failures = 0
			b.set(Closed)
		} else {
			b.openedAt = b.now()
			b.set(Open)
		}
		return
	}
	if ok {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openedAt = b.now()
		b.set(Open)
	}
}

// State returns the current state.
func (b *breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *breaker) set(s BreakerState) {
	if b.state != s {
		b.state = s
		b.gen++
		b.onChange(s)
	}
}
