package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/auth"
)

// stuckReports is a transactions capability whose spend report waits for
// its context, as a query does on a database that took the connection and
// never answers.
type stuckReports struct {
	TransactionHandlers
	ended chan error
}

func (s stuckReports) GetSpendReport(c echo.Context, _ api.GetSpendReportParams) error {
	<-c.Request().Context().Done()
	err := c.Request().Context().Err()
	s.ended <- err
	return err
}

// grantorServer builds the server on txs with a request timeout, and a
// grantor's token for it.
func grantorServer(t *testing.T, txs TransactionHandlers, timeout time.Duration) (*echo.Echo, *prometheus.Registry, string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(key, "avis-test", time.Hour, time.Now)
	reg := prometheus.NewRegistry()
	e, err := New(context.Background(), Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Tokens: tokens,
		Transactions: txs, RequestTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Issue(auth.Principal{ClientID: "c", OrgRegNo: "90000000001", Roles: []auth.Role{auth.RoleGrantor}})
	if err != nil {
		t.Fatal(err)
	}
	return e, reg, token
}

func TestRequestsEndAtTheirDeadline(t *testing.T) {
	stuck := stuckReports{ended: make(chan error, 2)}
	e, reg, token := grantorServer(t, stuck, 200*time.Millisecond)
	const path = "/v1/reports/spend?from=2026-01-01&to=2026-01-31&groupBy=benefit"

	start := time.Now()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "/problems/timeout") || time.Since(start) > 5*time.Second {
		t.Errorf("a stuck request after %s: %d %s", time.Since(start), rec.Code, rec.Body)
	}
	if err := <-stuck.ended; err != context.DeadlineExceeded {
		t.Errorf("the handler's context ended with %v", err)
	}

	// A client that gives up is no server error: 499 in the metrics.
	ctx, cancel := context.WithCancel(context.Background())
	req = httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+token)
	time.AfterFunc(20*time.Millisecond, cancel)
	e.ServeHTTP(httptest.NewRecorder(), req)
	<-stuck.ended
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, f := range families {
		if f.GetName() != "avis_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" {
					codes = append(codes, l.GetValue())
				}
			}
		}
	}
	if strings.Join(codes, ",") != "499,504" {
		t.Errorf("codes recorded %v, want 499 and 504", codes)
	}
}

// canceledReports fails with context.Canceled of its own (a sub-context
// it cancelled) while its client is still there.
type canceledReports struct{ TransactionHandlers }

func (canceledReports) GetSpendReport(echo.Context, api.GetSpendReportParams) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return fmt.Errorf("sum spend: %w", ctx.Err())
}

// Only a client that went away is a 499: an error that merely wraps
// context.Canceled is answered, as a 500, to the client still waiting.
func TestCanceledErrorOfAConnectedClientIsAnswered(t *testing.T) {
	e, _, token := grantorServer(t, canceledReports{}, time.Second)
	req := httptest.NewRequest(http.MethodGet, "/v1/reports/spend?from=2026-01-01&to=2026-01-31&groupBy=benefit", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "/problems/internal") {
		t.Errorf("answer %d %q, want a 500 problem", rec.Code, rec.Body)
	}
}
