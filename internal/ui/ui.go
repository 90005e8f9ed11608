// Package ui serves the clerk's upload page at /ui/: one static page (HTML,
// CSS and plain JavaScript embedded in the binary, no external asset) through
// which a municipality's clerk signs in with the grantor's client credentials
// and uploads a person-list file. The page talks only to the public API; the
// package holds no state and no business logic.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Prefix is where the page is served.
const Prefix = "/ui/"

// CSP allows nothing but the page's own files: no inline script or style, no
// third-party origin, no framing, and no form posting anywhere (the forms are
// handled by the script; without it they must not send the secret).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// versionPlaceholder in index.html is replaced by the assets' content hash,
// so browsers may cache the assets for good and still see a new build at once.
const versionPlaceholder = "{{version}}"

//go:embed static
var embedded embed.FS

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Page serves the embedded files.
type Page struct {
	assets  map[string]asset
	version string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".svg":  "image/svg+xml",
}

// New loads the embedded page. The files are fixed at compile time, so a
// failure here is a broken build, not a runtime condition.
func New() *Page {
	p, err := load(embedded)
	if err != nil {
		panic(fmt.Sprintf("ui: embedded page is broken: %v", err))
	}
	return p
}

func load(fsys fs.FS) (*Page, error) {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("static dir: %w", err)
	}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, fmt.Errorf("read static dir: %w", err)
	}
	raw := map[string][]byte{}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("static/%s: subdirectories are not served", e.Name())
		}
		b, err := fs.ReadFile(sub, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read static/%s: %w", e.Name(), err)
		}
		if _, ok := contentTypes[path.Ext(e.Name())]; !ok {
			return nil, fmt.Errorf("static/%s: no content type for %q", e.Name(), path.Ext(e.Name()))
		}
		raw[e.Name()] = b
		names = append(names, e.Name())
	}
	if _, ok := raw["index.html"]; !ok {
		return nil, fmt.Errorf("static/index.html is missing")
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(raw[n]))
		h.Write(raw[n])
	}
	version := hex.EncodeToString(h.Sum(nil))[:12]
	p := &Page{assets: map[string]asset{}, version: version}
	for _, n := range names {
		b := raw[n]
		if n == "index.html" {
			b = bytes.ReplaceAll(b, []byte(versionPlaceholder), []byte(version))
		}
		sum := sha256.Sum256(b)
		p.assets[n] = asset{body: b, ctype: contentTypes[path.Ext(n)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return p, nil
}

// Version is the content hash the asset URLs carry.
func (p *Page) Version() string { return p.version }

// Register adds the page's routes.
func (p *Page) Register(e *echo.Echo) {
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, strings.TrimSuffix(Prefix, "/"), func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, Prefix)
	})
	e.Match(methods, Prefix, func(c echo.Context) error { return p.serve(c, "index.html") })
	e.Match(methods, Prefix+":name", func(c echo.Context) error { return p.serve(c, c.Param("name")) })
}

func (p *Page) serve(c echo.Context, name string) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	a, ok := p.assets[name]
	if !ok {
		return echo.ErrNotFound
	}
	switch {
	case name == "index.html":
		// Always revalidated (cheaply, by ETag) so a new build is seen at once.
		h.Set("Cache-Control", "no-cache")
	case c.QueryParam("v") == p.version:
		// The URL names this exact content.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	http.ServeContent(c.Response(), c.Request(), name, time.Time{}, bytes.NewReader(a.body))
	return nil
}
