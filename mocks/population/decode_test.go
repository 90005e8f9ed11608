package population

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	gwregistry "github.com/avis-lv/gateway/internal/registry"
	"github.com/avis-lv/gateway/mocks/registry"
)

// Every synthetic record must be one the gateway reads as the registries
// mean it, and one the mocks would accept as a fixture: a record ending
// before it starts passes the gateway's decoders yet is nonsense to both.
// The population is sizeable and its as-of dates vary, because dates are
// placed around as-of while membership is fixed at popRef.
func TestRecordsPassTheDecoders(t *testing.T) {
	size := 30000
	if testing.Short() {
		size = 5000
	}
	for _, asOf := range []registry.Date{
		popRef,
		registry.NewDate(2026, time.June, 1),
		registry.NewDate(2027, time.March, 15),
		registry.NewDate(2031, time.September, 1),
	} {
		t.Run("as-of "+asOf.String(), func(t *testing.T) {
			t.Parallel()
			p, err := New(Config{Seed: 1, Size: size, AsOf: asOf})
			if err != nil {
				t.Fatal(err)
			}
			failures := 0
			p.Scan(0, size, "", func(per *Person) bool {
				for _, d := range registry.Datasets() {
					r := per.Record(d)
					if r == nil {
						continue
					}
					raw, err := json.Marshal(r)
					if err != nil {
						t.Fatal(err)
					}
					if err := checkRecord(d, raw, string(per.Code)); err != nil {
						t.Errorf("person %d %s, %s: %v\n%s", per.Index, per.Code, d, err, raw)
						failures++
					}
				}
				return failures < 10
			})
		})
	}
}

// checkRecord runs raw through the mocks' fixture validator and the
// gateway's decoder of data set d.
func checkRecord(d registry.Dataset, raw []byte, code string) error {
	if _, err := registry.DecodeRecord(d, raw, code); err != nil {
		return fmt.Errorf("mocks' fixture validator: %w", err)
	}
	gd := gwregistry.Dataset(d)
	period := func(what string, from, to gwregistry.Date) error {
		if !to.IsZero() && to.Before(from.Time) {
			return fmt.Errorf("gateway decoder: %s ends %s before it starts %s", what, to.Format(time.DateOnly), from.Format(time.DateOnly))
		}
		return nil
	}
	switch gd {
	case gwregistry.Person:
		p, err := gwregistry.DecodePerson(raw)
		if err != nil {
			return fmt.Errorf("gateway decoder: %w", err)
		}
		if p.PersonCode != code {
			return fmt.Errorf("gateway decoder: personCode %q", p.PersonCode)
		}
		return period("life", p.BirthDate, p.DateOfDeath)
	case gwregistry.EID:
		e, err := gwregistry.DecodeEID(raw)
		if err != nil {
			return fmt.Errorf("gateway decoder: %w", err)
		}
		for _, c := range e.Cards {
			if err := period("card "+c.Number, c.ValidFrom, c.ValidTo); err != nil {
				return err
			}
		}
		return nil
	}
	st, err := gwregistry.DecodeStatus(gd, raw)
	if err != nil {
		return fmt.Errorf("gateway decoder: %w", err)
	}
	if st.PersonCode != code {
		return fmt.Errorf("gateway decoder: personCode %q", st.PersonCode)
	}
	return period("status", st.ValidFrom, st.ValidTo)
}
