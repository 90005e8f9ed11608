package store

import (
	"errors"
	"fmt"
	"testing"
)

// safeToRetryErr is an error pgx would call safe to retry.
type safeToRetryErr struct{}

func (safeToRetryErr) Error() string     { return "conn closed" }
func (safeToRetryErr) SafeToRetry() bool { return true }

// pgx calls a COMMIT lost mid-flight ("conn closed", simple protocol) safe
// to retry, although it may have taken effect: a failed commit is never
// "unavailable", so the caller answers 500, not 503 "repeat safely".
func TestFailedCommitIsNeverUnavailable(t *testing.T) {
	if !IsUnavailable(fmt.Errorf("query: %w", safeToRetryErr{})) {
		t.Fatal("a statement pgx calls safe to retry is not unavailable")
	}
	err := fmt.Errorf("push list: %w", &commitError{err: safeToRetryErr{}})
	if IsUnavailable(err) {
		t.Fatal("a failed COMMIT counted as unavailable")
	}
	if !errors.Is(err, safeToRetryErr{}) {
		t.Fatal("the commit error hides its cause")
	}
}
