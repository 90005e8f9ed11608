package storetest

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Proxy forwards TCP connections to the test's PostgreSQL server and can
// reset them, as a restarted connection pooler or load balancer, or a
// firewall dropping idle connections, does; or stall them, as a network
// that stops delivering does.
type Proxy struct {
	upstream string
	ln       net.Listener
	wg       sync.WaitGroup

	mu      sync.Mutex
	conns   []*net.TCPConn // both ends of every forwarded connection
	stalled bool
	resume  *sync.Cond // signalled when stalled ends
}

// NewProxy starts a proxy to the server of dbURL (a database NewDatabase
// made) and returns it with dbURL changed to go through it. The proxy
// stops at the end of the test.
func NewProxy(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{upstream: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), ln: ln}
	p.resume = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.Reset()
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		client, server := c.(*net.TCPConn), up.(*net.TCPConn)
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		for _, pair := range [][2]*net.TCPConn{{client, server}, {server, client}} {
			p.wg.Go(func() {
				p.forward(pair[0], pair[1])
				pair[0].Close()
				pair[1].Close()
			})
		}
	}
}

// forward copies src to dst, holding what it read while the proxy is
// stalled.
func (p *Proxy) forward(dst, src *net.TCPConn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.resume.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Stall stops delivering data either way on every connection, which stay
// open, until Reset.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Reset ends every connection made through the proxy so far with a TCP
// reset, so that the client's next write on it fails at once, before
// anything reaches the server; and ends a stall.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.resume.Broadcast()
	for _, c := range p.conns {
		_ = c.SetLinger(0) // close with RST, not FIN
		c.Close()
	}
	p.conns = nil
}
