package benefits

import (
	"errors"
	"testing"
)

// Each kind of cursor fails with its own error, so the HTTP layer names the
// parameter that carried it (cursor for lists, since for the feed).
func TestCursorErrors(t *testing.T) {
	tests := []struct {
		name    string
		decode  func(string) error
		cursor  string
		wantErr error
	}{
		{"feed garbage", func(c string) error { _, err := decodeSeqCursor(c); return err }, "garbage", ErrInvalidFeedCursor},
		{"feed given a list cursor", func(c string) error { _, err := decodeSeqCursor(c); return err }, encodeStringCursor("b-1"), ErrInvalidFeedCursor},
		{"feed negative", func(c string) error { _, err := decodeSeqCursor(c); return err }, "ZjE6LTE", ErrInvalidFeedCursor},
		{"feed valid", func(c string) error { _, err := decodeSeqCursor(c); return err }, encodeSeqCursor(7), nil},
		{"list garbage", func(c string) error { _, err := decodeStringCursor(c); return err }, "garbage", ErrInvalidCursor},
		{"list given a feed cursor", func(c string) error { _, err := decodeStringCursor(c); return err }, encodeSeqCursor(7), ErrInvalidCursor},
		{"list valid", func(c string) error { _, err := decodeStringCursor(c); return err }, encodeStringCursor("b-1"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.cursor)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("decode = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("decode = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
