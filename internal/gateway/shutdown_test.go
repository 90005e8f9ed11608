package gateway_test

import (
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

// On SIGTERM the instance first says it is not ready, while still
// answering, so that a load balancer stops sending before the listener
// closes; then it ends.
func TestShutdownDrainsBeforeClosing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	g, _, _ := gatewaytest.NewProcess(t, auth.Client{ID: "drain", OrgRegNo: grantorA, OrgName: "Drain", Roles: []auth.Role{auth.RoleGrantor}},
		"AVIS_SHUTDOWN_DRAIN=3s", "AVIS_UPLOAD_WORKERS=0", "AVIS_LOG_LEVEL=warn")
	g.Start()
	done := g.Terminate()
	sawUnready := false
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !sawUnready; time.Sleep(50 * time.Millisecond) {
		status, _, err := g.Try("GET", "/readyz", "", nil, nil)
		if err != nil {
			t.Fatalf("the listener closed before the drain ended: %v\n%s", err, g.Log())
		}
		sawUnready = status == 503
	}
	if !sawUnready {
		t.Fatalf("/readyz never said 503 while draining\n%s", g.Log())
	}
	if status, _, err := g.Try("GET", "/healthz", "", nil, nil); err != nil || status != 200 {
		t.Fatalf("requests not served while draining: %d %v", status, err)
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the gateway did not end after its drain\n%s", g.Log())
	}
}
