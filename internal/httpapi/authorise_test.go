package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/problem"
)

// An operation's security decides who may call it: security: [] and {}
// are public, {oauth2: []} needs any valid token (so an operation that
// forgets its own security block inherits "authenticated", not "public"),
// and scopes name the roles needed.
func TestAuthorise(t *testing.T) {
	grantor := &auth.Principal{OrgRegNo: "90000000001", Roles: []auth.Role{auth.RoleGrantor}}
	for _, tt := range []struct {
		name   string
		reqs   openapi3.SecurityRequirements
		caller *auth.Principal
		want   int // 0: allowed
	}{
		{"security: [] without a token", openapi3.SecurityRequirements{}, nil, 0},
		{"{} without a token", openapi3.SecurityRequirements{{}}, nil, 0},
		{"oauth2: [] without a token", openapi3.SecurityRequirements{{"oauth2": {}}}, nil, http.StatusUnauthorized},
		{"oauth2: [] with a token", openapi3.SecurityRequirements{{"oauth2": {}}}, grantor, 0},
		{"oauth2: [provider] as a grantor", openapi3.SecurityRequirements{{"oauth2": {"provider"}}}, grantor, http.StatusForbidden},
		{"oauth2: [provider] or [grantor] as a grantor", openapi3.SecurityRequirements{{"oauth2": {"provider"}}, {"oauth2": {"grantor"}}}, grantor, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op := &openapi3.Operation{}
			ct := &contract{roles: map[*openapi3.Operation][]requirement{op: requirementsOf(tt.reqs)}}
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.caller != nil {
				req = req.WithContext(httpx.WithPrincipal(req.Context(), *tt.caller))
			}
			err := ct.authorise(echo.New().NewContext(req, httptest.NewRecorder()), op)
			var p *problem.Problem
			switch {
			case tt.want == 0 && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != 0 && (!errors.As(err, &p) || p.Kind.Status != tt.want):
				t.Errorf("got %v, want %d", err, tt.want)
			}
		})
	}
}
