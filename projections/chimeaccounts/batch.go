package chimeaccounts

import (
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/chime/account"
)

// overwrites are the account events whose statement only sets columns of the account's row to
// values the event carries (accounts): of two events of one such type on one account, the later
// leaves those columns as if both had applied, and no statement of this read model reads them.
var overwrites = map[string]bool{
	account.TypeRenamed:               true,
	account.TypeDefaultLicenseChanged: true,
	account.TypeSettingsUpdated:       true,
	account.TypeAccountTypeChanged:    true,
}

// ApplyBatch applies evs in order as Apply of each would, but queues no statement for an
// overwrite that a later event of the same type on the same account in evs supersedes: a rebuild
// of a log where an account is renamed ten times in a row updates its row once. A superseded
// event is still decoded and its values checked as PostgreSQL would check them (no NUL in a
// text), so one that Apply would fail fails the batch (the runner then applies the events one by
// one and parks it).
func (p Projection) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	skip := superseded(evs)
	for i, ev := range evs {
		if !skip[i] {
			if err := p.Apply(b, schema, ev); err != nil {
				return err
			}
			continue
		}
		e, err := account.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		if !storable(e) {
			return fmt.Errorf("chimeaccounts: %s at position %d holds a NUL character, which a text column refuses", ev.EventType, ev.Position.Commit)
		}
	}
	return nil
}

// storable reports whether the text values of an overwrite are ones PostgreSQL stores.
func storable(e account.Event) bool {
	var s string
	switch e := e.(type) {
	case account.Renamed:
		s = e.Name
	case account.DefaultLicenseChanged:
		s = e.DefaultLicense
	case account.AccountTypeChanged:
		s = e.AccountType
	}
	return !strings.ContainsRune(s, 0)
}

// superseded marks the overwrites of evs that a later event of the same type and stream follows.
func superseded(evs []*esdb.RecordedEvent) []bool {
	type key struct{ stream, typ string }
	var seen map[key]bool
	var skip []bool
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if !overwrites[ev.EventType] {
			continue
		}
		k := key{ev.StreamID, ev.EventType}
		if seen[k] {
			if skip == nil {
				skip = make([]bool, len(evs))
			}
			skip[i] = true
			continue
		}
		if seen == nil {
			seen = map[key]bool{}
		}
		seen[k] = true
	}
	if skip == nil {
		skip = make([]bool, len(evs))
	}
	return skip
}
