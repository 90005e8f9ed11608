package benefits

import (
	"errors"
	"testing"
)

// FuzzSeqCursor: the feed's cursor decoder never panics, accepts only what
// its encoder could have made, and gives back what was encoded.
func FuzzSeqCursor(f *testing.F) {
	f.Add(encodeSeqCursor(0), int64(0))
	f.Add(encodeSeqCursor(42), int64(9_223_372_036_854_775_807))
	f.Add("ZjE6LTE", int64(-1)) // f1:-1
	f.Add("!!", int64(7))
	f.Fuzz(func(t *testing.T, c string, n int64) {
		got, err := decodeSeqCursor(c)
		if err != nil && !errors.Is(err, ErrInvalidFeedCursor) {
			t.Fatalf("decodeSeqCursor(%q) error %v, want ErrInvalidFeedCursor", c, err)
		}
		if err == nil {
			if got < 0 {
				t.Fatalf("decodeSeqCursor(%q) = %d, a negative position", c, got)
			}
			if again, err := decodeSeqCursor(encodeSeqCursor(got)); err != nil || again != got {
				t.Fatalf("%d re-encoded decodes to %d, %v", got, again, err)
			}
		}
		if cerr := CheckFeedCursor(c); (cerr == nil) != (err == nil || c == "") {
			t.Fatalf("CheckFeedCursor(%q) = %v, but decoding gives %v", c, cerr, err)
		}
		if n >= 0 {
			if back, err := decodeSeqCursor(encodeSeqCursor(n)); err != nil || back != n {
				t.Fatalf("encode(%d) decodes to %d, %v", n, back, err)
			}
		}
	})
}

// FuzzStringCursor: the lists' cursor decoder never panics, yields only
// valid ids, and round-trips every valid id.
func FuzzStringCursor(f *testing.F) {
	f.Add(encodeStringCursor("demo-lunch"), "demo-lunch")
	f.Add("YjE6", "") // b1: with nothing after it
	f.Add("YjE6Li4v", "../")
	f.Fuzz(func(t *testing.T, c, id string) {
		got, err := decodeStringCursor(c)
		if err != nil && !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("decodeStringCursor(%q) error %v, want ErrInvalidCursor", c, err)
		}
		if err == nil {
			if !ValidID(got) {
				t.Fatalf("decodeStringCursor(%q) = %q, not a valid id", c, got)
			}
			if again, err := decodeStringCursor(encodeStringCursor(got)); err != nil || again != got {
				t.Fatalf("%q re-encoded decodes to %q, %v", got, again, err)
			}
		}
		if ValidID(id) {
			if back, err := decodeStringCursor(encodeStringCursor(id)); err != nil || back != id {
				t.Fatalf("encode(%q) decodes to %q, %v", id, back, err)
			}
		}
	})
}
