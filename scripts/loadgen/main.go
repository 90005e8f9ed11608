// Command loadgen drives the gateway for the eligibility and transaction
// benchmarks:
//
//	loadgen rate   -url URL -rate N -d 10s -body-file F [-codes FILE] [-H 'K: V']...
//	loadgen closed -url URL -c N -d 10s -body-file F [-codes FILE] [-H 'K: V']...
//	loadgen transactions -base URL -token T -codes FILE -decisions N -c N [-receipts N]
//
// rate is open-loop over raw connections (raw.go): requests start on a
// fixed schedule whether or not earlier ones have finished, and a request
// that had to wait for a free connection counts from its scheduled start,
// so a stall shows in the percentiles instead of slowing the load (no
// coordinated omission). closed keeps c requests in flight. A body may
// hold {{code}}, replaced by the next personal code of -codes (each used
// once, in order, so that every request asks about a different person).
//
// transactions first gets -decisions eligibility decisions, then reports a
// transaction for each as fast as c connections allow, each with its own
// Idempotency-Key, and finally fetches a sample of the signed receipts.
//
// Every mode prints one line of key=value pairs for the scripts to read.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen rate|closed|transactions [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rate", "closed":
		err = runHTTP(os.Args[1], os.Args[2:])
	case "transactions":
		err = runTransactions(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func newClient(conns int) *http.Client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: 0,
		IdleConnTimeout: time.Minute, DisableCompression: true}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// codes hands out personal codes, each once.
type codes struct {
	list  []string
	next  atomic.Int64
	cycle bool
}

func loadCodes(file string) (*codes, error) {
	if file == "" {
		return &codes{}, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c := &codes{}
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			c.list = append(c.list, l)
		}
	}
	if len(c.list) == 0 {
		return nil, fmt.Errorf("%s holds no codes", file)
	}
	return c, nil
}

// take returns the next code; ok is false when they ran out.
func (c *codes) take() (string, bool) {
	if len(c.list) == 0 {
		return "", true
	}
	i := int(c.next.Add(1) - 1)
	if c.cycle {
		i %= len(c.list)
	}
	if i >= len(c.list) {
		return "", false
	}
	return c.list[i], true
}

type result struct {
	latency time.Duration
	status  int
	err     error
}

type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	non2xx    int
	statuses  map[int]int
}

func (s *stats) add(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	switch {
	case r.err != nil:
		s.errors++
	case r.status >= 300:
		s.non2xx++
		s.statuses[r.status]++
	}
	s.latencies = append(s.latencies, r.latency)
}

func (s *stats) line(mode string, elapsed time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	pct := func(p float64) string {
		if len(l) == 0 {
			return "0"
		}
		i := int(float64(len(l))*p+0.5) - 1
		i = max(0, min(i, len(l)-1))
		return fmt.Sprintf("%.3f", float64(l[i].Microseconds())/1000)
	}
	var bad []string
	for code, n := range s.statuses {
		bad = append(bad, fmt.Sprintf("%d:%d", code, n))
	}
	slices.Sort(bad)
	return fmt.Sprintf("mode=%s requests=%d rps=%.0f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s errors=%d non2xx=%d statuses=%s",
		mode, len(l), float64(len(l))/elapsed.Seconds(), pct(0.5), pct(0.9), pct(0.99), pct(1), s.errors, s.non2xx, strings.Join(bad, ","))
}

func do(ctx context.Context, client *http.Client, method, url string, body []byte, hdrs []string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

func runHTTP(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	target := fs.String("url", "", "URL to send to")
	method := fs.String("method", "POST", "HTTP method")
	bodyFile := fs.String("body-file", "", "request body ({{code}} is replaced)")
	codesFile := fs.String("codes", "", "personal codes, one a line, for {{code}}")
	cycle := fs.Bool("cycle", false, "reuse the codes round and round instead of each once")
	rate := fs.Int("rate", 1000, "requests per second (rate mode)")
	conns := fs.Int("c", 32, "requests in flight (closed mode) or most in flight (rate mode)")
	dur := fs.Duration("d", 10*time.Second, "duration")
	var hdrs headers
	fs.Var(&hdrs, "H", "header 'Name: value' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var body []byte
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		body = b
	}
	cs, err := loadCodes(*codesFile)
	if err != nil {
		return err
	}
	cs.cycle = *cycle
	if mode == "rate" {
		u, err := url.Parse(*target)
		if err != nil {
			return err
		}
		st, elapsed, ranOut := runOpenLoop(u, renderRequests(u, *method, body, cs, hdrs), cs.cycle, *rate, *conns, *dur)
		if ranOut {
			fmt.Fprintln(os.Stderr, "loadgen: ran out of personal codes before the end")
		}
		fmt.Println(st.line(mode, elapsed))
		return nil
	}
	templated := bytes.Contains(body, []byte("{{code}}"))
	client := newClient(*conns)
	var st stats
	var exhausted atomic.Bool
	one := func(ctx context.Context) {
		start := time.Now()
		b := body
		if templated {
			c, ok := cs.take()
			if !ok {
				exhausted.Store(true)
				return
			}
			b = bytes.ReplaceAll(body, []byte("{{code}}"), []byte(c))
		}
		status, _, err := do(ctx, client, *method, *target, b, hdrs)
		if ctx.Err() != nil {
			return // cut off by the end of the run, not a result
		}
		st.add(result{latency: time.Since(start), status: status, err: err})
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur+5*time.Second)
	defer cancel()
	start := time.Now()
	end := start.Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for time.Now().Before(end) && !exhausted.Load() {
				one(ctx)
			}
		})
	}
	wg.Wait()
	elapsed := min(time.Since(start), *dur)
	if exhausted.Load() {
		fmt.Fprintln(os.Stderr, "loadgen: ran out of personal codes before the end")
	}
	fmt.Println(st.line(mode, elapsed))
	return nil
}

