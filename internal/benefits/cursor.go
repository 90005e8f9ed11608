package benefits

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to clients; a version prefix lets their form change
// later without misreading old ones.

func encodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("f1:" + strconv.FormatInt(seq, 10)))
}

func decodeSeqCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrInvalidFeedCursor
	}
	s, ok := strings.CutPrefix(string(raw), "f1:")
	if !ok {
		return 0, ErrInvalidFeedCursor
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrInvalidFeedCursor
	}
	return n, nil
}

func encodeStringCursor(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("b1:" + s))
}

func decodeStringCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", ErrInvalidCursor
	}
	s, ok := strings.CutPrefix(string(raw), "b1:")
	if !ok || !ValidID(s) {
		return "", ErrInvalidCursor
	}
	return s, nil
}

// CheckFeedCursor reports ErrInvalidFeedCursor for a since that Feed would
// refuse, so that a cached page or a 304 is never the answer to it.
func CheckFeedCursor(since string) error {
	if since == "" {
		return nil
	}
	_, err := decodeSeqCursor(since)
	return err
}
