package server

import (
	"strings"
	"sync"
	"time"
)

// JournalEntry is one request the mocks received on a /dagr/ endpoint.
// Paths hold personal codes: the journal is a test tool over synthetic
// data, but do not feed it real personal data.
type JournalEntry struct {
	Seq              uint64    `json:"seq"`
	Time             time.Time `json:"time"`
	RequestID        string    `json:"requestId"`
	Method           string    `json:"method"`
	Path             string    `json:"path"`
	Query            string    `json:"query,omitempty"`
	Endpoint         string    `json:"endpoint"`
	Dataset          string    `json:"dataset,omitempty"`
	Status           int       `json:"status"`
	DurationMs       int64     `json:"durationMs"`
	ClientID         string    `json:"clientId,omitempty"`
	PermissionNumber string    `json:"permissionNumber,omitempty"`
	Authorized       bool      `json:"authorized"`
	Scenario         string    `json:"scenario,omitempty"`
	ProblemType      string    `json:"problemType,omitempty"`
}

// journal is a bounded ring of the most recent entries.
type journal struct {
	size    int
	mu      sync.Mutex
	entries []JournalEntry
	next    int // ring position of the next write
	full    bool
	seq     uint64
}

func newJournal(size int) *journal {
	return &journal{size: size, entries: make([]JournalEntry, size)}
}

func (j *journal) add(e JournalEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	j.entries[j.next] = e
	j.next = (j.next + 1) % len(j.entries)
	if j.next == 0 {
		j.full = true
	}
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.entries)
	j.next, j.full = 0, false
}

// journalFilter selects entries; zero fields match everything.
type journalFilter struct {
	dataset    string
	pathPrefix string
	method     string
	sinceSeq   uint64
	sinceTime  time.Time
	limit      int
}

// find returns up to f.limit matching entries, oldest first.
func (j *journal) find(f journalFilter) []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	n, start := j.next, 0
	if j.full {
		n, start = len(j.entries), j.next
	}
	out := []JournalEntry{}
	for k := 0; k < n && len(out) < f.limit; k++ {
		e := j.entries[(start+k)%len(j.entries)]
		switch {
		case e.Seq <= f.sinceSeq,
			!f.sinceTime.IsZero() && !e.Time.After(f.sinceTime),
			f.dataset != "" && e.Dataset != f.dataset,
			f.method != "" && !strings.EqualFold(e.Method, f.method),
			f.pathPrefix != "" && !strings.HasPrefix(e.Path, f.pathPrefix):
			continue
		}
		out = append(out, e)
	}
	return out
}

// lastSeq is the sequence number of the newest entry ever written.
func (j *journal) lastSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}
