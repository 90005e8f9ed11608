package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/problem"
)

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	secret := h.AddClient("both-roles", grantorA, auth.RoleGrantor, auth.RoleProvider)
	revokedSecret := h.AddClient("revoked", grantorA, auth.RoleGrantor)
	if err := h.App.Clients.RevokeClient(context.Background(), "revoked", time.Now()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		body      url.Values
		basic     [2]string
		status    int
		oauthErr  string
		wantScope string
	}{
		{"secret in form", form("grant_type", "client_credentials", "client_id", "both-roles", "client_secret", secret), [2]string{}, 200, "", "grantor provider"},
		{"secret by HTTP Basic", form("grant_type", "client_credentials"), [2]string{"both-roles", secret}, 200, "", "grantor provider"},
		{"scope narrows roles", form("grant_type", "client_credentials", "client_id", "both-roles", "client_secret", secret, "scope", "provider"), [2]string{}, 200, "", "provider"},
		{"scope beyond roles", form("grant_type", "client_credentials", "client_id", "both-roles", "client_secret", secret, "scope", "admin"), [2]string{}, 400, "invalid_scope", ""},
		{"wrong secret", form("grant_type", "client_credentials", "client_id", "both-roles", "client_secret", "nope"), [2]string{}, 401, "invalid_client", ""},
		{"unknown client", form("grant_type", "client_credentials", "client_id", "ghost", "client_secret", secret), [2]string{}, 401, "invalid_client", ""},
		{"revoked client", form("grant_type", "client_credentials", "client_id", "revoked", "client_secret", revokedSecret), [2]string{}, 401, "invalid_client", ""},
		{"no credentials", form("grant_type", "client_credentials"), [2]string{}, 401, "invalid_client", ""},
		{"unsupported grant", form("grant_type", "password", "client_id", "both-roles", "client_secret", secret), [2]string{}, 400, "unsupported_grant_type", ""},
		{"no grant type", form("client_id", "both-roles", "client_secret", secret), [2]string{}, 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r gatewaytest.Response
			if tt.basic[0] != "" {
				r = h.Do("POST", "/oauth/token", "", tt.body, "Authorization", basicAuth(tt.basic[0], tt.basic[1]))
			} else {
				r = h.Do("POST", "/oauth/token", "", tt.body)
			}
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.status == 200 {
				var tok struct {
					AccessToken string `json:"access_token"`
					Scope       string `json:"scope"`
					ExpiresIn   int    `json:"expires_in"`
				}
				r.JSON(t, &tok)
				if tok.Scope != tt.wantScope || tok.ExpiresIn <= 0 || tok.AccessToken == "" {
					t.Fatalf("token %+v", tok)
				}
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
				}
				return
			}
			var p struct {
				Type  string `json:"type"`
				Error string `json:"error"`
			}
			r.JSON(t, &p)
			if tt.oauthErr != "" && p.Error != tt.oauthErr {
				t.Fatalf("error %q, want %q", p.Error, tt.oauthErr)
			}
			// Every 400 of the token endpoint has the one type the
			// contract documents for it, whether the contract's check or
			// the handler refused the request.
			if tt.status == 400 && p.Type != problem.TypeBase+"invalid-request" {
				t.Errorf("type %q, want invalid-request", p.Type)
			}
		})
	}
}

// A body in a type the operation does not take is answered with the type it
// does take, not a guess: the token endpoint takes a form, not JSON.
func TestUnsupportedMediaNamesTheOperationsType(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	px := h.Token(providerX, auth.RoleProvider)
	for _, tt := range []struct {
		path, token string
		body        any
		lang, want  string
	}{
		{"/oauth/token", "", []byte(`{"grant_type":"client_credentials"}`), "en", "Send the body as application/x-www-form-urlencoded"},
		{"/oauth/token", "", []byte(`{"grant_type":"client_credentials"}`), "lv", "Sūtiet saturu kā application/x-www-form-urlencoded"},
		{"/v1/eligibility", px, form("person", "x"), "en", "Send the body as application/json"},
	} {
		r := h.Do("POST", tt.path, tt.token, tt.body, "Accept-Language", tt.lang)
		if p := r.Problem(t); r.Status != 415 || p.Detail != tt.want {
			t.Errorf("%s %s: %d %q, want 415 %q", tt.path, tt.lang, r.Status, p.Detail, tt.want)
		}
	}
}

