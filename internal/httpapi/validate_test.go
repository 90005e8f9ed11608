package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/problem"
)

// The content type decides a 415, not the words of a member's name.
func TestUnsupportedMediaType(t *testing.T) {
	h, token := newServerWithToken(t)
	for _, tt := range []struct {
		name, ctype, body string
		status            int
	}{
		{"text", "text/plain", `{"mode":"replace","members":[]}`, 415},
		{"a member named like the error", "application/json", `{"mode":"replace","members":[],"unsupported content type":1}`, 400},
		{"another named like the other", "application/json", `{"mode":"replace","members":[],"header Content-Type has unexpected value":1}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/lists/l1/members", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("Idempotency-Key", "01a2060c-b7a1-7bb8-838e-3c19ef13da72")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p problem.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != tt.status {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if tt.status == 400 && (len(p.Errors) != 1 || p.Errors[0].Code != "schema.additionalProperties") {
				t.Fatalf("%s", rec.Body)
			}
		})
	}
}

// An unknown member is named whole, whatever its name holds.
func TestUnknownMemberPointer(t *testing.T) {
	for name, want := range map[string]string{
		"extra": "/extra", `a"b`: `/a"b`, "a/b~c": "/a~1b~0c", "line\nbreak": "/line\nbreak", "ā€": "/ā€", `back\slash`: `/back\slash`,
	} {
		got := schemaFieldError([]string{"members", "0"}, "properties", fmt.Sprintf("property %q is unsupported", name))
		if got.Pointer != "/members/0"+want || got.Code != "schema.additionalProperties" {
			t.Errorf("%q: %+v", name, got)
		}
	}
}

// kin-openapi's reasons that carry a bound, the allowed values or a name
// have a Latvian form; the rest have none, so that a Latvian answer gives
// the catalogue's text alone rather than English.
func TestSchemaHintLV(t *testing.T) {
	for reason, want := range map[string]string{
		"number must be at least 1":                         "mazākā pieļaujamā vērtība: 1",
		"number must be at most 1000":                       "lielākā pieļaujamā vērtība: 1000",
		"maximum string length is 64":                       "lielākais pieļaujamais garums: 64",
		"minimum number of items is 1":                      "mazākais pieļaujamais elementu skaits: 1",
		`value is not one of the allowed values ["a","b"]`:  `atļautās vērtības: ["a","b"]`,
		`property "category" is missing`:                    `trūkst lauka "category"`,
		`string doesn't match the format "date": bad month`: "formāts: date",
		"value must be an integer":                          "vajadzīgais tips: vesels skaitlis",
		"duplicate items found":                             "",
		`property "x" is unsupported`:                       "",
		"something kin-openapi may say one day":             "",
	} {
		if got := schemaHintLV(reason); got != want {
			t.Errorf("schemaHintLV(%q) = %q, want %q", reason, got, want)
		}
	}
}
