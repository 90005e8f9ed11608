package registry

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/avis-lv/gateway/internal/signing"
)

func TestDatasets(t *testing.T) {
	for i, d := range Datasets() {
		if d.Index() != i {
			t.Errorf("%s.Index() = %d, want %d", d, d.Index(), i)
		}
		if got, err := ParseDataset(string(d)); err != nil || got != d {
			t.Errorf("ParseDataset(%s) = %v, %v", d, got, err)
		}
		pn := d.DefaultPermissionNumber()
		if d.Keeper() == "" || !strings.HasPrefix(pn, "DAGR-") || !strings.HasSuffix(pn, strings.ToUpper(string(d))) {
			t.Errorf("%s: keeper %q, permission %q", d, d.Keeper(), pn)
		}
		for _, r := range pn {
			if r > 127 {
				t.Errorf("%s: permission number %q is not ASCII", d, pn)
			}
		}
		if r := NewRecord(d); r == nil || r.Dataset() != d {
			t.Errorf("NewRecord(%s) = %v", d, r)
		}
	}
	if _, err := ParseDataset("taxes"); err == nil || !strings.Contains(err.Error(), "pensioners") {
		t.Errorf("unknown data set error should list the valid ones: %v", err)
	}
	if Dataset("x").Index() != -1 {
		t.Error("unknown data set has an index")
	}
}

