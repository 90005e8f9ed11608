package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/registry"
)

// TokenResponse is the JSON answer of POST /dagr/v1/token.
type TokenResponse struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int       `json:"expires_in"`
	ExpiresAt   time.Time `json:"expires_at"`
	ClientID    string    `json:"client_id"`
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) *problem {
	if s.applyScenario(r.Context(), w, "token") {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/xml" && mt != "text/xml") {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Token request must be XML",
			"send the signed TokenRequest with Content-Type: application/xml").
			withField("header:Content-Type", fmt.Sprintf("%q is not application/xml", r.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tokenRequestMax))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newProblem(http.StatusRequestEntityTooLarge, "request-too-large", "Token request too large",
				fmt.Sprintf("a token request may be at most %d bytes", tokenRequestMax))
		}
		return newProblem(http.StatusBadRequest, "unreadable-body", "Could not read the request body", err.Error())
	}

	v := signing.NewVerifier(s.trustedList()...).WithClock(s.now).WithMaxBytes(tokenRequestMax)
	verified, err := v.VerifyDetailed(body)
	if err != nil {
		return signatureProblem(err)
	}
	// From here on, only the verified element: anything else in the
	// document was not covered by the signature.
	req, err := registry.ParseTokenRequest(verified.Element)
	if err != nil {
		p := newProblem(http.StatusBadRequest, "invalid-token-request", "Token request is invalid", err.Error())
		if fe, ok := registry.AsFieldError(err); ok {
			p.withField(fe.Field, fe.Reason)
		}
		return p
	}
	if rec, ok := w.(*recorder); ok {
		rec.clientID = req.ClientID
	}
	now := s.now()
	switch {
	case req.Expires.Sub(req.Created) > s.maxValidity:
		return newProblem(http.StatusBadRequest, "token-request-window-too-long", "Token request is valid for too long",
			fmt.Sprintf("Expires - Created is %s, at most %s is allowed", req.Expires.Sub(req.Created), s.maxValidity)).
			withField("/TokenRequest/Expires", "too far after Created")
	case now.Before(req.Created.Add(-s.skew)):
		return newProblem(http.StatusUnauthorized, "token-request-not-yet-valid", "Token request is from the future",
			fmt.Sprintf("Created %s is more than %s ahead of the mock's clock %s", req.Created.UTC().Format(time.RFC3339), s.skew, now.UTC().Format(time.RFC3339))).
			withField("/TokenRequest/Created", "in the future")
	case now.After(req.Expires.Add(s.skew)):
		return newProblem(http.StatusUnauthorized, "token-request-expired", "Token request has expired",
			fmt.Sprintf("Expires %s is more than %s behind the mock's clock %s", req.Expires.UTC().Format(time.RFC3339), s.skew, now.UTC().Format(time.RFC3339))).
			withField("/TokenRequest/Expires", "in the past")
	}

	token, err := newToken()
	if err != nil {
		return newProblem(http.StatusInternalServerError, "internal", "Could not issue a token", err.Error())
	}
	expiresAt := now.Add(s.tokenTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.nonces[req.Nonce]; seen {
		return newProblem(http.StatusUnauthorized, "token-request-replayed", "Token request was already used",
			"this Nonce was seen before: sign a new request with a fresh Nonce for every token").
			withField("/TokenRequest/Nonce", "already used")
	}
	s.purgeLocked(now)
	if len(s.nonces) >= maxNonces || len(s.tokens) >= maxTokens {
		return newProblem(http.StatusTooManyRequests, "too-many-tokens", "Too many live tokens",
			"the mock keeps at most 100000 tokens; reuse tokens until they expire or POST /__admin/reset").
			withHeader("Retry-After", "60")
	}
	// The nonce is remembered until the request could no longer pass the
	// expiry check anyway.
	s.nonces[req.Nonce] = req.Expires.Add(s.skew)
	s.tokens[token] = tokenInfo{clientID: req.ClientID, fingerprint: signing.Fingerprint(verified.Certificate), expiresAt: expiresAt}
	s.log.Info("token issued", "client_id", req.ClientID, "certificate_sha256", signing.Fingerprint(verified.Certificate))
	writeJSON(w, http.StatusOK, TokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int(s.tokenTTL.Seconds()),
		ExpiresAt:   expiresAt.UTC(),
		ClientID:    req.ClientID,
	})
	return nil
}

