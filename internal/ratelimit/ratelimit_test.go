package ratelimit

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
)

func count(t *testing.T, l *Limiter) float64 {
	var m dto.Metric
	if err := l.errors.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// While Redis cannot answer, requests are allowed and the error counted.
func TestFailsOpen(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	l, err := New(Config{Redis: rdb, Name: "t", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if ok, _ := l.Allow(context.Background(), "k"); !ok {
			t.Fatal("refused while Redis is down")
		}
	}
	if n := count(t, l); n != 3 {
		t.Errorf("errors counted: %v", n)
	}
}

// A Redis that takes the connection and never answers costs a token
// request a fraction of a second, whatever its client's own timeouts.
func TestRedisThatHangsIsNotWaitedFor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: 5 * time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	l, err := New(Config{Redis: rdb, Name: "t", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if ok, _ := l.Allow(context.Background(), "k"); !ok || time.Since(start) > time.Second {
		t.Errorf("allowed %v after %s", ok, time.Since(start))
	}
}

// Against the real Redis: the budget is per key and window, and the wait is
// what is left of the window.
func TestBudgetPerKeyAndWindow(t *testing.T) {
	addr := os.Getenv("AVIS_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("connect to Redis (run scripts/services.sh): %v", err)
	}
	prefix := fmt.Sprintf("test-ratelimit-%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	now := time.Unix(1_800_000_000, 0).Add(45 * time.Second) // 45 s into a minute
	l, err := New(Config{Redis: rdb, Prefix: prefix, Name: "t", Limit: 2, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if ok, _ := l.Allow(ctx, "a"); !ok {
			t.Fatal("refused within the budget")
		}
	}
	if ok, wait := l.Allow(ctx, "a"); ok || wait != 15*time.Second {
		t.Fatalf("third request: allowed %v, wait %s", ok, wait)
	}
	if ok, _ := l.Allow(ctx, "b"); !ok {
		t.Fatal("another key refused")
	}
	now = now.Add(15 * time.Second) // the next window
	if ok, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("refused in a new window")
	}
}