// A token request's body is small; a secret in the URL is refused, not
// used, because it is already in proxies' logs.
func TestTokenRequestBounds(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	secret := h.AddClient("bounded", grantorA, auth.RoleGrantor)
	r := h.Do("POST", "/oauth/token?client_secret="+secret, "", form("grant_type", "client_credentials", "client_id", "bounded"))
	if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_request") || !strings.Contains(string(r.Body), "never in the URL") {
		t.Fatalf("secret in the query: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/oauth/token?client_id=bounded&client_secret="+secret+"&grant_type=client_credentials", "", form())
	if r.Status != 400 {
		t.Fatalf("credentials only in the query: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/oauth/token", "", form("grant_type", "client_credentials", "client_id", "bounded", "client_secret", secret, "scope", strings.Repeat("x", 17<<10)))
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("17 KiB token request: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/oauth/token", "", form("grant_type", "client_credentials", "client_id", "bounded", "client_secret", secret)); r.Status != 200 {
		t.Fatalf("plain token request: %d %s", r.Status, r.Body)
	}
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := h.App.Clients.AddClient(context.Background(), auth.Client{
		ID: "keyed", OrgRegNo: providerX, OrgName: "Keyed", Roles: []auth.Role{auth.RoleProvider}, PublicKeyPEM: pub,
	}); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assertion := func(signer *ecdsa.PrivateKey, aud, jti string, exp time.Duration) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
			Issuer: "keyed", Subject: "keyed", Audience: jwt.ClaimStrings{aud}, ID: jti,
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp)), IssuedAt: jwt.NewNumericDate(time.Now()),
		})
		s, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	aud := h.URL + "/oauth/token"
	send := func(a string) gatewaytest.Response {
		return h.Do("POST", "/oauth/token", "", form("grant_type", "client_credentials", "client_assertion_type", auth.AssertionType, "client_assertion", a))
	}
	good := assertion(key, aud, "jti-1", time.Minute)
	if r := send(good); r.Status != 200 {
		t.Fatalf("valid assertion: %d %s", r.Status, r.Body)
	}
	tests := []struct {
		name string
		a    string
	}{
		{"replayed", good},
		{"wrong key", assertion(other, aud, "jti-2", time.Minute)},
		{"wrong audience", assertion(key, "https://elsewhere/oauth/token", "jti-3", time.Minute)},
		{"expired", assertion(key, aud, "jti-4", -time.Minute)},
		{"too long-lived", assertion(key, aud, "jti-5", time.Hour)},
		{"no jti", assertion(key, aud, "", time.Minute)},
		{"garbage", "not.a.jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := send(tt.a); r.Status != 401 {
				t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
			}
		})
	}
}

// A client registered with a certificate that has since expired gets the
// same invalid_client answer as any other failed authentication.
func TestPrivateKeyJWTExpiredCertificate(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id       string
		from, to time.Time
	}{
		{"cert-valid", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)},
		{"cert-expired", time.Now().Add(-48 * time.Hour), time.Now().Add(-time.Hour)},
	} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: c.id}, NotBefore: c.from, NotAfter: c.to}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.App.Clients.AddClient(context.Background(), auth.Client{
			ID: c.id, OrgRegNo: providerX, OrgName: "Keyed", Roles: []auth.Role{auth.RoleProvider},
			PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		client string
		status int
	}{
		{"cert-valid", 200},
		{"cert-expired", 401},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			a, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
				Issuer: tt.client, Subject: tt.client, Audience: jwt.ClaimStrings{h.URL + "/oauth/token"}, ID: "jti-" + tt.client,
				ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)), IssuedAt: jwt.NewNumericDate(time.Now()),
			}).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			r := h.Do("POST", "/oauth/token", "", form("grant_type", "client_credentials", "client_assertion_type", auth.AssertionType, "client_assertion", a))
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.status == 401 {
				var body struct{ Error string }
				r.JSON(t, &body)
				if body.Error != "invalid_client" || strings.Contains(string(r.Body), "certificate") {
					t.Fatalf("answer %s, want a plain invalid_client", r.Body)
				}
			}
		})
	}
}

func TestReadinessAndHealth(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	if r := h.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := h.Do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/openapi.yaml", "", nil); r.Status != 200 || len(r.Body) < 1000 {
		t.Fatalf("openapi.yaml %d", r.Status)
	}
	if r := h.Do("GET", "/docs/", "", nil); r.Status != 200 || r.Header.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("docs %d, framing allowed: X-Frame-Options %q, CSP %q", r.Status, r.Header.Get("X-Frame-Options"), r.Header.Get("Content-Security-Policy"))
	}
	if r := h.Do("GET", "/metrics", "", nil); r.Status != 200 {
		t.Fatalf("metrics %d", r.Status)
	}
}

// Redis down degrades an instance but leaves it ready: it still answers,
// and every instance leaving the load balancer at once would be an outage.
func TestReadinessDegradedWithoutRedis(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.RedisAddr = "127.0.0.1:1" })
	r := h.Do("GET", "/readyz", "", nil)
	var health struct {
		Status string
		Checks map[string]string
	}
	r.JSON(t, &health)
	if r.Status != 200 || health.Status != "degraded" || health.Checks["redis"] != "unavailable" || health.Checks["postgres"] != "ok" {
		t.Fatalf("readyz with Redis down: %d %s, want 200 degraded", r.Status, r.Body)
	}
}

// A client that asks for tokens too often is told to wait, with
// Retry-After; other clients are not affected. Only authenticated requests
// count: client ids are not secret, so whoever sends a wrong secret in a
// client's name must not spend its budget.
func TestTokenRateLimit(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.TokenRateLimit = 3 })
	busy := h.AddClient("busy", grantorA, auth.RoleGrantor)
	calm := h.AddClient("calm", grantorA, auth.RoleGrantor)
	ask := func(id, secret string) gatewaytest.Response {
		return h.Do("POST", "/oauth/token", "", form("grant_type", "client_credentials", "client_id", id, "client_secret", secret))
	}
	for range 5 {
		if r := ask("busy", "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", r.Status)
		}
	}
	for i := range 3 {
		if r := ask("busy", busy); r.Status != http.StatusOK {
			t.Fatalf("token %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := ask("busy", busy)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth request in a minute: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	var p struct {
		Type string `json:"type"`
	}
	r.JSON(t, &p)
	if p.Type == "" || p.Type[len(p.Type)-len("rate-limited"):] != "rate-limited" {
		t.Errorf("problem type %q", p.Type)
	}
	if r := ask("calm", calm); r.Status != http.StatusOK {
		t.Errorf("another client: %d", r.Status)
	}
}