// purgeLocked forgets expired tokens and nonces.
func (s *Server) purgeLocked(now time.Time) {
	for n, until := range s.nonces {
		if now.After(until) {
			delete(s.nonces, n)
		}
	}
	for t, info := range s.tokens {
		if now.After(info.expiresAt) {
			delete(s.tokens, t)
		}
	}
}

func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// signatureProblem maps a signing error to the problem a client sees.
func signatureProblem(err error) *problem {
	type mapping struct {
		sentinel error
		status   int
		slug     string
		title    string
	}
	for _, m := range []mapping{
		{signing.ErrTooLarge, http.StatusRequestEntityTooLarge, "request-too-large", "Token request too large"},
		{signing.ErrMalformed, http.StatusBadRequest, "malformed-xml", "Token request is not acceptable XML"},
		{signing.ErrNoSignature, http.StatusUnauthorized, "signature-missing", "Token request is not signed"},
		{signing.ErrCertificateExpired, http.StatusUnauthorized, "certificate-expired", "Signing certificate is expired or not yet valid"},
		{signing.ErrUntrusted, http.StatusUnauthorized, "certificate-untrusted", "Signing certificate is not registered"},
		{signing.ErrAlgorithm, http.StatusUnauthorized, "signature-algorithm", "Signature algorithm not allowed"},
		{signing.ErrWrapped, http.StatusUnauthorized, "signature-wrapped", "Signature is not enveloped in the TokenRequest"},
		{signing.ErrTampered, http.StatusUnauthorized, "signature-invalid", "Signature does not match the token request"},
	} {
		if errors.Is(err, m.sentinel) {
			return newProblem(m.status, m.slug, m.title, err.Error())
		}
	}
	return newProblem(http.StatusBadRequest, "malformed-xml", "Token request could not be verified", err.Error())
}

// authorize checks the bearer token and the permission number for d.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, d registry.Dataset) *problem {
	const challenge = `Bearer realm="avis-mocks"`
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return newProblem(http.StatusUnauthorized, "token-missing", "Bearer token required",
			"get a token at POST /dagr/v1/token and send Authorization: Bearer <token>").
			withField("header:Authorization", "missing or not a Bearer token").
			withHeader("WWW-Authenticate", challenge)
	}
	s.mu.Lock()
	info, known := s.tokens[token]
	s.mu.Unlock()
	switch {
	case !known:
		return newProblem(http.StatusUnauthorized, "token-invalid", "Bearer token is not valid",
			"the token was not issued by this mock (or the mock was reset, or the certificate it was issued to was withdrawn)").
			withHeader("WWW-Authenticate", challenge+`, error="invalid_token"`)
	case s.now().After(info.expiresAt):
		return newProblem(http.StatusUnauthorized, "token-expired", "Bearer token has expired",
			"expired at "+info.expiresAt.UTC().Format(time.RFC3339)+"; request a new one").
			withHeader("WWW-Authenticate", challenge+`, error="invalid_token"`)
	}
	if rec, ok := w.(*recorder); ok {
		rec.clientID = info.clientID
	}
	got := r.Header.Get("X-Permission-Number")
	if got == "" {
		return newProblem(http.StatusForbidden, "permission-missing", "Permission number required",
			"send X-Permission-Number with the permission number issued for the "+string(d)+" data set").
			withField("header:X-Permission-Number", "missing")
	}
	if got != s.permissions[d] {
		return newProblem(http.StatusForbidden, "permission-denied", "Permission number does not grant this data set",
			"the X-Permission-Number is not the one issued for the "+string(d)+" data set").
			withField("header:X-Permission-Number", "does not match the "+string(d)+" data set")
	}
	if rec, ok := w.(*recorder); ok {
		rec.authorized = true
	}
	return nil
}
