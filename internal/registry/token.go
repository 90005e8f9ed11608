package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// tokenSource keeps the DAGR bearer token. It asks for a new one when a
// third of the old one's life is left, in the background while the old one
// still works, and at once when a registry refuses the old one. After a
// failed request it waits a moment before asking again, so that a token
// endpoint in trouble is not hammered by every lookup.
type tokenSource struct {
	c *Client

	mu         sync.Mutex
	token      string
	expires    time.Time
	refreshAt  time.Time
	refreshing bool
	failedAt   time.Time
	failure    error
	inflight   chan struct{}
}

const tokenRetryAfter = time.Second

func newTokenSource(c *Client) *tokenSource { return &tokenSource{c: c} }

// get returns a usable token, fetching one if needed.
func (t *tokenSource) get(ctx context.Context) (string, error) {
	for {
		now := t.c.cfg.Now()
		t.mu.Lock()
		if t.token != "" && now.Before(t.expires) {
			tok := t.token
			// A refresh that failed is tried again after tokenRetryAfter,
			// not by the next lookup: the token still works meanwhile.
			retry := t.failure == nil || now.Sub(t.failedAt) >= tokenRetryAfter
			if !now.Before(t.refreshAt) && !t.refreshing && retry {
				t.refreshing = true
				go t.refresh()
			}
			t.mu.Unlock()
			return tok, nil
		}
		if t.failure != nil && now.Sub(t.failedAt) < tokenRetryAfter {
			err := t.failure
			t.mu.Unlock()
			return "", err
		}
		wait := t.inflight
		if wait == nil {
			wait = make(chan struct{})
			t.inflight = wait
			go t.fetchInto(wait)
		}
		t.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return "", fmt.Errorf("%w: token: %w", ErrUnavailable, ctx.Err())
		}
		t.mu.Lock()
		ok := t.token != "" && t.c.cfg.Now().Before(t.expires)
		err := t.failure
		t.mu.Unlock()
		if !ok && err != nil {
			return "", err
		}
	}
}

// invalidate forgets token if it is still the current one.
func (t *tokenSource) invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token = ""
	}
}

func (t *tokenSource) refresh() {
	t.mu.Lock()
	wait := t.inflight
	if wait == nil {
		wait = make(chan struct{})
		t.inflight = wait
		t.mu.Unlock()
		t.fetchInto(wait)
	} else {
		t.mu.Unlock()
		<-wait
	}
	t.mu.Lock()
	t.refreshing = false
	t.mu.Unlock()
}

// fetchInto requests a token and closes done when it has an answer.
func (t *tokenSource) fetchInto(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), t.c.cfg.Timeout+2*time.Second)
	defer cancel()
	tok, ttl, err := t.request(ctx)
	now := t.c.cfg.Now()
	t.mu.Lock()
	if err != nil {
		t.failure, t.failedAt = err, now
		t.c.log.Warn("registry token request failed", "error", err)
	} else {
		t.token, t.failure = tok, nil
		t.expires = now.Add(ttl - ttl/10)
		t.refreshAt = now.Add(ttl * 2 / 3)
	}
	t.inflight = nil
	t.mu.Unlock()
	close(done)
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// request signs a fresh token request and sends it.
func (t *tokenSource) request(ctx context.Context) (string, time.Duration, error) {
	start := t.c.cfg.Now()
	tok, ttl, err := t.send(ctx)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	t.c.metrics.observeToken(outcome, t.c.cfg.Now().Sub(start))
	return tok, ttl, err
}

func (t *tokenSource) send(ctx context.Context) (string, time.Duration, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", 0, fmt.Errorf("token request nonce: %w", err)
	}
	now := t.c.cfg.Now().UTC().Truncate(time.Second)
	doc := tokenRequestDocument(t.c.cfg.ClientID, now, now.Add(t.c.cfg.TokenRequestTTL), base64.RawURLEncoding.EncodeToString(nonce[:]))
	signed, err := t.c.cfg.Signer.SignDocument(doc)
	if err != nil {
		// Our own key or certificate is unusable (e.g. expired): no
		// registry will answer until an operator fixes it.
		return "", 0, fmt.Errorf("%w: sign token request: %w", ErrUnavailable, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.c.base.String()+"/dagr/v1/token", bytes.NewReader(signed))
	if err != nil {
		return "", 0, fmt.Errorf("%w: token request: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Accept", "application/json")
	res, err := t.c.http.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%w: token request: %w", ErrUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", 0, fmt.Errorf("%w: token answer: %w", ErrUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		var p problemDoc
		_ = json.Unmarshal(body, &p)
		return "", 0, fmt.Errorf("%w: token request refused: status %d %s", ErrUnavailable, res.StatusCode, p.Type)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", 0, fmt.Errorf("%w: token answer: %w", ErrUnavailable, err)
	}
	if a.AccessToken == "" || a.ExpiresIn <= 0 {
		return "", 0, fmt.Errorf("%w: token answer without access_token or expires_in", ErrUnavailable)
	}
	return a.AccessToken, time.Duration(a.ExpiresIn) * time.Second, nil
}
