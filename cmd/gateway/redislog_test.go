package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// While Redis is down go-redis reports every failed dial; the log keeps
// one line per interval and counts the rest.
func TestRedisLogIsRateLimited(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &redisLog{log: slog.New(slog.NewJSONHandler(&out, nil)), every: 10 * time.Second, now: func() time.Time { return now }}
	for range 50 {
		r.Printf(context.Background(), "dial tcp %s: connection refused", "127.0.0.1:6379")
		now = now.Add(time.Second)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines for 50 messages over 50 s, want 5:\n%s", len(lines), out.String())
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if second["suppressed_since_last"] != float64(9) || !strings.Contains(second["message"].(string), "connection refused") {
		t.Fatalf("second line %v", second)
	}
}
