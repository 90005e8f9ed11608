package ui_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/personcode"
)

// chromiumPath is Debian's chromium, installed by scripts/testtools.sh.
const chromiumPath = "/usr/bin/chromium"

// TestUploadPageInBrowser drives the clerk's page end to end in headless
// Chromium against a whole gateway: language switch, a refused and an
// accepted sign-in, the form filled from the keyboard, the upload with its
// progress, the summary, the inline error table and the CSV report, plus a
// small accessibility audit and a screenshot.
func TestUploadPageInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must run scripts/testtools.sh before the tests (%v)", chromiumPath, err)
		}
		t.Skipf("%s is missing; run scripts/testtools.sh to install Debian's chromium (%v)", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	t.Parallel()

	h := gatewaytest.New(t)
	base := pageBase(t, h)
	const (
		clientID = "ui-clerk-riga"
		org      = "90000000001"
		listID   = "ui-test-school-meals"
	)
	secret := h.AddClient(clientID, org, auth.RoleGrantor)
	file, want := writeList(t)

	b := newBrowser(t)
	ctx := b.ctx
	dlDir := t.TempDir()
	must(t, "allow downloads", func() error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dlDir,
		})
		return err
	})

	// --- the page in Latvian -------------------------------------------
	do(t, ctx, "open the page", chromedp.Navigate(base+"/ui/"))
	waitFor(t, ctx, "the script to start", `document.documentElement.dataset.ready === 'true'`)
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "lv" {
		t.Errorf("<html lang> = %q, want lv by default", got)
	}
	if got := text(t, ctx, "h1"); got != "Personu sarakstu augšupielāde" {
		t.Errorf("heading %q, want the Latvian one", got)
	}
	audit(t, ctx, "signed out, lv")
	tabOrder(t, ctx, "", []string{"skip", "lang-lv", "lang-en", "client-id", "client-secret", "signin-submit"})

	// A wrong secret: the gateway's problem+json, in Latvian.
	do(t, ctx, "type a wrong secret",
		chromedp.Focus(chromedp.ID("client-id")),
		chromedp.KeyEvent(clientID),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("not-the-secret"),
		chromedp.KeyEvent(kb.Enter),
	)
	waitFor(t, ctx, "the sign-in problem", `!document.getElementById('problem').hidden`)
	if got := text(t, ctx, "#problem-title"); got != "Klienta autentifikācija neizdevās" {
		t.Errorf("problem title %q, want the Latvian invalid-client title", got)
	}
	if !eval[bool](t, ctx, `document.getElementById('upload').hidden`) {
		t.Error("the upload form is shown without a session")
	}
	screenshot(t, ctx, "ui-signin-lv.png")

	// --- switch to English by keyboard -------------------------------------------
	do(t, ctx, "switch to English", chromedp.Focus(chromedp.ID("lang-en")), chromedp.KeyEvent(kb.Enter))
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "en" {
		t.Errorf("<html lang> = %q after the switch, want en", got)
	}
	if got := text(t, ctx, "h1"); got != "Person list upload" {
		t.Errorf("heading %q after the switch, want the English one", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('lang-en').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("English button aria-pressed = %q", got)
	}
	if got := text(t, ctx, "label[for=client-secret]"); got != "Client secret" {
		t.Errorf("secret label %q in English", got)
	}

	// --- sign in ------------------------------------------------------------------
	do(t, ctx, "sign in",
		clear("client-secret"),
		chromedp.Focus(chromedp.ID("client-secret")),
		chromedp.KeyEvent(secret),
		chromedp.KeyEvent(kb.Enter),
	)
	waitFor(t, ctx, "the upload form", `!document.getElementById('upload').hidden`)
	if got := text(t, ctx, "#session-text"); !strings.Contains(got, clientID) {
		t.Errorf("session text %q does not name the client", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('client-secret').value`); got != "" {
		t.Error("the secret stays in the form after sign-in")
	}
	if got := eval[string](t, ctx, `JSON.stringify([localStorage.length, sessionStorage.length, document.cookie])`); got != `[0,0,""]` {
		t.Errorf("the page stored something in the browser: %s", got)
	}
	if !eval[bool](t, ctx, `document.getElementById('problem').hidden`) {
		t.Error("the old problem is still shown after a good sign-in")
	}

	// --- fill the form from the keyboard ----------------------------------------------
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "list-id" {
		t.Errorf("focus after sign-in is on %q, want the list id", got)
	}
	do(t, ctx, "type the list id", chromedp.KeyEvent("bad list!"), chromedp.KeyEvent(kb.Tab))
	waitFor(t, ctx, "the list id error", `!document.getElementById('list-id-error').hidden`)
	if got := eval[string](t, ctx, `document.getElementById('list-id').getAttribute('aria-invalid')`); got != "true" {
		t.Errorf("aria-invalid on a bad list id = %q", got)
	}
	do(t, ctx, "retype the list id",
		clear("list-id"),
		chromedp.Focus(chromedp.ID("list-id")),
		chromedp.KeyEvent(listID),
		chromedp.KeyEvent(kb.Tab), // change event: the page asks for the list
	)
	waitFor(t, ctx, "the list's state", `(t => t !== '' && t !== 'Checking the list…')(document.getElementById('list-info').textContent)`)
	t.Logf("list before upload: %s", text(t, ctx, "#list-info"))
	// The file dialog is the one thing a keyboard cannot drive headless.
	do(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}))
	waitFor(t, ctx, "the file info", `document.getElementById('file-info').textContent.includes('list.csv')`)
	do(t, ctx, "choose skip-invalid", chromedp.Focus(chromedp.ID("policy-all")), chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](t, ctx, `document.querySelector('input[name=policy]:checked').value`); got != "skip-invalid" {
		t.Fatalf("policy after ArrowDown = %q, want skip-invalid", got)
	}
	audit(t, ctx, "signed in, en")
	tabOrder(t, ctx, "list-id", []string{"list-id", "file", "policy-skip", "mode-replace", "upload-submit"})

	// --- upload ----------------------------------------------------------------------
	wired := uploadsWired(t, h, clientID, secret)
	started := time.Now()
	do(t, ctx, "press Upload", chromedp.KeyEvent(kb.Enter)) // focus is on the submit button
	if !wired {
		// Only what follows the upload needs the lists capability; until it
		// is wired, check that the page shows the gateway's 501 problem.
		waitFor(t, ctx, "the 501 problem", `!document.getElementById('problem').hidden`)
		if got := text(t, ctx, "#problem-title"); got != "Not available in this gateway release" {
			t.Errorf("problem title %q for a 501", got)
		}
		b.checkConsole(t)
		screenshot(t, ctx, "ui-upload.png")
		t.Skip("the lists capability answers 501 (not wired yet): skipping the part after the upload; the page, sign-in and form parts passed")
	}
	waitForT(t, ctx, "the summary", `!document.getElementById('summary').hidden || !document.getElementById('problem').hidden`, 60*time.Second)
	if !eval[bool](t, ctx, `document.getElementById('problem').hidden`) {
		t.Fatalf("the upload was refused: %s", text(t, ctx, "#problem"))
	}
	t.Logf("upload processed in %v", time.Since(started).Round(time.Millisecond))
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "summary-heading" {
		t.Errorf("focus after the upload is on %q, want the summary heading", got)
	}
	summary := map[string]string{}
	for _, id := range []string{"sum-status", "sum-total", "sum-valid", "sum-invalid", "sum-version", "sum-id", "summary-message", "status", "progress-upload-text"} {
		summary[id] = text(t, ctx, "#"+id)
	}
	t.Logf("summary: %v", summary)
	for id, w := range map[string]string{
		"sum-status":           "applied",
		"sum-valid":            fmt.Sprint(want.valid),
		"sum-invalid":          fmt.Sprint(want.invalid),
		"sum-version":          "1",
		"status":               "Status: applied.",
		"progress-upload-text": "100%",
	} {
		if summary[id] != w {
			t.Errorf("#%s = %q, want %q", id, summary[id], w)
		}
	}
	if !strings.Contains(summary["summary-message"], "new version is 1") {
		t.Errorf("summary message %q", summary["summary-message"])
	}
	// The page must show what the API says.
	tok := h.TokenFor(clientID, secret)
	res := h.Do("GET", "/v1/uploads/"+summary["sum-id"], tok, nil)
	var up struct {
		Status      string `json:"status"`
		ValidRows   int    `json:"validRows"`
		InvalidRows int    `json:"invalidRows"`
		ListVersion int    `json:"listVersion"`
	}
	res.JSON(t, &up)
	if up.Status != "applied" || up.ValidRows != want.valid || up.InvalidRows != want.invalid || up.ListVersion != 1 {
		t.Errorf("the API says %+v, want applied with %d valid, %d invalid, version 1", up, want.valid, want.invalid)
	}
	waitFor(t, ctx, "the list's new version", `document.getElementById('list-info').textContent.includes('Current version: 1')`)

	// --- the error table ---------------------------------------------------------------
	do(t, ctx, "show the errors", chromedp.Focus(chromedp.ID("errors-show")), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the error rows", `document.querySelectorAll('#errors-body tr').length > 0`)
	rows := eval[[][]string](t, ctx, `[...document.querySelectorAll('#errors-body tr')].map(tr => [...tr.cells].map(td => td.textContent))`)
	var gotRows []string
	for _, r := range rows {
		gotRows = append(gotRows, r[0])
		if len(r) != 4 || r[1] == "" || r[3] == "" {
			t.Errorf("error row %v lacks a column or message", r)
		}
	}
	if !slices.Equal(gotRows, want.badRows) {
		t.Errorf("error table rows %v, want %v", gotRows, want.badRows)
	}
	if got := eval[string](t, ctx, `document.getElementById('errors-show').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("errors button aria-expanded = %q", got)
	}
	if eval[int](t, ctx, `document.querySelectorAll('#errors-body a, #errors-body script').length`) != 0 {
		t.Error("a cell's value became markup")
	}
	t.Logf("error table: %v", rows)

	// --- the CSV report, fetched with the bearer token --------------------------------
	do(t, ctx, "download the CSV", chromedp.Focus(chromedp.ID("errors-csv")), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the download notice", `document.getElementById('report-note').textContent === 'The error report has been downloaded.'`)
	report := waitForFile(t, dlDir, 10*time.Second)
	report = bytes.TrimPrefix(report, []byte("\ufeff"))
	// Latvian Excel splits on semicolons only: a comma report would open as
	// one column.
	if first, _, _ := strings.Cut(string(report), "\n"); !strings.Contains(first, ";") || strings.Contains(first, ",") {
		t.Errorf("downloaded report's header %q is not separated by semicolons", first)
	}
	cr := csv.NewReader(bytes.NewReader(report))
	cr.FieldsPerRecord = -1
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil {
		t.Errorf("downloaded report is not CSV: %v\n%s", err, report)
	} else if len(recs) != 1+want.invalid {
		t.Errorf("downloaded report has %d records, want a header and %d rows:\n%s", len(recs), want.invalid, report)
	}

	audit(t, ctx, "summary, en")
	screenshot(t, ctx, "ui-upload-en.png")

	// --- back to Latvian: the result and the server's messages follow ----------------
	do(t, ctx, "switch to Latvian", chromedp.Focus(chromedp.ID("lang-lv")), chromedp.KeyEvent(" "))
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "lv" {
		t.Errorf("<html lang> = %q after switching back, want lv", got)
	}
	if got := text(t, ctx, "#sum-status"); got != "piemērots" {
		t.Errorf("status %q in Latvian", got)
	}
	// The table is fetched again, so the gateway writes its messages in
	// Latvian now.
	waitFor(t, ctx, "the error messages in Latvian", fmt.Sprintf(`(c => c && c.textContent !== '' && c.textContent !== %q)(document.querySelector('#errors-body tr td:nth-child(4)'))`, rows[0][3]))
	audit(t, ctx, "summary, lv")
	b.checkConsole(t)
	screenshot(t, ctx, "ui-upload.png")
}

// pageBase is the gateway's URL after checking that it serves the page
// through its own wiring.
func pageBase(t *testing.T, h *gatewaytest.Harness) string {
	t.Helper()
	res, err := http.Get(h.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/ = %d: the gateway does not serve the upload page; gateway.Build must call a.wireUI(&deps)", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy of /ui/ is %q", csp)
	}
	return h.URL
}

// uploadsWired reports whether the lists capability is wired: an unknown
// upload is 404 then, 501 before.
func uploadsWired(t *testing.T, h *gatewaytest.Harness, clientID, secret string) bool {
	t.Helper()
	res := h.Do("GET", "/v1/uploads/00000000-0000-4000-8000-000000000000", h.TokenFor(clientID, secret), nil)
	return res.Status != http.StatusNotImplemented
}

type listWant struct {
	valid, invalid int
	badRows        []string
}

// writeList writes a small Latvian CSV with good rows of both code formats
// and bad rows of several kinds, and says what a reader must find.
func writeList(t *testing.T) (string, listWant) {
	t.Helper()
	// old makes an old-format code DDMMYY-CNNNZ from the birth date DDMMYY
	// and the century digit plus serial CNNN.
	old := func(birth, serial string) string {
		z, err := personcode.CheckDigit(birth + serial)
		if err != nil {
			t.Fatal(err)
		}
		return birth + "-" + serial + string(z)
	}
	wrong := func(code string) string { // flip the check digit
		last := code[len(code)-1]
		return code[:len(code)-1] + string('0'+(last-'0'+1)%10)
	}
	lines := []string{
		"personas_kods;derīgs_no;derīgs_līdz",
		old("150378", "1234") + ";2026-01-01;2026-12-31", // row 2
		old("010190", "1111") + ";01.02.2026;",           // row 3
		strings.ReplaceAll(old("311205", "2345"), "-", "") + ";2026-01-01;",
		"321234-56789;2026-01-01;2027-06-30",
		old("290260", "1987") + ";2026-03-01;",
		wrong(old("121212", "1212")) + ";2026-01-01;", // row 7: check digit
		"nav kods;2026-01-01;",                        // row 8: not a code
		old("050505", "2555") + ";2026-02-30;",        // row 9: no such date
		old("070707", "1777") + ";2026-05-01;2026-04-01",
		`=HYPERLINK("http://example.invalid");2026-01-01;`, // row 11: formula
		old("201099", "1321") + ";2026-01-15;",
	}
	path := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, listWant{valid: 6, invalid: 5, badRows: []string{"7", "8", "9", "10", "11"}}
}

type chrome struct {
	ctx     context.Context
	mu      sync.Mutex
	console []string
}

func newBrowser(t *testing.T) *chrome {
	t.Helper()
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1100, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	c := &chrome{ctx: ctx}
	if err := chromedp.Listen(ctx, c.onEvent); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return c
}

// onEvent keeps the page's script errors and security messages (a CSP
// violation among them). Failed network requests are expected: the test
// provokes a 401.
func (c *chrome) onEvent(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Source == cdplog.EntrySourceNetwork || ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error called"
	default:
		return
	}
	c.mu.Lock()
	c.console = append(c.console, msg)
	c.mu.Unlock()
}

