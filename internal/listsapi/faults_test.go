package listsapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/listfile/listgen"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/store"
)

func xlsxFile(t testing.TB, rows int) []byte {
	var b bytes.Buffer
	if _, err := listgen.WriteXLSX(&b, listgen.Options{Rows: rows, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zipBomb is a package shaped like a workbook whose sheet inflates to 64 MB
// of blanks from a few dozen kilobytes.
func zipBomb(t testing.TB) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	add("[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)
	add("xl/workbook.xml", `<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>`)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	blank := bytes.Repeat([]byte(" "), 1<<20)
	for range 64 {
		w.Write(blank)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadFilesLeaveTheListUntouched uploads each kind of broken file over a
// list that has a version, and checks the upload is rejected with a clear
// reason and the list is still the same version.
func TestBadFilesLeaveTheListUntouched(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	good := uploadAndWait(h, tk.a, "faults", form{file: csvFile(newCode(1)+";2026-01-01;", newCode(2)+";2026-01-01;")})
	if good.Status != "applied" {
		t.Fatalf("setup upload: %+v", good)
	}
	whole := xlsxFile(t, 2000)
	tests := []struct {
		name     string
		file     []byte
		filename string
		policy   string
		code     string
	}{
		{name: "truncated xlsx", file: whole[:len(whole)/2], filename: "list.xlsx", code: "xlsx.truncated"},
		{name: "zip bomb", file: zipBomb(t), filename: "bomb.xlsx", code: "file.zip_bomb"},
		{name: "non-UTF-8 csv", file: []byte("person_code,valid_from,valid_to\n" + newCode(3) + ",2026-01-01,\n" + newCode(4) + ",2026-01-01,B\xe7rzi\n"), code: "file.not_utf8"},
		{name: "10 MB line", file: append([]byte("person_code,valid_from,valid_to\n"), bytes.Repeat([]byte("x"), 10<<20)...), code: "line.too_long"},
		{name: "bad row, all or nothing", file: csvFile(newCode(5)+";2026-01-01;", badChecksum(t, 1)+";2026-01-01;"), code: "upload.invalid_rows"},
		{name: "duplicate row, all or nothing", file: csvFile(newCode(5)+";2026-01-01;", strings.ReplaceAll(newCode(5), "-", "")+";2026-02-01;"), code: "upload.invalid_rows"},
		{name: "only bad rows, skip invalid", file: csvFile(badChecksum(t, 1) + ";2026-01-01;"), policy: "skip-invalid", code: "upload.no_valid_rows"},
		{name: "header only", file: []byte("person_code,valid_from,valid_to\n"), code: "file.no_rows"},
		{name: "wrong header", file: []byte("name,surname\nJānis,Bērziņš\n"), code: "file.header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := uploadAndWait(h, tk.a, "faults", form{file: tc.file, filename: tc.filename, policy: tc.policy})
			if u.Status != "rejected" || u.FailureCode != tc.code || u.FailureReason == "" {
				t.Fatalf("upload ended %s %q (%s), want rejected %s", u.Status, u.FailureCode, u.FailureReason, tc.code)
			}
			t.Logf("%s: %s", u.FailureCode, u.FailureReason)
			if l := getList(h, tk.a, "faults"); l.Version != 1 || l.Size != 2 {
				t.Fatalf("list changed: %+v", l)
			}
			// The report names the problem too.
			res := h.Do("GET", "/v1/uploads/"+u.ID+"/errors", tk.a, nil, "Accept-Language", "lv")
			var page errorPage
			res.JSON(t, &page)
			if len(page.Items) == 0 {
				t.Fatalf("empty report: %s", res.Body)
			}
		})
	}
}

// TestReportNeutralisesFormulas checks that values a spreadsheet would run
// as formulas reach the CSV report only defused.
func TestReportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	u := uploadAndWait(h, tk.a, "formulas", form{policy: "skip-invalid", file: csvFile(
		newCode(1)+";2026-01-01;",
		`"=HYPERLINK(""http://evil.example/"",""click"")";2026-01-01;`,
		`+1-2;2026-01-01;`,
		`@SUM(A1);2026-01-01;`,
		newCode(2)+`;=1+1;`,
	)})
	if u.Status != "applied" || *u.ValidRows != 1 || *u.InvalidRows != 4 {
		t.Fatalf("upload %+v", u)
	}
	for _, lang := range []string{"en", "lv"} {
		path := "/v1/uploads/" + u.ID + "/errors?format=csv"
		do := h.Do
		if lang == "lv" {
			// Semicolons are not RFC 4180, which the contract checker
			// parses by; read this one with a plain client.
			path += "&delimiter=semicolon"
			do = rawDo(h)
		}
		res := do("GET", path, tk.a, nil, "Accept-Language", lang)
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\ufeff"))))
		if lang == "lv" {
			r.Comma = ';'
		}
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v\n%s", lang, err, res.Body)
		}
		if len(recs) != 5 {
			t.Fatalf("%s: %d records:\n%s", lang, len(recs), res.Body)
		}
		for _, rec := range recs[1:] {
			for _, cell := range rec {
				if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("%s: cell %q would run as a formula", lang, cell)
				}
			}
		}
		if lang == "lv" && recs[0][0] != "rinda" {
			t.Errorf("Latvian header %q", recs[0])
		}
		if !strings.Contains(string(res.Body), `'=HYPERLINK`) {
			t.Errorf("%s: formula not kept as defused text:\n%s", lang, res.Body)
		}
	}
	// The same through Accept: text/csv.
	res := h.Do("GET", "/v1/uploads/"+u.ID+"/errors", tk.a, nil, "Accept", "text/csv")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("Accept: text/csv gave %s", res.Header.Get("Content-Type"))
	}
	// q=0 means "not that one".
	res = h.Do("GET", "/v1/uploads/"+u.ID+"/errors", tk.a, nil, "Accept", "text/csv;q=0, */*")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("Accept: text/csv;q=0, */* gave %s", res.Header.Get("Content-Type"))
	}
}

