package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

// With AVIS_METRICS_ADDR the metrics move to their own listener, so that an
// operator can keep them off the public address.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	metricsAddr := gatewaytest.FreeAddr(t)
	g, _, _ := gatewaytest.NewProcess(t, auth.Client{ID: "metrics", OrgRegNo: grantorA, OrgName: "Metrics", Roles: []auth.Role{auth.RoleGrantor}},
		"AVIS_METRICS_ADDR="+metricsAddr, "AVIS_UPLOAD_WORKERS=0", "AVIS_LOG_LEVEL=warn")
	g.Start()
	if status, _, err := g.Try("GET", "/metrics", "", nil, nil); err != nil || status != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %d %v, want 404", status, err)
	}
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "avis_http_request_duration_seconds") {
		t.Fatalf("/metrics on the metrics listener: %d %.300s", res.StatusCode, body)
	}
}
