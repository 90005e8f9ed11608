package listsapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/personcode"
)

const (
	grantorA = "90000000001"
	grantorB = "90000000002"
	provider = "40000000001"
)

// newCode is the i-th new-format personal code (no check digit to get
// wrong), hyphenated.
func newCode(i int) string {
	return fmt.Sprintf("32%04d-%05d", i/100000, i%100000)
}

// oldCode is a valid old-format code born on 1 Jan 1990 with serial n.
func oldCode(t testing.TB, n int) string {
	first := fmt.Sprintf("0101901%03d", n)
	d, err := personcode.CheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first[:6] + "-" + first[6:] + string(d)
}

// badChecksum is an old-format code with a wrong check digit.
func badChecksum(t testing.TB, n int) string {
	c := oldCode(t, n)
	last := c[len(c)-1]
	return c[:len(c)-1] + string('0'+(last-'0'+1)%10)
}

type form struct {
	file     []byte
	filename string
	policy   string
	mode     string
	// fileLast puts the file part after the other fields.
	fileLast bool
	noFile   bool
}

func (f form) encode(t testing.TB) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	writeFile := func() {
		if f.noFile {
			return
		}
		name := f.filename
		if name == "" {
			name = "list.csv"
		}
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.file)
	}
	if !f.fileLast {
		writeFile()
	}
	if f.policy != "" {
		mw.WriteField("policy", f.policy)
	}
	if f.mode != "" {
		mw.WriteField("mode", f.mode)
	}
	if f.fileLast {
		writeFile()
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

type uploadView struct {
	ID            string `json:"id"`
	ListID        string `json:"listId"`
	Status        string `json:"status"`
	Format        string `json:"format"`
	Policy        string `json:"policy"`
	Mode          string `json:"mode"`
	Bytes         int64  `json:"bytes"`
	BytesRead     int64  `json:"bytesRead"`
	RowsRead      int64  `json:"rowsRead"`
	RowsTotal     *int64 `json:"rowsTotal"`
	ValidRows     *int64 `json:"validRows"`
	InvalidRows   *int64 `json:"invalidRows"`
	KeptRows      *int64 `json:"keptRows"`
	ListVersion   *int   `json:"listVersion"`
	FailureCode   string `json:"failureCode"`
	FailureReason string `json:"failureReason"`
}

type listView struct {
	ID              string `json:"id"`
	Version         int    `json:"version"`
	Size            int64  `json:"size"`
	PreviousVersion *int   `json:"previousVersion"`
	Added           *int64 `json:"added"`
	Removed         *int64 `json:"removed"`
}

type errorPage struct {
	Items []struct {
		Row     int    `json:"row"`
		Column  string `json:"column"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Value   string `json:"value"`
	} `json:"items"`
	NextCursor string `json:"nextCursor"`
	Total      int64  `json:"total"`
	Fatal      bool   `json:"fatal"`
}

func upload(h *gatewaytest.Harness, token, list string, f form, headers ...string) gatewaytest.Response {
	h.T.Helper()
	body, ctype := f.encode(h.T)
	return h.Do("POST", "/v1/lists/"+list+"/uploads", token, body, append([]string{"Content-Type", ctype}, headers...)...)
}

// uploadAndWait uploads and polls until the upload ends.
func uploadAndWait(h *gatewaytest.Harness, token, list string, f form) uploadView {
	h.T.Helper()
	res := upload(h, token, list, f)
	if res.Status != http.StatusAccepted {
		h.T.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var u uploadView
	res.JSON(h.T, &u)
	if loc := res.Header.Get("Location"); loc != "/v1/uploads/"+u.ID {
		h.T.Fatalf("Location %q, want /v1/uploads/%s", loc, u.ID)
	}
	return waitUpload(h, token, u.ID)
}

func waitUpload(h *gatewaytest.Harness, token, id string) uploadView {
	h.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := h.Do("GET", "/v1/uploads/"+id, token, nil)
		if res.Status != http.StatusOK {
			h.T.Fatalf("get upload: %d %s", res.Status, res.Body)
		}
		var u uploadView
		res.JSON(h.T, &u)
		switch u.Status {
		case "applied", "rejected", "failed":
			return u
		}
		if time.Now().After(deadline) {
			h.T.Fatalf("upload %s still %s", id, u.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getList(h *gatewaytest.Harness, token, list string) listView {
	h.T.Helper()
	res := h.Do("GET", "/v1/lists/"+list, token, nil)
	if res.Status != http.StatusOK {
		h.T.Fatalf("get list: %d %s", res.Status, res.Body)
	}
	var l listView
	res.JSON(h.T, &l)
	return l
}

func csvFile(rows ...string) []byte {
	return []byte("personas_kods;derīgs_no;derīgs_līdz\n" + strings.Join(rows, "\n") + "\n")
}

type tokens struct {
	a, b, prov string
}

func newTokens(h *gatewaytest.Harness) tokens {
	return tokens{
		a:    h.Token(grantorA, auth.RoleGrantor),
		b:    h.Token(grantorB, auth.RoleGrantor),
		prov: h.Token(provider, auth.RoleProvider),
	}
}

// rawDo is h.Do without the contract check, for responses the checker
// cannot parse (semicolon CSV).
func rawDo(h *gatewaytest.Harness) func(method, path, token string, body any, headers ...string) gatewaytest.Response {
	return func(method, path, token string, body any, headers ...string) gatewaytest.Response {
		h.T.Helper()
		prev := h.Client
		h.Client = &http.Client{Timeout: 30 * time.Second}
		defer func() { h.Client = prev }()
		return h.Do(method, path, token, body, headers...)
	}
}
