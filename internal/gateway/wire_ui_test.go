package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/ui"
)

// TestWireUI serves the upload page through the real server assembly (its
// middleware and contract check included) and keeps routes added before it
// (under a prefix the contract check leaves alone, as extra routes must be).
func TestWireUI(t *testing.T) {
	t.Parallel()
	deps := httpapi.Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: func(e *echo.Echo) {
			e.GET("/bench/earlier", func(c echo.Context) error { return c.String(http.StatusOK, "kept") })
		},
	}
	a := &App{}
	a.wireUI(&deps)
	e, err := httpapi.New(context.Background(), deps)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
		has    string
	}{
		{"/ui", http.StatusMovedPermanently, ""},
		{"/ui/", http.StatusOK, "<html lang=\"lv\">"},
		{"/ui/app.js?v=" + ui.New().Version(), http.StatusOK, "XMLHttpRequest"},
		{"/ui/messages.json", http.StatusOK, "\"en\""},
		{"/ui/nothing.js", http.StatusNotFound, ""},
		{"/bench/earlier", http.StatusOK, "kept"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("GET %s = %d, want %d; body %.200s", tc.path, rec.Code, tc.status, rec.Body)
			continue
		}
		if !strings.Contains(rec.Body.String(), tc.has) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.has)
		}
		if strings.HasPrefix(tc.path, "/ui/") && rec.Header().Get("Content-Security-Policy") != ui.CSP {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, rec.Header().Get("Content-Security-Policy"))
		}
	}
}
