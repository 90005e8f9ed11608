package ui

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func newServer(t *testing.T) (*echo.Echo, *Page) {
	t.Helper()
	e := echo.New()
	p := New()
	p.Register(e)
	return e, p
}

func get(e *echo.Echo, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestServe(t *testing.T) {
	t.Parallel()
	e, p := newServer(t)
	v := p.Version()
	tests := []struct {
		name, method, target string
		hdr                  []string
		status               int
		ctype, cache         string
		location             string
		bodyHas              string
	}{
		{name: "no slash redirects", method: "GET", target: "/ui", status: 301, location: "/ui/"},
		{name: "index", method: "GET", target: "/ui/", status: 200, ctype: "text/html; charset=utf-8", cache: "no-cache", bodyHas: "app.js?v=" + v},
		{name: "index head", method: "HEAD", target: "/ui/", status: 200, ctype: "text/html; charset=utf-8", cache: "no-cache"},
		{name: "versioned script", method: "GET", target: "/ui/app.js?v=" + v, status: 200, ctype: "text/javascript; charset=utf-8", cache: "public, max-age=31536000, immutable", bodyHas: "'use strict'"},
		{name: "stale version revalidates", method: "GET", target: "/ui/app.js?v=000000000000", status: 200, cache: "no-cache"},
		{name: "unversioned style", method: "GET", target: "/ui/style.css", status: 200, ctype: "text/css; charset=utf-8", cache: "no-cache"},
		{name: "messages", method: "GET", target: "/ui/messages.json?v=" + v, status: 200, ctype: "application/json; charset=utf-8"},
		{name: "icon", method: "GET", target: "/ui/icon.svg?v=" + v, status: 200, ctype: "image/svg+xml"},
		{name: "unknown file", method: "GET", target: "/ui/secret.txt", status: 404},
		{name: "no traversal", method: "GET", target: "/ui/../go.mod", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(e, tc.method, tc.target, tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %.200s", rec.Code, tc.status, rec.Body)
			}
			h := rec.Header()
			if tc.location != "" && h.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", h.Get("Location"), tc.location)
			}
			if tc.ctype != "" && h.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", h.Get("Content-Type"), tc.ctype)
			}
			if tc.cache != "" && h.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", h.Get("Cache-Control"), tc.cache)
			}
			if tc.status == 200 {
				if h.Get("Content-Security-Policy") != CSP {
					t.Errorf("Content-Security-Policy %q", h.Get("Content-Security-Policy"))
				}
				if h.Get("ETag") == "" {
					t.Error("no ETag")
				}
			}
			if tc.bodyHas != "" && !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Errorf("body lacks %q", tc.bodyHas)
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	t.Parallel()
	e, _ := newServer(t)
	first := get(e, "GET", "/ui/")
	etag := first.Header().Get("ETag")
	again := get(e, "GET", "/ui/", "If-None-Match", etag)
	if again.Code != http.StatusNotModified {
		t.Fatalf("status %d with If-None-Match %s, want 304", again.Code, etag)
	}
}

func TestCSPForbidsInlineCode(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(CSP, "unsafe") || strings.Contains(CSP, "http") {
		t.Errorf("CSP allows more than the page's own files: %s", CSP)
	}
	p := New()
	index := string(p.assets["index.html"].body)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // inline script body
		regexp.MustCompile(`\son[a-z]+\s*=`),                // inline event handlers
		regexp.MustCompile(`\sstyle\s*=`),                   // inline styles
		regexp.MustCompile(`(?i)(?:src|href)="(?:https?:)?//`),
	} {
		if m := bad.FindString(index); m != "" {
			t.Errorf("index.html has %q, which the CSP forbids or which loads an external asset", m)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has a script without src: %s", tag)
		}
	}
	// Every asset index.html refers to is served.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#?]+)(?:\?[^"]*)?"`).FindAllStringSubmatch(index, -1) {
		if _, ok := p.assets[m[1]]; !ok {
			t.Errorf("index.html refers to %q, which is not embedded", m[1])
		}
	}
	if strings.Contains(index, versionPlaceholder) {
		t.Error("version placeholder left in index.html")
	}
}