func TestDate(t *testing.T) {
	d := NewDate(2024, time.February, 29)
	b, err := json.Marshal(struct {
		D Date  `json:"d"`
		P *Date `json:"p"`
		Z Date  `json:"z"`
	}{D: d})
	if err != nil || string(b) != `{"d":"2024-02-29","p":null,"z":null}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	var back struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2024-02-29"}`), &back); err != nil || back.D != d {
		t.Errorf("unmarshal: %v %v", back.D, err)
	}
	for _, bad := range []string{`{"D":"2024-02-30"}`, `{"D":"29.02.2024"}`, `{"D":20240229}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	ages := []struct {
		birth, day Date
		want       int
	}{
		{NewDate(2000, 6, 15), NewDate(2018, 6, 14), 17},
		{NewDate(2000, 6, 15), NewDate(2018, 6, 15), 18},
		{NewDate(2000, 2, 29), NewDate(2018, 2, 28), 17},
		{NewDate(2000, 2, 29), NewDate(2018, 3, 1), 18},
		{NewDate(2000, 12, 31), NewDate(2001, 1, 1), 0},
	}
	for _, a := range ages {
		if got := AgeOn(a.birth, a.day); got != a.want {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", a.birth, a.day, got, a.want)
		}
	}
}

func TestDecodeRecord(t *testing.T) {
	const code = "32000000001"
	tests := []struct {
		name    string
		dataset Dataset
		body    string
		errs    []string // substrings the error must contain; none means success
	}{
		{name: "pensioner", dataset: Pensioners, body: `{"pensionType":"old-age","validFrom":"2020-01-01","validTo":null}`},
		{name: "code in body matches", dataset: Needy, body: `{"personCode":"32000000001","status":"needy","municipality":{"atvk":"0001000","name":"Rīga"},"validFrom":"2026-01-01","validTo":"2026-03-31"}`},
		{name: "code in body differs", dataset: Pensioners, body: `{"personCode":"32000000002","pensionType":"old-age","validFrom":"2020-01-01"}`, errs: []string{"differs"}},
		{name: "unknown field", dataset: Pensioners, body: `{"pensionType":"old-age","validFrom":"2020-01-01","bonus":1}`, errs: []string{`unknown field "bonus"`}},
		{name: "bad enum and period", dataset: Disability, body: `{"group":"IV","validFrom":"2026-01-01","validTo":"2025-01-01"}`, errs: []string{"group:", "validTo:"}},
		{name: "missing dates", dataset: Learners, body: `{"educationLevel":"basic","institution":{"code":"x","name":"y"}}`, errs: []string{"validTo: is required", "validFrom: is required"}},
		{name: "honour family needs 3 children", dataset: HonourFamilies, body: `{"cardNumber":"GK1","role":"parent","childrenCount":2,"validFrom":"2026-01-01","validTo":"2027-01-01"}`, errs: []string{"childrenCount"}},
		{name: "deceased needs date", dataset: Person, body: `{"givenName":"A","familyName":"B","birthDate":"1950-01-01","sex":"F","status":"deceased","declaredAddress":{"municipality":{"atvk":"0001000","name":"Rīga"},"validFrom":"2000-01-01"}}`, errs: []string{"dateOfDeath"}},
		{name: "bad ATVK", dataset: Needy, body: `{"status":"needy","municipality":{"atvk":"1","name":"Rīga"},"validFrom":"2026-01-01","validTo":"2026-03-31"}`, errs: []string{"municipality.atvk"}},
		{name: "card fields", dataset: EID, body: `{"cards":[{"number":"","status":"lost","validFrom":"2026-01-01","validTo":"2031-01-01"}]}`, errs: []string{"cards[0].number", "cards[0].status"}},
		{name: "repressed category", dataset: Repressed, body: `{"categories":["hero"],"validFrom":"1995-01-01"}`, errs: []string{"categories[0]"}},
		{name: "not an object", dataset: Orphans, body: `[1]`, errs: []string{"orphans"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRecord(tc.dataset, json.RawMessage(tc.body), code)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if r.Code() != code {
					t.Errorf("personCode = %q, want it filled from the URL", r.Code())
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestActive(t *testing.T) {
	day := NewDate(2026, 6, 1)
	to := NewDate(2026, 6, 1)
	for name, tc := range map[string]struct {
		r    Record
		want bool
	}{
		"open-ended pension":   {&PensionerRecord{ValidFrom: NewDate(2020, 1, 1)}, true},
		"ends today":           {&DisabilityRecord{ValidFrom: NewDate(2020, 1, 1), ValidTo: &to}, true},
		"starts tomorrow":      {&NeedyRecord{ValidFrom: day.AddDays(1), ValidTo: day.AddDays(90)}, false},
		"ended yesterday":      {&LearnerRecord{ValidFrom: NewDate(2020, 1, 1), ValidTo: day.AddDays(-1)}, false},
		"expired card only":    {&EIDRecord{Cards: []EIDCard{{Status: "expired", ValidFrom: NewDate(2020, 1, 1), ValidTo: NewDate(2030, 1, 1)}}}, false},
		"valid card":           {&EIDRecord{Cards: []EIDCard{{Status: "valid", ValidFrom: NewDate(2020, 1, 1), ValidTo: NewDate(2030, 1, 1)}}}, true},
		"deceased person":      {&PersonRecord{Status: "deceased"}, false},
		"honour family active": {&HonourFamilyRecord{ValidFrom: NewDate(2026, 1, 1), ValidTo: NewDate(2026, 12, 31)}, true},
	} {
		if got := tc.r.Active(day); got != tc.want {
			t.Errorf("%s: Active = %v, want %v", name, got, tc.want)
		}
	}
}

func TestTokenRequestRoundTrip(t *testing.T) {
	key, cert, err := signing.GenerateSelfSigned("client", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	req, err := NewTokenRequest("avis-gateway", now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	xml, err := req.Document().WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.SignDocument(xml)
	if err != nil {
		t.Fatal(err)
	}
	el, err := signing.NewVerifier(cert).WithClock(func() time.Time { return now }).Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseTokenRequest(el)
	if err != nil {
		t.Fatal(err)
	}
	if got != req {
		t.Errorf("round trip: got %+v, want %+v", got, req)
	}
}

func TestParseTokenRequestNamesTheField(t *testing.T) {
	tests := []struct{ xml, field string }{
		{`<Token/>`, "/"},
		{`<TokenRequest><ClientId>a</ClientId></TokenRequest>`, "/TokenRequest/Created"},
		{`<TokenRequest><Created/></TokenRequest>`, "/TokenRequest/Created"},
		{`<TokenRequest><ClientId>bad id!</ClientId><Created>2026-01-01T00:00:00Z</Created><Expires>2026-01-01T00:05:00Z</Expires><Nonce>0123456789abcdef</Nonce></TokenRequest>`, "/TokenRequest/ClientId"},
		{`<TokenRequest><ClientId>a</ClientId><Created>yesterday</Created><Expires>2026-01-01T00:05:00Z</Expires><Nonce>0123456789abcdef</Nonce></TokenRequest>`, "/TokenRequest/Created"},
		{`<TokenRequest><ClientId>a</ClientId><Created>2026-01-01T00:00:00Z</Created><Expires>2026-01-01T00:00:00Z</Expires><Nonce>0123456789abcdef</Nonce></TokenRequest>`, "/TokenRequest/Expires"},
		{`<TokenRequest><ClientId>a</ClientId><Created>2026-01-01T00:00:00Z</Created><Expires>2026-01-01T00:05:00Z</Expires><Nonce>short</Nonce></TokenRequest>`, "/TokenRequest/Nonce"},
		{`<TokenRequest><ClientId>a</ClientId><Created>2026-01-01T00:00:00Z</Created><Expires>2026-01-01T00:05:00Z</Expires><Nonce>0123456789abcdef</Nonce><Admin/></TokenRequest>`, "/TokenRequest/Admin"},
		{`<TokenRequest><ClientId><b>a</b></ClientId><Created/><Expires/><Nonce/></TokenRequest>`, "/TokenRequest/ClientId"},
	}
	for _, tc := range tests {
		d := etree.NewDocument()
		if err := d.ReadFromString(tc.xml); err != nil {
			t.Fatal(err)
		}
		_, err := ParseTokenRequest(d.Root())
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != tc.field {
			t.Errorf("%s: error %v, want field %s", tc.xml, err, tc.field)
		}
	}
}
