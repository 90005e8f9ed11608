package means

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type memStore struct{ m map[string]Means }

func (s *memStore) Get(_ context.Context, t Type, number string) (Means, error) {
	m, ok := s.m[string(t)+"/"+number]
	if !ok {
		return Means{}, ErrNotFound
	}
	return m, nil
}

func (s *memStore) Upsert(_ context.Context, m Means) (Means, bool, error) {
	k := string(m.Type) + "/" + m.Number
	old, ok := s.m[k]
	if ok && old.Grantor != m.Grantor {
		return Means{}, false, ErrNotOwner
	}
	s.m[k] = m
	return m, !ok, nil
}

func (s *memStore) Revoke(_ context.Context, t Type, number, grantor string, _ time.Time) error {
	k := string(t) + "/" + number
	m, ok := s.m[k]
	switch {
	case !ok:
		return ErrNotFound
	case m.Grantor != grantor:
		return ErrNotOwner
	}
	m.Status = StatusRevoked
	s.m[k] = m
	return nil
}

func TestPutValidates(t *testing.T) {
	t.Parallel()
	d := func(s string) *time.Time { v, _ := time.Parse(time.DateOnly, s); return &v }
	for _, tt := range []struct {
		name   string
		t      Type
		number string
		reg    Registration
		want   []Violation
	}{
		{"bad type, number and code", "passport", "x", Registration{PersonCode: "123"}, []Violation{
			{Parameter: "type", Code: "schema.enum", Detail: "use eid_card, etalons, school_card or municipal_card", DetailLV: "izmantojiet eid_card, etalons, school_card vai municipal_card"},
			{Parameter: "number", Code: "schema.pattern", Detail: "4-32 characters of A-Z, a-z, 0-9 and -", DetailLV: "4–32 rakstzīmes no A–Z, a–z, 0–9 un -"},
			{Pointer: "/personCode", Code: "person_code.length"},
		}},
		{"checksum", Etalons, "ET-1", Registration{PersonCode: "150445-11113"}, []Violation{
			{Pointer: "/personCode", Code: "person_code.invalid_checksum"},
		}},
		{"dates", Etalons, "ET-1", Registration{PersonCode: "150445-11112", ValidFrom: d("2026-05-01"), ValidTo: d("2026-04-30")}, []Violation{
			{Pointer: "/validTo", Code: "dates.order"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewService(&memStore{m: map[string]Means{}}, nil, nil)
			_, _, err := s.Put(context.Background(), Caller{OrgRegNo: "90000000001"}, tt.t, tt.number, tt.reg)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, ve.Violations); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChangesInvalidate(t *testing.T) {
	t.Parallel()
	var changed []string
	s := NewService(&memStore{m: map[string]Means{}}, func(_ context.Context, t Type, n string) { changed = append(changed, string(t)+"/"+n) }, nil)
	ctx := context.Background()
	me, other := Caller{OrgRegNo: "90000000001"}, Caller{OrgRegNo: "90000000002"}
	m, created, err := s.Put(ctx, me, Etalons, "ET-1", Registration{PersonCode: "150445-11112"})
	if err != nil || !created || m.PersonCode != "15044511112" || m.Status != StatusActive {
		t.Fatalf("%+v %v %v", m, created, err)
	}
	if _, _, err := s.Put(ctx, other, Etalons, "ET-1", Registration{PersonCode: "150445-11112"}); !errors.Is(err, ErrNotOwner) {
		t.Errorf("other grantor: %v", err)
	}
	if err := s.Revoke(ctx, me, Etalons, "ET-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, me, "passport", "ET-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad type: %v", err)
	}
	if diff := cmp.Diff([]string{"etalons/ET-1", "etalons/ET-1"}, changed); diff != "" {
		t.Errorf("invalidations (-want +got):\n%s", diff)
	}
	got, err := s.Lookup(ctx, Etalons, "ET-1")
	if err != nil || got.ValidOn(time.Now()) {
		t.Errorf("a revoked means is valid: %+v %v", got, err)
	}
}
