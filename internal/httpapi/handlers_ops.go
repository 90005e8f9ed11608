package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
)

// GetHealth answers while the process runs.
func (s *Server) GetHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, api.Health{Status: "ok"})
}

// GetReadiness asks every dependency, in parallel, within two seconds.
func (s *Server) GetReadiness(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	type result struct {
		check ReadinessCheck
		err   error
	}
	results := make(chan result, len(s.d.Ready))
	for _, chk := range s.d.Ready {
		go func() { results <- result{chk, chk.Check(ctx)} }()
	}
	checks := map[string]string{}
	status, code := api.HealthStatus("ok"), http.StatusOK
	for range s.d.Ready {
		r := <-results
		checks[r.check.Name] = "ok"
		if r.err != nil {
			// The reason goes to the log, not to an unauthenticated caller.
			s.d.Log.WarnContext(ctx, "readiness check failed", "check", r.check.Name, "degrades_only", r.check.Degrades, "error", r.err)
			checks[r.check.Name] = "unavailable"
			switch {
			case !r.check.Degrades:
				status, code = "unavailable", http.StatusServiceUnavailable
			case status == "ok":
				status = "degraded"
			}
		}
	}
	return c.JSON(code, api.Health{Status: status, Checks: &checks})
}