func TestTokenNeverStored(t *testing.T) {
	t.Parallel()
	// Comments may name what the code avoids.
	js := regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAllString(string(New().assets["app.js"].body), "")
	for _, bad := range []string{"localStorage", "sessionStorage", "document.cookie", "indexedDB", "innerHTML", "eval(", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

// TestMessages checks the catalogue: both languages have the same keys, and
// every key the page and script use exists, so no text is ever left
// untranslated. The page's static text must equal the Latvian catalogue, as
// it is what a reader sees before the script runs.
func TestMessages(t *testing.T) {
	t.Parallel()
	p := New()
	var cat map[string]map[string]string
	if err := json.Unmarshal(p.assets["messages.json"].body, &cat); err != nil {
		t.Fatalf("messages.json: %v", err)
	}
	if len(cat) != 2 || cat["lv"] == nil || cat["en"] == nil {
		t.Fatalf("messages.json must have exactly lv and en, has %v", keys(cat))
	}
	for _, pair := range [][2]string{{"lv", "en"}, {"en", "lv"}} {
		for k, v := range cat[pair[0]] {
			if _, ok := cat[pair[1]][k]; !ok {
				t.Errorf("%q is in %s but not in %s", k, pair[0], pair[1])
			}
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s %q is empty", pair[0], k)
			}
		}
	}
	// Placeholders must match across languages.
	ph := regexp.MustCompile(`\{\w+\}`)
	for k, lv := range cat["lv"] {
		a, b := ph.FindAllString(lv, -1), ph.FindAllString(cat["en"][k], -1)
		sort.Strings(a)
		sort.Strings(b)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("%q placeholders differ: lv %v, en %v", k, a, b)
		}
	}

	index := string(p.assets["index.html"].body)
	for _, m := range regexp.MustCompile(`data-i18n="([^"]+)"[^>]*>([^<]*)<`).FindAllStringSubmatch(index, -1) {
		key, text := m[1], html.UnescapeString(m[2])
		lv, ok := cat["lv"][key]
		if !ok {
			t.Errorf("index.html uses %q, which is not in messages.json", key)
			continue
		}
		if text != lv {
			t.Errorf("index.html text for %q is %q, messages.json lv says %q", key, text, lv)
		}
	}

	js := string(p.assets["app.js"].body)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`'([a-z]+\.[A-Za-z]+)'`).FindAllStringSubmatch(js, -1) {
		if !strings.HasSuffix(m[1], ".json") {
			used[m[1]] = true
		}
	}
	for _, s := range []string{"queued", "processing", "applied", "failed", "rejected"} {
		used["status."+s] = true // built as 'status.' + upload.status
	}
	if len(used) < 20 {
		t.Fatalf("found only %d message keys in app.js; the pattern is broken", len(used))
	}
	for k := range used {
		if _, ok := cat["lv"][k]; !ok {
			t.Errorf("app.js uses %q, which is not in messages.json", k)
		}
	}
}

// The Latvian texts use the brief's vocabulary: a grantor is an
// "atvieglojuma devējs", and the system is "Atvieglojumu vienotā
// informācijas sistēma" (AVIS), inflected as the sentence needs.
func TestLatvianVocabulary(t *testing.T) {
	t.Parallel()
	p := New()
	var cat map[string]map[string]string
	if err := json.Unmarshal(p.assets["messages.json"].body, &cat); err != nil {
		t.Fatalf("messages.json: %v", err)
	}
	texts := map[string]string{"index.html": string(p.assets["index.html"].body)}
	for k, v := range cat["lv"] {
		texts["lv "+k] = v
	}
	for where, text := range texts {
		lower := strings.ToLower(text)
		for _, wrong := range []string{"piešķīrēj", "vienotās atvieglojumu"} {
			if strings.Contains(lower, wrong) {
				t.Errorf("%s says %q: use the brief's term", where, wrong)
			}
		}
	}
	if want := "Atvieglojumu vienotās informācijas sistēmas (AVIS)"; !strings.Contains(cat["lv"]["subheading"], want) {
		t.Errorf("lv subheading %q, want it to name %q", cat["lv"]["subheading"], want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
