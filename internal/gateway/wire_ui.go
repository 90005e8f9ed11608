package gateway

import (
	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/ui"
)

// wireUI adds the clerk's upload page (/ui/). It keeps any routes another
// capability added before it.
func (a *App) wireUI(deps *httpapi.Deps) {
	page := ui.New()
	prev := deps.Routes
	deps.Routes = func(e *echo.Echo) {
		if prev != nil {
			prev(e)
		}
		page.Register(e)
	}
}
