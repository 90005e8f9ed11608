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
	failures int
	openedAt time.Time
	probing  bool
}

func newBreaker(threshold int, openFor time.Duration, now func() time.Time, onChange func(BreakerState)) *breaker {
	if onChange == nil {
		onChange = func(BreakerState) {}
	}
	return &breaker{threshold: threshold, openFor: openFor, now: now, onChange: onChange}
}

// allow reports whether a request may go out. When it returns true the
// caller must report the outcome with done.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true
	case Open:
		if b.now().Sub(b.openedAt) < b.openFor {
			return false
		}
		b.set(HalfOpen)
		fallthrough
	default: // HalfOpen
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
}

// done records the outcome of an allowed request.
func (b *breaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == HalfOpen {
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
	if b.state == Closed && b.failures >= b.threshold {
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
		b.onChange(s)
	}
}
