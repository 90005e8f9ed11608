package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// ErrCursorExpired means the registry no longer knows a changes cursor
// (after a reset, or too old) or refuses it as one it never issued (it was
// restarted, perhaps on other data): follow the feed again from its start.
var ErrCursorExpired = errors.New("registry changes cursor expired")

// Change is one changed record of a changes feed. Removed: the person left
// the data set. Record is the record as it is now (empty when removed).
type Change struct {
	PersonCode string
	Removed    bool
	Record     json.RawMessage
}

// ChangesPage is one page of a data set's changes feed.
type ChangesPage struct {
	Changes    []Change
	NextCursor string
	HasMore    bool
}

// Changes reads the page of data set d's changed records after cursor
// ("" for the start of the feed).
func (c *Client) Changes(ctx context.Context, d Dataset, cursor string, limit int) (ChangesPage, error) {
	st, ok := c.sets[d]
	if !ok {
		return ChangesPage{}, fmt.Errorf("registry: unknown data set %q", d)
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("since", cursor)
	}
	body, err := c.fetchFeed(ctx, st, "/dagr/v1/"+url.PathEscape(string(d))+"/changes?"+q.Encode())
	if err != nil {
		return ChangesPage{}, err
	}
	var doc struct {
		Changes []struct {
			PersonCode string          `json:"personCode"`
			Change     string          `json:"change"`
			Record     json.RawMessage `json:"record"`
		} `json:"changes"`
		NextCursor string `json:"nextCursor"`
		HasMore    bool   `json:"hasMore"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return ChangesPage{}, fmt.Errorf("%w: %s: changes page: %w", ErrUnavailable, d, err)
	}
	p := ChangesPage{NextCursor: doc.NextCursor, HasMore: doc.HasMore, Changes: make([]Change, len(doc.Changes))}
	for i, ch := range doc.Changes {
		p.Changes[i] = Change{PersonCode: ch.PersonCode, Removed: ch.Change == "removed", Record: ch.Record}
	}
	return p, nil
}
