package transactions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// listStore answers listings with the items given and records where each
// was asked to start; the rest of Store is not reached by the listings.
type listStore struct {
	Store
	items     []Transaction
	after     Position
	saleAfter SalePosition
}

func (s *listStore) ListForGrantor(_ context.Context, _ string, _ Filter, _ *time.Location, after Position, _ int) ([]Transaction, error) {
	s.after = after
	return s.items, nil
}

func (s *listStore) ListForProvider(_ context.Context, _ string, _ ReportedFilter, after SalePosition, _ int) ([]Transaction, error) {
	s.saleAfter = after
	return s.items, nil
}

func listService(st Store) *Service {
	return NewService(st, nil, Config{Location: time.UTC})
}

// FuzzGrantorListingCursor: a grantor's cursor never panics the listing,
// anything but a cursor the listing made is refused as invalid, and the
// cursor after a page starts the next listing at that page's last item.
func FuzzGrantorListingCursor(f *testing.F) {
	f.Add("eAAAAAAAAAAAAAAAAAAAAAA", uint64(0), int64(0))
	f.Add("dAAAAAAAAAAB", uint64(1<<63), int64(-1)) // the older seq-only form
	f.Add("bogus", uint64(77), int64(12))
	f.Fuzz(func(t *testing.T, cursor string, xid uint64, seq int64) {
		st := &listStore{}
		s := listService(st)
		if _, _, _, err := s.List(context.Background(), "g", Filter{}, cursor, 10); err != nil && !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("List(cursor %q): %v", cursor, err)
		}
		want := Position{XID: xid, Seq: seq}
		st.items = []Transaction{{ID: uuid.New(), Position: want}}
		_, resume, _, err := s.List(context.Background(), "g", Filter{}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		st.items = nil
		if _, again, _, err := s.List(context.Background(), "g", Filter{}, resume, 10); err != nil || st.after != want || again != resume {
			t.Fatalf("the cursor after %+v starts the next page at %+v (%v) and an empty page moves it to %q from %q", want, st.after, err, again, resume)
		}
	})
}

// FuzzReportedListingCursor: the same for a provider's listing of its
// reported transactions.
func FuzzReportedListingCursor(f *testing.F) {
	f.Add("bwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", int64(0), []byte{1, 2, 3})
	f.Add("", int64(1_700_000_000_000_000), []byte{})
	f.Add("bogus", int64(-5), []byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, cursor string, micros int64, id []byte) {
		st := &listStore{}
		s := listService(st)
		if _, _, err := s.ListReported(context.Background(), "p", time.Time{}, time.Time{}, "", "", cursor, 10); err != nil && !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("ListReported(cursor %q): %v", cursor, err)
		}
		var want SalePosition
		want.OccurredAt = time.UnixMicro(micros)
		copy(want.ID[:], id)
		// One more item than the page holds: the answer has a next cursor.
		st.items = []Transaction{{ID: want.ID, OccurredAt: want.OccurredAt}, {ID: uuid.New()}}
		_, next, err := s.ListReported(context.Background(), "p", time.Time{}, time.Time{}, "", "", "", 1)
		if err != nil || next == "" {
			t.Fatalf("a page with more after it: next %q, %v", next, err)
		}
		st.items = nil
		if _, _, err := s.ListReported(context.Background(), "p", time.Time{}, time.Time{}, "", "", next, 1); err != nil ||
			!st.saleAfter.OccurredAt.Equal(want.OccurredAt) || st.saleAfter.ID != want.ID {
			t.Fatalf("the cursor after %+v starts the next page at %+v (%v)", want, st.saleAfter, err)
		}
	})
}
