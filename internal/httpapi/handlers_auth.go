package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/problem"
)

// IssueToken is the OAuth 2.0 token endpoint (client credentials).
func (s *Server) IssueToken(c echo.Context, _ api.IssueTokenParams) error {
	// A secret in the URL is in every proxy's access log by now (RFC 6749
	// §2.3.1 forbids it); refusing it tells the integrator before
	// production does.
	if q := c.QueryParams(); q.Has("client_secret") || q.Has("client_assertion") {
		return oauthProblem(problem.InvalidGrant, "invalid_request",
			"Send client credentials in the form body or with HTTP Basic, never in the URL; this secret has been exposed: have it replaced",
			"Klienta akreditācijas datus sūtiet formas saturā vai ar HTTP Basic, nekad URL; šis noslēpums ir atklāts: nomainiet to")
	}
	if _, err := c.FormParams(); err != nil {
		return oauthProblem(problem.InvalidGrant, "invalid_request", "The body is not a readable form", "Saturs nav nolasāma forma")
	}
	// Only the body's fields: FormValue would also take them from the URL.
	body := c.Request().PostForm
	req := auth.TokenRequest{
		GrantType:           body.Get("grant_type"),
		ClientID:            body.Get("client_id"),
		ClientSecret:        body.Get("client_secret"),
		ClientAssertionType: body.Get("client_assertion_type"),
		ClientAssertion:     body.Get("client_assertion"),
		Scope:               body.Get("scope"),
	}
	if id, secret, ok := c.Request().BasicAuth(); ok {
		if req.ClientSecret != "" {
			return oauthProblem(problem.InvalidGrant, "invalid_request", "Send the client secret once: in the form or with HTTP Basic, not both", "Klienta noslēpumu sūtiet vienreiz: formā vai ar HTTP Basic, ne abos")
		}
		req.ClientID, req.ClientSecret = id, secret
	}
	// Counted per authenticated client, so that nobody who merely knows a
	// client id (they are not secret) can spend that client's budget.
	admit := func(clientID string) error {
		ok, wait := s.d.TokenLimiter.Allow(c.Request().Context(), clientID)
		if ok {
			return nil
		}
		secs := int(math.Ceil(wait.Seconds()))
		p := problem.New(problem.RateLimited,
			fmt.Sprintf("Too many token requests for this client; a token lasts its expires_in: reuse it. Try again in %d s", secs),
			fmt.Sprintf("Pārāk daudz marķiera pieprasījumu šim klientam; marķieris derīgs expires_in sekundes: izmantojiet to atkārtoti. Mēģiniet pēc %d s", secs))
		p.Headers = map[string]string{"Retry-After": strconv.Itoa(secs)}
		return p
	}
	tok, err := s.d.Auth.Issue(c.Request().Context(), req, admit)
	switch {
	case errors.Is(err, auth.ErrUnsupported):
		return oauthProblem(problem.InvalidGrant, "unsupported_grant_type", "Only grant_type=client_credentials is supported", "Atbalstīts tikai grant_type=client_credentials")
	case errors.Is(err, auth.ErrInvalidRequest):
		return oauthProblem(problem.InvalidGrant, "invalid_request", err.Error(), "Marķiera pieprasījums nav derīgs")
	case errors.Is(err, auth.ErrInvalidScope):
		return oauthProblem(problem.InvalidGrant, "invalid_scope", "The requested scope is not among the client's roles", "Pieprasītā darbības joma nav starp klienta lomām")
	case errors.Is(err, auth.ErrInvalidClient):
		p := oauthProblem(problem.InvalidClient, "invalid_client", "Client authentication failed", "Klienta autentifikācija neizdevās")
		p.Headers = map[string]string{"WWW-Authenticate": `Basic realm="avis"`}
		p.Cause = err
		return p
	case err != nil:
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	return c.JSON(http.StatusOK, api.TokenResponse{
		AccessToken: tok.AccessToken,
		TokenType:   api.Bearer,
		ExpiresIn:   tok.ExpiresIn,
		Scope:       &tok.Scope,
	})
}

func oauthProblem(kind problem.Kind, code, en, lv string) *problem.Problem {
	p := problem.New(kind, en, lv)
	p.OAuthError = code
	return p
}
