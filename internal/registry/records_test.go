package registry

import (
	"testing"
	"time"
)

func TestDecodeStatusKinds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    Dataset
		body string
		kind string
		to   string
	}{
		{Pensioners, `{"personCode":"x","pensionType":"old-age","validFrom":"2015-01-01","validTo":null}`, "old-age", ""},
		{Needy, `{"status":"low-income","municipality":{"atvk":"0001000","name":"Rīga"},"validFrom":"2026-01-01","validTo":"2026-06-30"}`, "low-income", "2026-06-30"},
		{Disability, `{"group":"II","validFrom":"2020-01-01"}`, "II", ""},
		{Repressed, `{"categories":["politically-repressed"],"validFrom":"1995-01-01","validTo":null}`, "", ""},
	} {
		r, err := DecodeStatus(tt.d, []byte(tt.body))
		if err != nil || r.Kind != tt.kind || (tt.to == "" && !r.ValidTo.IsZero()) || (tt.to != "" && r.ValidTo.Format(time.DateOnly) != tt.to) {
			t.Errorf("%s: %+v %v", tt.d, r, err)
		}
	}
	for _, bad := range []string{`{}`, `{"validFrom":"01.01.2020"}`, `[]`, `{"validFrom":"2020-01-01","validTo":5}`} {
		if _, err := DecodeStatus(Learners, []byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestTokenRequestDocumentEscapes(t *testing.T) {
	t.Parallel()
	doc := string(tokenRequestDocument("a<b&c", time.Unix(0, 0), time.Unix(60, 0), "n>1"))
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<TokenRequest><ClientId>a&lt;b&amp;c</ClientId><Created>1970-01-01T00:00:00Z</Created><Expires>1970-01-01T00:01:00Z</Expires><Nonce>n&gt;1</Nonce></TokenRequest>`
	if doc != want {
		t.Errorf("got %s", doc)
	}
}

// FuzzDecodeRecords feeds arbitrary registry answers to the decoders: they
// may refuse them, never panic.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte(`{"personCode":"15044511112","birthDate":"1945-04-15","status":"active","declaredAddress":{"municipality":{"atvk":"0001000","name":"Rīga"},"validFrom":"2000-01-01","previousMunicipality":{"atvk":"0002000","name":"D"}}}`))
	f.Add([]byte(`{"status":"deceased","dateOfDeath":"2026-01-01","birthDate":"1930-01-01"}`))
	f.Add([]byte(`{"pensionType":"old-age","validFrom":"2015-01-01","validTo":null}`))
	f.Add([]byte(`{"cards":[{"number":"PA1","status":"valid","validFrom":"2020-01-01","validTo":"2030-01-01"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, err := DecodePerson(body); err == nil && p.BirthDate.IsZero() {
			t.Fatalf("a person without a birth date decoded: %s", body)
		}
		for _, d := range Datasets() {
			if r, err := DecodeStatus(d, body); err == nil && r.ValidFrom.IsZero() {
				t.Fatalf("a %s record without validFrom decoded: %s", d, body)
			}
		}
		if e, err := DecodeEID(body); err == nil {
			e.CardValidOn("PA1", time.Now())
		}
	})
}
