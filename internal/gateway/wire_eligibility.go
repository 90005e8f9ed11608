package gateway

import (
	"context"

	"github.com/avis-lv/gateway/internal/httpapi"
)

// wireEligibility builds the registry client, the eligibility cache and
// check, identification means and transactions, and adds their handlers.
func (a *App) wireEligibility(ctx context.Context, deps *httpapi.Deps) error {
	return nil
}
