package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The open-loop mode speaks HTTP/1.1 over kept-alive connections itself,
// with every request rendered before the run: net/http's client costs
// several times the CPU of the requests it measures, and on a machine the
// load generator shares with the gateway that cost shows up as the
// gateway's latency.

// renderRequests renders one request per code (or one without codes).
func renderRequests(target *url.URL, method string, body []byte, cs *codes, hdrs []string) [][]byte {
	path := target.RequestURI()
	one := func(b []byte) []byte { return rawRequest(method, target, path, hdrs, b) }
	if len(cs.list) == 0 || !bytes.Contains(body, []byte("{{code}}")) {
		return [][]byte{one(body)}
	}
	out := make([][]byte, len(cs.list))
	for i, c := range cs.list {
		out[i] = one(bytes.ReplaceAll(body, []byte("{{code}}"), []byte(c)))
	}
	return out
}

type rawConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	// keepBody makes exchange keep the response body in body.
	keepBody bool
	body     []byte
}

func (rc *rawConn) roundTrip(req []byte) (int, error) {
	if rc.c == nil {
		c, err := net.Dial("tcp", rc.addr)
		if err != nil {
			return 0, err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	status, err := rc.exchange(req)
	if err != nil {
		rc.c.Close()
		rc.c = nil
	}
	return status, err
}

// exchange writes one request and reads its whole response.
func (rc *rawConn) exchange(req []byte) (int, error) {
	if _, err := rc.c.Write(req); err != nil {
		return 0, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, err = strconv.Atoi(string(v))
			if err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	rc.body = rc.body[:0]
	switch {
	case chunked && rc.keepBody:
		return 0, errors.New("chunked responses are not kept")
	case chunked:
		for {
			l, err := rc.r.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(l, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("bad chunk size %q", l)
			}
			if _, err := rc.r.Discard(int(size) + 2); err != nil {
				return 0, err
			}
			if size == 0 {
				break
			}
		}
	case length >= 0 && rc.keepBody:
		rc.body = append(rc.body[:0], make([]byte, length)...)
		if _, err := io.ReadFull(rc.r, rc.body); err != nil {
			return 0, err
		}
	case length >= 0:
		if _, err := rc.r.Discard(length); err != nil {
			return 0, err
		}
	default:
		return 0, errors.New("response without a length")
	}
	if closing {
		return status, io.EOF // the next request needs a new connection
	}
	return status, nil
}

// runOpenLoop sends request i at start + i/rate whether or not earlier ones
// have finished, over at most conns connections, and counts each
// request's latency from its scheduled time (no coordinated omission).
func runOpenLoop(target *url.URL, reqs [][]byte, cycle bool, rate, conns int, dur time.Duration) (*stats, time.Duration, bool) {
	var st stats
	st.latencies = make([]time.Duration, 0, int(dur.Seconds()*float64(rate))+1)
	interval := time.Second / time.Duration(rate)
	total := int64(dur / interval)
	var next atomic.Int64
	var exhausted atomic.Bool
	start := time.Now().Add(10 * time.Millisecond)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			rc := &rawConn{addr: target.Host}
			defer func() {
				if rc.c != nil {
					rc.c.Close()
				}
			}()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				k := int(i)
				if k >= len(reqs) {
					if !cycle && len(reqs) > 1 {
						exhausted.Store(true)
						return
					}
					k %= len(reqs)
				}
				// A request that is late because every connection was busy
				// counts from its slot; one whose connection was idle counts
				// from when it was sent, as time.Sleep oversleeps by up to a
				// millisecond on some virtual machines.
				from := start.Add(time.Duration(i) * interval)
				if d := time.Until(from); d > 0 {
					time.Sleep(d)
					from = time.Now()
				}
				status, err := rc.roundTrip(reqs[k])
				if errors.Is(err, io.EOF) && status != 0 {
					err = nil
				}
				st.add(result{latency: time.Since(from), status: status, err: err})
			}
		})
	}
	wg.Wait()
	return &st, dur, exhausted.Load()
}

// rawRequest renders one request.
func rawRequest(method string, target *url.URL, path string, headers []string, body []byte) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, target.Host)
	for _, h := range headers {
		buf.WriteString(h)
		buf.WriteString("\r\n")
	}
	if body != nil {
		fmt.Fprintf(&buf, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	buf.WriteString("\r\n")
	buf.Write(body)
	return buf.Bytes()
}
