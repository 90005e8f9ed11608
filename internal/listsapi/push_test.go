package listsapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/problem"
)

type member struct {
	PersonCode string `json:"personCode"`
	ValidFrom  string `json:"validFrom,omitempty"`
	ValidTo    string `json:"validTo,omitempty"`
}

type push struct {
	Mode    string   `json:"mode"`
	Members []member `json:"members"`
}

func members(from, n int) []member {
	out := make([]member, n)
	for i := range out {
		out[i] = member{PersonCode: newCode(from + i), ValidFrom: "2026-01-01"}
	}
	return out
}

func TestPushStatuses(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	// grantor B owns this one.
	if res := h.Do("POST", "/v1/lists/owned-by-b/members", tk.b, push{Mode: "replace", Members: members(0, 1)}, "Idempotency-Key", "key-b-000001"); res.Status != 200 {
		t.Fatalf("setup: %d %s", res.Status, res.Body)
	}
	valid := oldCode(t, 5)
	tests := []struct {
		name    string
		list    string
		token   string
		body    any
		key     string
		status  int
		ptype   string
		pointer string
		code    string
	}{
		{name: "replace", list: "l-ok", token: tk.a, body: push{"replace", []member{{PersonCode: valid, ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}, {PersonCode: newCode(1)}}}, status: 200},
		{name: "empty replace", list: "l-empty", token: tk.a, body: push{"replace", []member{}}, status: 200},
		{name: "checksum", list: "l-bad", token: tk.a, body: push{"replace", []member{{PersonCode: valid}, {PersonCode: badChecksum(t, 7)}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/1/personCode", code: "person_code.invalid_checksum"},
		{name: "impossible birth date", list: "l-bad", token: tk.a, body: push{"replace", []member{{PersonCode: "310290-10000"}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/0/personCode", code: "person_code.birth_date"},
		{name: "duplicate in both formats", list: "l-bad", token: tk.a, body: push{"add", []member{{PersonCode: valid}, {PersonCode: strings.ReplaceAll(valid, "-", "")}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/1/personCode", code: "members.duplicate"},
		{name: "dates reversed", list: "l-bad", token: tk.a, body: push{"replace", []member{{PersonCode: valid, ValidFrom: "2026-05-01", ValidTo: "2026-04-30"}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/0/validTo", code: "date.order"},
		{name: "year 1 is no open end", list: "l-bad", token: tk.a, body: push{"replace", []member{{PersonCode: valid, ValidFrom: "0001-01-01"}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/0/validFrom", code: "date.out_of_range"},
		{name: "contract pattern", list: "l-bad", token: tk.a, body: push{"replace", []member{{PersonCode: "abc"}}},
			status: 400, ptype: problem.Validation.Type(), pointer: "/members/0/personCode", code: "schema.pattern"},
		{name: "unknown mode", list: "l-bad", token: tk.a, body: push{"merge", nil},
			status: 400, ptype: problem.Validation.Type()},
		{name: "no idempotency key", list: "l-bad", token: tk.a, body: push{"replace", members(0, 1)}, key: "-",
			status: 400, ptype: problem.Validation.Type()},
		{name: "another grantor's list", list: "owned-by-b", token: tk.a, body: push{"replace", members(0, 1)},
			status: 403, ptype: problem.NotOwner.Type()},
		{name: "provider", list: "l-prov", token: tk.prov, body: push{"replace", members(0, 1)},
			status: 403, ptype: problem.Forbidden.Type()},
		{name: "no token", list: "l-prov", token: "", body: push{"replace", members(0, 1)},
			status: 401, ptype: problem.Unauthorized.Type()},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			switch key {
			case "":
				key = "push-key-" + strings.Repeat("x", 3) + string(rune('a'+i))
			case "-":
				key = ""
			}
			var headers []string
			if key != "" {
				headers = []string{"Idempotency-Key", key}
			}
			res := h.Do("POST", "/v1/lists/"+tc.list+"/members", tc.token, tc.body, headers...)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.status == 200 {
				var l listView
				res.JSON(t, &l)
				if l.Version != 1 || l.ID != tc.list {
					t.Fatalf("list %+v", l)
				}
				return
			}
			p := res.Problem(t)
			if p.Type != tc.ptype {
				t.Fatalf("type %s, want %s", p.Type, tc.ptype)
			}
			if tc.pointer != "" {
				found := false
				for _, e := range p.Errors {
					if e.Pointer == tc.pointer && e.Code == tc.code {
						found = true
					}
				}
				if !found {
					t.Fatalf("no error %s %s in %s", tc.pointer, tc.code, res.Body)
				}
			}
		})
	}
	// A refused push leaves nothing behind.
	if res := h.Do("GET", "/v1/lists/l-bad", tk.a, nil); res.Status != 404 {
		t.Fatalf("l-bad after refusals: %d %s", res.Status, res.Body)
	}
	if l := getList(h, tk.b, "owned-by-b"); l.Version != 1 || l.Size != 1 {
		t.Fatalf("B's list changed: %+v", l)
	}
}

func TestPushModesAndIdempotency(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	do := func(key string, p push) gatewaytest.Response {
		t.Helper()
		return h.Do("POST", "/v1/lists/modes/members", tk.a, p, "Idempotency-Key", key)
	}
	decode := func(res gatewaytest.Response) listView {
		t.Helper()
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var l listView
		res.JSON(t, &l)
		return l
	}
	l := decode(do("k-replace-1", push{"replace", members(0, 10)}))
	if l.Version != 1 || l.Size != 10 || *l.Added != 10 || *l.Removed != 0 {
		t.Fatalf("replace: %+v", l)
	}
	l = decode(do("k-add-00001", push{"add", members(5, 10)}))
	if l.Version != 2 || l.Size != 15 || *l.Added != 5 || *l.PreviousVersion != 1 {
		t.Fatalf("add: %+v", l)
	}
	l = decode(do("k-remove-01", push{"remove", []member{{PersonCode: newCode(0)}, {PersonCode: newCode(1)}, {PersonCode: newCode(999)}}}))
	if l.Version != 3 || l.Size != 13 || *l.Removed != 2 {
		t.Fatalf("remove: %+v", l)
	}
	l = decode(do("k-replace-2", push{"replace", members(10, 5)}))
	if l.Version != 4 || l.Size != 5 || *l.Added != 0 || *l.Removed != 8 {
		t.Fatalf("replace 2: %+v", l)
	}

	// The same key and body: the first answer again, no new version.
	first := do("k-replay-01", push{"add", members(100, 3)})
	again := do("k-replay-01", push{"add", members(100, 3)})
	if string(first.Body) != string(again.Body) {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	if got := getList(h, tk.a, "modes"); got.Version != 5 || got.Size != 8 {
		t.Fatalf("after replay: %+v", got)
	}
	// The same push spelt otherwise (spacing, member order of keys) is the
	// same request: a client that serialises again on retry replays.
	ms, err := json.MarshalIndent(members(100, 3), "  ", "   ")
	if err != nil {
		t.Fatal(err)
	}
	respelt := []byte("{\n  \"members\": " + string(ms) + ",\n  \"mode\" : \"add\"\n}\n")
	again = h.Do("POST", "/v1/lists/modes/members", tk.a, respelt, "Idempotency-Key", "k-replay-01")
	if string(first.Body) != string(again.Body) {
		t.Fatalf("replay of the push spelt otherwise (%s):\n%s\n%s", respelt, first.Body, again.Body)
	}
	// The same key with another body is refused.
	res := do("k-replay-01", push{"add", members(200, 3)})
	if res.Status != http.StatusUnprocessableEntity || res.Problem(t).Type != problem.IdempotencyReuse.Type() {
		t.Fatalf("reused key: %d %s", res.Status, res.Body)
	}
	// Another list with the same key is another request too.
	res = h.Do("POST", "/v1/lists/other/members", tk.a, push{"add", members(100, 3)}, "Idempotency-Key", "k-replay-01")
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other list: %d %s", res.Status, res.Body)
	}
}

func TestGetListStatuses(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	if res := h.Do("POST", "/v1/lists/mine/members", tk.a, push{"replace", members(0, 3)}, "Idempotency-Key", "get-list-1"); res.Status != 200 {
		t.Fatal(res.Status, string(res.Body))
	}
	for _, tc := range []struct {
		name, list, token string
		status            int
	}{
		{"own", "mine", tk.a, 200},
		{"another grantor's", "mine", tk.b, 403},
		{"missing", "nobody", tk.a, 404},
		{"provider", "mine", tk.prov, 403},
		{"bad id", "no%20spaces", tk.a, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Do("GET", "/v1/lists/"+tc.list, tc.token, nil, "Accept-Language", "lv")
			if res.Status != tc.status {
				t.Fatalf("%d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.status == 200 {
				var l listView
				if err := json.Unmarshal(res.Body, &l); err != nil || l.Size != 3 || l.Version != 1 {
					t.Fatalf("%s", res.Body)
				}
			}
		})
	}
}

func TestPushLarge(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	res := h.Do("POST", "/v1/lists/large/members", tk.a, push{"replace", members(0, 20000)}, "Idempotency-Key", "large-push-1")
	if res.Status != 200 {
		t.Fatalf("%d %.300s", res.Status, res.Body)
	}
	if l := getList(h, tk.a, "large"); l.Size != 20000 {
		t.Fatalf("%+v", l)
	}
}

// A push with more bad members than a problem lists says that some were
// left out, in the detail and in errorsTruncated.
func TestPushManyBadMembersIsTruncated(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	bad := make([]member, problem.MaxErrors+50)
	for i := range bad {
		bad[i] = member{PersonCode: badChecksum(t, i)}
	}
	res := h.Do("POST", "/v1/lists/many-bad/members", tk.a, push{"replace", bad}, "Idempotency-Key", "many-bad-push-1")
	var p struct {
		Detail          string
		Errors          []struct{ Pointer, Code string }
		ErrorsTruncated bool
	}
	res.JSON(t, &p)
	if res.Status != 400 || len(p.Errors) != problem.MaxErrors || !p.ErrorsTruncated || !strings.Contains(p.Detail, "50 more") ||
		p.Errors[0].Code != "person_code.invalid_checksum" {
		t.Fatalf("%d %.400s", res.Status, res.Body)
	}
}

// A benefit may be given only to the grantor's own person lists: one built
// on another grantor's list would tell its grantor, check by check, who is
// on that list. A list nobody owns yet becomes the benefit's grantor's.
func TestBenefitOnlyOnOwnLists(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	if res := h.Do("POST", "/v1/lists/needy-of-b/members", tk.b, push{Mode: "replace", Members: members(0, 2)}, "Idempotency-Key", "key-b-needy-1"); res.Status != 200 {
		t.Fatalf("setup: %d %s", res.Status, res.Body)
	}
	benefit := func(list string) map[string]any {
		return map[string]any{
			"name": "Spy", "category": "catering", "ekkCode": "6421", "validFrom": "2026-01-01", "priority": 1,
			"combinable": true, "discount": map[string]any{"type": "fixed", "amountCents": 1}, "goodsCodes": []string{"*"},
			"providers": []string{provider}, "recipientGroup": map[string]any{"personListId": list},
		}
	}
	res := h.Do("PUT", "/v1/benefits/spy", tk.a, benefit("needy-of-b"))
	if res.Status != 422 || !strings.Contains(string(res.Body), `"pointer":"/recipientGroup/personListId"`) || !strings.Contains(string(res.Body), "list.not_owner") {
		t.Fatalf("benefit on another grantor's list: %d %s", res.Status, res.Body)
	}
	// A list that does not exist yet is claimed by the benefit's grantor.
	if res := h.Do("PUT", "/v1/benefits/own", tk.a, benefit("future-list-of-a")); res.Status != 201 {
		t.Fatalf("benefit on a new list: %d %s", res.Status, res.Body)
	}
	if res := h.Do("POST", "/v1/lists/future-list-of-a/members", tk.b, push{Mode: "replace", Members: members(0, 1)}, "Idempotency-Key", "key-b-squat-1"); res.Status != 403 {
		t.Fatalf("another grantor took over the claimed list: %d %s", res.Status, res.Body)
	}
	if res := h.Do("POST", "/v1/lists/future-list-of-a/members", tk.a, push{Mode: "replace", Members: members(0, 1)}, "Idempotency-Key", "key-a-claim-1"); res.Status != 200 {
		t.Fatalf("the claiming grantor's first push: %d %s", res.Status, res.Body)
	}
}