type decisionAnswer struct {
	DecisionID string `json:"decisionId"`
	Benefits   []struct {
		BenefitID     string `json:"benefitId"`
		Status        string `json:"status"`
		DiscountCents *int64 `json:"discountCents"`
	} `json:"benefits"`
}

type prepared struct {
	decision string
	benefit  string
	cents    int64
}

func runTransactions(args []string) error {
	fs := flag.NewFlagSet("transactions", flag.ContinueOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "gateway URL")
	token := fs.String("token", "", "provider access token")
	codesFile := fs.String("codes", "", "personal codes of persons a benefit applies to")
	n := fs.Int("decisions", 30000, "decisions to get, and so transactions to report")
	conns := fs.Int("c", 64, "requests in flight")
	samples := fs.Int("receipts", 50, "signed receipts to fetch at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cs, err := loadCodes(*codesFile)
	if err != nil {
		return err
	}
	if len(cs.list) == 0 {
		return errors.New("-codes is required")
	}
	client := newClient(*conns)
	auth := []string{"Authorization: Bearer " + *token}
	ctx := context.Background()

	// Phase 1: decisions.
	line := `[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]`
	preps := make([]prepared, *n)
	var next atomic.Int64
	var failures atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				code := cs.list[i%len(cs.list)]
				body := fmt.Sprintf(`{"person":{"personCode":%q},"pointOfSale":{"id":"bench"},"lines":%s}`, code, line)
				status, out, err := do(ctx, client, "POST", *base+"/v1/eligibility", []byte(body), auth)
				var d decisionAnswer
				if err != nil || status != 200 || json.Unmarshal(out, &d) != nil {
					failures.Add(1)
					continue
				}
				for _, b := range d.Benefits {
					if b.Status == "applies" && b.DiscountCents != nil && *b.DiscountCents > 0 {
						preps[i] = prepared{decision: d.DecisionID, benefit: b.BenefitID, cents: *b.DiscountCents}
						break
					}
				}
			}
		})
	}
	wg.Wait()
	var ready []prepared
	for _, p := range preps {
		if p.decision != "" {
			ready = append(ready, p)
		}
	}
	fmt.Fprintf(os.Stderr, "loadgen: %d decisions with an applying benefit in %s (%d failed checks)\n", len(ready), time.Since(start).Round(time.Millisecond), failures.Load())
	if len(ready) == 0 {
		return errors.New("no decision had a benefit that applies: check the sample persons and benefits")
	}

	// Phase 2: transactions, over raw kept-alive connections (see raw.go).
	target, err := url.Parse(*base)
	if err != nil {
		return err
	}
	var st stats
	var receipts sync.Map
	next.Store(0)
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	start = time.Now()
	for range *conns {
		wg.Go(func() {
			rc := &rawConn{addr: target.Host, keepBody: true}
			defer func() {
				if rc.c != nil {
					rc.c.Close()
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ready) {
					return
				}
				p := ready[i]
				body := fmt.Sprintf(`{"decisionId":%q,"receiptNumber":"B-%d","occurredAt":%q,"totalCents":150,"benefits":[{"benefitId":%q,"discountCents":%d}]}`,
					p.decision, i, time.Now().UTC().Format(time.RFC3339), p.benefit, p.cents)
				req := rawRequest("POST", target, "/v1/transactions", append(auth, fmt.Sprintf("Idempotency-Key: bench-%s-%d", run, i)), []byte(body))
				t0 := time.Now()
				status, err := rc.roundTrip(req)
				if errors.Is(err, io.EOF) && status != 0 {
					err = nil
				}
				st.add(result{latency: time.Since(t0), status: status, err: err})
				if status == 201 && i%max(1, len(ready) / *samples) == 0 {
					var t struct {
						ReceiptID string `json:"receiptId"`
					}
					if json.Unmarshal(rc.body, &t) == nil {
						receipts.Store(i, t.ReceiptID)
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Println(st.line("transactions", elapsed))

	// Phase 3: the receipts exist, signed.
	var fetched, signed int
	var rlat []time.Duration
	receipts.Range(func(_, v any) bool {
		t0 := time.Now()
		status, out, err := do(ctx, client, "GET", *base+"/v1/receipts/"+v.(string), nil, append(auth, "Accept: application/xml"))
		rlat = append(rlat, time.Since(t0))
		fetched++
		if err == nil && status == 200 && bytes.Contains(out, []byte("SignatureValue")) {
			signed++
		}
		return true
	})
	slices.Sort(rlat)
	p99 := time.Duration(0)
	if len(rlat) > 0 {
		p99 = rlat[max(0, int(float64(len(rlat))*0.99+0.5)-1)]
	}
	fmt.Printf("mode=receipts fetched=%d signed=%d p99_ms=%.3f\n", fetched, signed, float64(p99.Microseconds())/1000)
	return nil
}
