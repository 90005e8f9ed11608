package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

// BenchmarkInstructions304 measures the in-process cost of a conditional
// feed request against the bare route, without the network (for profiling;
// make bench-instructions gives the figures over HTTP).
func BenchmarkInstructions304(b *testing.B) {
	h := gatewaytest.New(b, func(c *config.Config) { c.BenchRoutes = true })
	px := h.Token(providerX, auth.RoleProvider)
	r := h.Do("GET", "/v1/instructions", px, nil)
	etag := r.Header.Get("ETag")
	for _, bc := range []struct{ name, path, inm string }{
		{"bare", "/bench/bare", ""},
		{"instructions304", "/v1/instructions", etag},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			req.Header.Set("Authorization", "Bearer "+px)
			if bc.inm != "" {
				req.Header.Set("If-None-Match", bc.inm)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.App.Echo.ServeHTTP(w, req)
				if w.Code != http.StatusOK && w.Code != http.StatusNotModified {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