// signedList builds a person-list XML document and signs it.
func signedList(t testing.TB, s *signing.Signer, listID string, codes ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<PersonList xmlns="urn:avis:person-list:1" listId="%s">`, listID)
	for _, c := range codes {
		fmt.Fprintf(&b, "\n  <Person><PersonCode>%s</PersonCode><ValidFrom>2026-01-01</ValidFrom><ValidTo>2026-12-31</ValidTo></Person>", c)
	}
	b.WriteString("\n</PersonList>\n")
	doc, err := s.SignDocument([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func newSigner(t testing.TB, name string) *signing.Signer {
	key, cert, err := signing.GenerateSelfSigned(name, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mutateXML(t testing.TB, doc []byte, f func(root *etree.Element)) []byte {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	f(d.Root())
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func signatureOf(root *etree.Element) *etree.Element {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			return c
		}
	}
	return nil
}

// TestSignedXML accepts a list signed with a registered certificate and
// refuses the signature-wrapping corpus, leaving the list untouched.
func TestSignedXML(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	grantor := newSigner(t, "Rīgas valstspilsētas pašvaldība")
	attacker := newSigner(t, "attacker")
	if _, err := store.NewLists(h.App.Pool).AddGrantorCertificates(context.Background(), grantorA, grantor.CertificatePEM()); err != nil {
		t.Fatal(err)
	}
	// Before anything: grantor B has no certificate at all.
	u := uploadAndWait(h, tk.b, "b-xml", form{file: signedList(t, grantor, "b-xml", newCode(1)), filename: "list.xml"})
	if u.Status != "rejected" || u.FailureCode != "xml.no_certificate" {
		t.Fatalf("no certificate: %+v", u)
	}

	good := signedList(t, grantor, "xml", newCode(1), oldCode(t, 2), newCode(3))
	u = uploadAndWait(h, tk.a, "xml", form{file: good, filename: "list.xml"})
	if u.Status != "applied" || u.Format != "xml" || *u.ValidRows != 3 || u.RowsRead != 3 || u.BytesRead != u.Bytes {
		t.Fatalf("signed list: %+v", u)
	}

	inner := strings.TrimPrefix(string(good), `<?xml version="1.0" encoding="UTF-8"?>`)
	forged := `<PersonList xmlns="urn:avis:person-list:1" listId="xml"><Person><PersonCode>` + newCode(666) + `</PersonCode><ValidFrom>2026-01-01</ValidFrom></Person>`
	tests := []struct {
		name string
		doc  []byte
		code string
	}{
		{"tampered code", bytes.Replace(good, []byte(newCode(3)), []byte(newCode(4)), 1), "xml.signature_invalid"},
		{"person added", mutateXML(t, good, func(r *etree.Element) {
			p := r.CreateElement("Person")
			p.CreateElement("PersonCode").SetText(newCode(9))
			p.CreateElement("ValidFrom").SetText("2026-01-01")
		}), "xml.signature_invalid"},
		{"signature stripped", mutateXML(t, good, func(r *etree.Element) { r.RemoveChild(signatureOf(r)) }), "xml.not_signed"},
		{"unsigned", []byte(`<PersonList xmlns="urn:avis:person-list:1" listId="xml"><Person><PersonCode>` + newCode(1) + `</PersonCode><ValidFrom>2026-01-01</ValidFrom></Person></PersonList>`), "xml.not_signed"},
		{"signed root wrapped in a forged root", []byte(forged + `<Wrapper>` + inner + `</Wrapper></PersonList>`), "xml.signature_wrapped"},
		{"signature moved into a Person", mutateXML(t, good, func(r *etree.Element) {
			s := signatureOf(r)
			r.RemoveChild(s)
			r.SelectElement("Person").AddChild(s)
		}), "xml.signature_wrapped"},
		{"signature duplicated", mutateXML(t, good, func(r *etree.Element) { r.AddChild(signatureOf(r).Copy()) }), "xml.signature_wrapped"},
		{"signed by an unregistered key", signedList(t, attacker, "xml", newCode(666)), "xml.certificate_untrusted"},
		{"signed for another list", signedList(t, grantor, "another-list", newCode(666)), "xml.list_id"},
		{"DTD with an entity", []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>` + inner), "xml.malformed"},
		{"not a person list", mustSign(t, grantor, `<Other xmlns="urn:x"><a/></Other>`), "xml.format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := uploadAndWait(h, tk.a, "xml", form{file: tc.doc, filename: "list.xml"})
			if u.Status != "rejected" || u.FailureCode != tc.code {
				t.Fatalf("ended %s %q (%s), want rejected %s", u.Status, u.FailureCode, u.FailureReason, tc.code)
			}
			t.Logf("%s: %s", u.FailureCode, u.FailureReason)
			if l := getList(h, tk.a, "xml"); l.Version != 1 || l.Size != 3 {
				t.Fatalf("list changed: %+v", l)
			}
		})
	}

	// Removal needs codes only, as from a CSV file: a Person without
	// ValidFrom, or with a date nobody uses, still removes the person.
	remove := mustSign(t, grantor, `<PersonList xmlns="urn:avis:person-list:1" listId="xml">`+
		`<Person><PersonCode>`+newCode(1)+`</PersonCode></Person>`+
		`<Person><PersonCode>`+newCode(3)+`</PersonCode><ValidFrom>not a date</ValidFrom><ValidTo>1800-01-01</ValidTo></Person>`+
		`</PersonList>`)
	u = uploadAndWait(h, tk.a, "xml", form{mode: "remove", file: remove, filename: "list.xml"})
	if l := getList(h, tk.a, "xml"); u.Status != "applied" || *u.InvalidRows != 0 || l.Size != 1 || *l.Removed != 2 {
		t.Fatalf("remove by signed codes alone: %+v (%s) %+v", u, u.FailureReason, l)
	}
}

func mustSign(t testing.TB, s *signing.Signer, doc string) []byte {
	out, err := s.SignDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
