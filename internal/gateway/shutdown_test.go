package gateway_test

import (
	"os"
	"syscall"
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

// A second SIGINT or SIGTERM during the graceful shutdown ends the process
// at once, as an operator pressing Ctrl-C twice expects, instead of waiting
// out the drain (a minute here) and the shutdown timeout.
func TestSecondSignalEndsShutdownAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	for _, second := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(second.String(), func(t *testing.T) {
			t.Parallel()
			g, _, _ := gatewaytest.NewProcess(t, auth.Client{ID: "twice", OrgRegNo: grantorA, OrgName: "Twice", Roles: []auth.Role{auth.RoleGrantor}},
				"AVIS_SHUTDOWN_DRAIN=60s", "AVIS_UPLOAD_WORKERS=0", "AVIS_LOG_LEVEL=warn")
			g.Start()
			done := g.Terminate()
			// /readyz answering 503 shows the first signal was taken and the
			// drain has begun.
			draining := false
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !draining; time.Sleep(20 * time.Millisecond) {
				status, _, err := g.Try("GET", "/readyz", "", nil, nil)
				if err != nil {
					t.Fatalf("the listener closed during the drain: %v\n%s", err, g.Log())
				}
				draining = status == 503
			}
			if !draining {
				t.Fatalf("/readyz never said 503 after the first signal\n%s", g.Log())
			}
			g.Signal(second)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("a second %v did not end the process during a 60 s drain\n%s", second, g.Log())
			}
		})
	}
}
