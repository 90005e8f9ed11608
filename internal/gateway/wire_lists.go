package gateway

import (
	"context"

	"github.com/avis-lv/gateway/internal/httpapi"
)

// wireLists builds person lists and uploads (issue: recipient lists) and
// adds their handlers, routes and background workers.
func (a *App) wireLists(ctx context.Context, deps *httpapi.Deps) error {
	return nil
}
