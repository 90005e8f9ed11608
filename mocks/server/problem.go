package server

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ProblemTypePrefix prefixes every problem type the mocks return; the slug
// after it is stable and listed in mocks/README.md.
const ProblemTypePrefix = "urn:avis:mocks:problem:"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []ProblemField `json:"errors,omitempty"`
}

// ProblemField names one offending field: a JSON pointer, an XML path, a
// query parameter or a header.
type ProblemField struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// problem is a problem we are about to write.
type problem struct {
	status int
	slug   string
	title  string
	detail string
	errors []ProblemField
	header http.Header
}

func newProblem(status int, slug, title, detail string) *problem {
	return &problem{status: status, slug: slug, title: title, detail: detail}
}

func (p *problem) withField(field, detail string) *problem {
	p.errors = append(p.errors, ProblemField{Field: field, Detail: detail})
	return p
}

func (p *problem) withHeader(k, v string) *problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(k, v)
	return p
}

func (p *problem) Error() string { return p.slug + ": " + p.detail }

func writeProblem(w http.ResponseWriter, p *problem) {
	for k, vs := range p.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if rw, ok := w.(*recorder); ok {
		rw.problemType = p.slug
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type:   ProblemTypePrefix + p.slug,
		Title:  p.title,
		Status: p.status,
		Detail: p.detail,
		Errors: p.errors,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// muxProblems turns the plain-text 404 and 405 answers of http.ServeMux into
// problem documents, so that every error the mocks give is problem+json.
type muxProblems struct {
	http.ResponseWriter
	replaced bool
}

func (m *muxProblems) WriteHeader(status int) {
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(m.Header().Get("Content-Type"), "text/plain") {
		m.replaced = true
		m.Header().Del("X-Content-Type-Options")
		slug, title := "not-found", "No such endpoint"
		if status == http.StatusMethodNotAllowed {
			slug, title = "method-not-allowed", "Method not allowed on this endpoint"
		}
		writeProblem(m.ResponseWriter, newProblem(status, slug, title, "see mocks/README.md for the endpoints"))
		return
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *muxProblems) Write(b []byte) (int, error) {
	if m.replaced {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}
