// Package registrytest runs the registry mock suite in-process for tests,
// trusting a fresh gateway identity, and drives its admin API: scenarios,
// fixture persons and the request journal.
package registrytest

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/population"
	mockreg "github.com/avis-lv/gateway/mocks/registry"
	"github.com/avis-lv/gateway/mocks/server"
)

// Mock is a running mock suite.
type Mock struct {
	T      testing.TB
	URL    string
	Server *server.Server
	// Signer is the gateway identity the mock trusts; KeyFile and CertFile
	// hold it as PEM for configurations that load files.
	Signer   *signing.Signer
	KeyFile  string
	CertFile string

	cert    *x509.Certificate
	handler atomic.Pointer[http.Handler]
}

// AsOf is the population's "today" in tests, pinned so that runs repeat.
var AsOf = mockreg.NewDate(2026, time.March, 1)

// Start runs the mocks with a small population until the test ends.
func Start(t testing.TB) *Mock {
	t.Helper()
	key, cert, err := signing.GenerateSelfSigned("avis-gateway-test", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPEM, err := signing.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	m := &Mock{T: t, Signer: signer, KeyFile: filepath.Join(dir, "gateway.key"), CertFile: filepath.Join(dir, "gateway.crt")}
	if err := os.WriteFile(m.KeyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.CertFile, signing.EncodeCertificatePEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	m.cert = cert
	m.Restart(1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*m.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	m.URL = hs.URL
	return m
}

// Restart replaces the mocks behind URL with a fresh run whose population
// has seed, as when they are restarted with another -seed: it keeps only
// the trusted gateway identity.
func (m *Mock) Restart(seed uint64) {
	m.T.Helper()
	pop, err := population.New(population.Config{Seed: seed, Size: 2000, AsOf: AsOf})
	if err != nil {
		m.T.Fatal(err)
	}
	srv, err := server.New(server.Config{Population: pop, TrustedCerts: []*x509.Certificate{m.cert}})
	if err != nil {
		m.T.Fatal(err)
	}
	h := srv.Handler()
	m.Server = srv
	m.handler.Store(&h)
}

// Do calls the mock's admin API and fails the test unless the answer has
// status want.
func (m *Mock) Do(method, path string, body any, want int) []byte {
	m.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			m.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.URL+path, rd)
	if err != nil {
		m.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		m.T.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, out)
	}
	return out
}

// Scenario sets a fault scenario on a data set ("token" for the token
// endpoint).
func (m *Mock) Scenario(dataset string, sc server.Scenario) {
	m.T.Helper()
	m.Do(http.MethodPut, "/__admin/scenarios/"+dataset, sc, http.StatusOK)
}

// ClearScenario removes a data set's scenario.
func (m *Mock) ClearScenario(dataset string) {
	m.T.Helper()
	req, _ := http.NewRequest(http.MethodDelete, m.URL+"/__admin/scenarios/"+dataset, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.T.Fatal(err)
	}
	res.Body.Close()
}

// Person puts a fixture person: records maps data set names to records
// (nil for "not in this data set").
func (m *Mock) Person(code string, records map[string]any) {
	m.T.Helper()
	m.Do(http.MethodPut, "/__admin/persons/"+code, map[string]any{"records": records}, http.StatusOK)
}

// Journal returns the journal entries of a data set ("" for all, "token"
// for token requests) after seq.
func (m *Mock) Journal(dataset string, since uint64) []server.JournalEntry {
	m.T.Helper()
	path := fmt.Sprintf("/__admin/journal?limit=1000&since=%d", since)
	switch dataset {
	case "":
	case "token":
		path += "&path=/dagr/v1/token"
	default:
		path += "&dataset=" + dataset
	}
	var page server.JournalPage
	if err := json.Unmarshal(m.Do(http.MethodGet, path, nil, http.StatusOK), &page); err != nil {
		m.T.Fatal(err)
	}
	return page.Entries
}

// LastSeq is the newest journal sequence number, to count requests made
// after it.
func (m *Mock) LastSeq() uint64 {
	m.T.Helper()
	var page server.JournalPage
	if err := json.Unmarshal(m.Do(http.MethodGet, "/__admin/journal?limit=1", nil, http.StatusOK), &page); err != nil {
		m.T.Fatal(err)
	}
	// With no since, the page starts at the oldest entry; NextSince of an
	// empty journal is the newest seq. Ask again from there to be sure.
	last := page.NextSince
	for {
		var more server.JournalPage
		if err := json.Unmarshal(m.Do(http.MethodGet, fmt.Sprintf("/__admin/journal?limit=1000&since=%d", last), nil, http.StatusOK), &more); err != nil {
			m.T.Fatal(err)
		}
		if len(more.Entries) == 0 {
			return last
		}
		last = more.NextSince
	}
}

// Pensioner is a fixture record set for a living pensioner declared in
// municipality atvk since 2010, born on birth (YYYY-MM-DD).
func Pensioner(birth, atvk string) map[string]any {
	return map[string]any{
		"person":     PersonRecord(birth, atvk),
		"pensioners": map[string]any{"pensionType": "old-age", "validFrom": "2015-01-01", "validTo": nil},
	}
}

// PersonRecord is a PMLP record of a living person.
func PersonRecord(birth, atvk string) map[string]any {
	return map[string]any{
		"givenName": "Test", "familyName": "Person", "birthDate": birth, "sex": "F", "status": "active",
		"declaredAddress": map[string]any{
			"municipality": map[string]any{"atvk": atvk, "name": "Test municipality"},
			"validFrom":    "2010-01-01",
		},
	}
}
