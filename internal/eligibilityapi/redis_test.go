package eligibilityapi_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// privateRedis runs a redis-server of the test's own on a free port, so
// that the test can stop it without touching the shared one.
type privateRedis struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, addr string) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &privateRedis{t: t, addr: addr, cmd: cmd}
	t.Cleanup(r.stop)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if rdb.Ping(context.Background()).Err() == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *privateRedis) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func metric(t *testing.T, e *env, name string) string {
	t.Helper()
	res := e.h.Do("GET", "/metrics", "", nil)
	for _, line := range strings.Split(string(res.Body), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimPrefix(line, name+" ")
		}
	}
	return ""
}

// TestRedisStoppedMidTest stops the gateway's Redis between checks: the
// answers stay the same (from the registries), the metrics say the cache
// is degraded, and the gateway picks Redis up again when it returns.
func TestRedisStoppedMidTest(t *testing.T) {
	t.Parallel()
	r := startRedis(t, "")
	e := newEnv(t, func(c *config.Config) { c.RedisAddr = r.addr })
	pensioner := code(t, "1945-05-05", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-05-05", riga))
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})

	want := e.check(e.provider, byCode(pensioner), rideLine)
	if want.status("riga-pensioner-ride") != "applies" {
		t.Fatalf("decision %+v", want)
	}
	seq := e.mock.LastSeq()
	if d := e.check(e.provider, byCode(pensioner), rideLine); d.status("riga-pensioner-ride") != "applies" {
		t.Fatalf("warm: %+v", d)
	}
	if n := len(e.mock.Journal("", seq)); n != 0 {
		t.Errorf("a warm check asked the registries %d times", n)
	}

	t.Run("flushing the cache changes nothing", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: r.addr})
		defer rdb.Close()
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		if d := e.check(e.provider, byCode(pensioner), rideLine); d.status("riga-pensioner-ride") != "applies" || d.TotalDiscountCents != want.TotalDiscountCents {
			t.Errorf("after a flush: %+v", d)
		}
	})

	r.stop()
	t.Run("Redis down: same answers, slower, and it shows", func(t *testing.T) {
		for i := range 3 {
			start := time.Now()
			d := e.check(e.provider, byCode(pensioner), rideLine)
			if d.status("riga-pensioner-ride") != "applies" || d.TotalDiscountCents != want.TotalDiscountCents {
				t.Fatalf("check %d without Redis: %+v", i, d)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("check %d without Redis took %s", i, took)
			}
		}
		if v := metric(t, e, "avis_eligibility_cache_degraded"); v != "1" {
			t.Errorf("avis_eligibility_cache_degraded = %q, want 1", v)
		}
		if v := metric(t, e, "avis_eligibility_cache_errors_total"); v == "" || v == "0" {
			t.Errorf("avis_eligibility_cache_errors_total = %q", v)
		}
		// Identification means and transactions do not need Redis either.
		if res := e.h.Do("PUT", "/v1/means/etalons/ET-7777", e.grantor, map[string]any{"personCode": pensioner}); res.Status != 201 {
			t.Fatalf("register means without Redis: %d %s", res.Status, res.Body)
		}
		d := e.check(e.provider, byMeans("etalons", "ET-7777"), rideLine)
		res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("riga-pensioner-ride", 150)), "Idempotency-Key", "no-redis-0001")
		if res.Status != 201 {
			t.Errorf("transaction without Redis: %d %s", res.Status, res.Body)
		}
	})

	t.Run("Redis back", func(t *testing.T) {
		startRedis(t, r.addr)
		deadline := time.Now().Add(5 * time.Second)
		for metric(t, e, "avis_eligibility_cache_degraded") != "0" {
			if time.Now().After(deadline) {
				t.Fatal("the cache did not come back into use")
			}
			time.Sleep(200 * time.Millisecond)
			e.check(e.provider, byCode(pensioner), rideLine)
		}
		e.check(e.provider, byCode(pensioner), rideLine)
		seq := e.mock.LastSeq()
		if d := e.check(e.provider, byCode(pensioner), rideLine); d.status("riga-pensioner-ride") != "applies" {
			t.Fatalf("%+v", d)
		}
		if n := len(e.mock.Journal("", seq)); n != 0 {
			t.Errorf("with Redis back, a warm check still asked the registries %d times", n)
		}
	})
}