func (c *chrome) checkConsole(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.console {
		t.Errorf("browser reported %s", m)
	}
}

// clear empties a text field, as a clerk selecting its text and deleting it.
func clear(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id))
}

func must(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(e => e ? e.textContent.trim() : '<no %s>')(document.querySelector(%q))`, sel, sel))
}

func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	waitForT(t, ctx, what, expr, 15*time.Second)
}

func waitForT(t *testing.T, ctx context.Context, what, expr string, d time.Duration) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(tctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		page, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, page)
	}
}

// tabOrder presses Tab from the element with id from (or from the top of
// the page) and checks the elements focused, in order.
func tabOrder(t *testing.T, ctx context.Context, from string, want []string) {
	t.Helper()
	var got []string
	if from != "" { // else the page is fresh and Tab starts at its top

		do(t, ctx, "focus "+from, chromedp.Focus(chromedp.ID(from)))
		got = append(got, from)
	}
	for len(got) < len(want) {
		do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		id := eval[string](t, ctx, `document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ''`)
		if !eval[bool](t, ctx, `(e => e.matches(':focus-visible') && getComputedStyle(e).outlineStyle !== 'none')(document.activeElement)`) {
			t.Errorf("%s has focus but no visible focus indicator", id)
		}
		got = append(got, id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("tab order %v, want %v", got, want)
	}
}

// auditJS checks what a machine can: a language, a label for every control,
// a legend for every fieldset, unique ids, and WCAG AA text contrast for
// every visible text (4.5:1; 3:1 for large text).
const auditJS = `(() => {
  const out = [];
  if (!document.documentElement.lang) out.push('<html> has no lang');
  const ids = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (ids.has(el.id)) out.push('duplicate id ' + el.id);
    ids.add(el.id);
  }
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = [...(el.labels || [])].some(l => l.textContent.trim() !== '') || (el.getAttribute('aria-label') || '').trim() !== '';
    if (!labelled) out.push('control ' + (el.id || el.name) + ' has no label');
  }
  for (const el of document.querySelectorAll('button')) {
    if (el.textContent.trim() === '' && !(el.getAttribute('aria-label') || '').trim()) out.push('button ' + el.id + ' has no name');
  }
  for (const fs of document.querySelectorAll('fieldset')) {
    const lg = fs.querySelector(':scope > legend');
    if (!lg || lg.textContent.trim() === '') out.push('fieldset ' + fs.id + ' has no legend');
  }
  const rgb = s => { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  for (const el of document.querySelectorAll('body *')) {
    if (!el.checkVisibility || !el.checkVisibility()) continue;
    if (el.disabled || el.closest('fieldset:disabled')) continue; // inactive controls are exempt
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!own) continue;
    const st = getComputedStyle(el);
    const fg = rgb(st.color), bg = background(el);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ':1 < ' + need + ' for "' + el.textContent.trim().slice(0, 40) + '" (' + st.color + ' on rgb(' + [bg.r, bg.g, bg.b].join(',') + '))');
  }
  return out;
})()`

func audit(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	for _, p := range eval[[]string](t, ctx, auditJS) {
		t.Errorf("accessibility (%s): %s", when, p)
	}
}

func waitForFile(t *testing.T, dir string, d time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".crdownload") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if len(b) > 0 {
				t.Logf("downloaded %s (%d bytes)", e.Name(), len(b))
				return b
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no download in %s after %v", dir, d)
	return nil
}

// screenshot saves the whole page as name. With AVIS_ARTIFACTS_DIR set (CI
// sets it to var/artifacts) it goes there; otherwise into the test's
// temporary directory. Either way the path is logged.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("AVIS_ARTIFACTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(t), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}
