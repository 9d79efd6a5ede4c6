package usagereports

import (
	"fmt"
	"strings"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
)

// unreadable is what a generation could not decode. An activity event (a meeting, a post, a
// sign-in) counts for nothing, as the usage read model parks it: it is counted in
// Stats.Unreadable and reported, and holds back no report. An event of an account's stream, or of
// its AWS account's settings stream, leaves that account's directory unknown: its report is not
// written (check returns why) while the other accounts' are.
type unreadable struct {
	accounts map[string]error // by account id
	settings map[string]error // by AWS account id
	st       *Stats
	p        *progress
	log      Logger
}

func newUnreadable(st *Stats, p *progress, log Logger) *unreadable {
	return &unreadable{accounts: map[string]error{}, settings: map[string]error{}, st: st, p: p, log: log}
}

// apply folds one event into t; an event that does not decode is recorded, never returned (the
// tally's only errors are decoding ones).
func (u *unreadable) apply(t *usage.Tally, stream, eventType string, position uint64, data []byte) error {
	err := t.Apply(stream, eventType, position, data)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("the event at position %d of %s (%s) does not decode: %w", position, stream, eventType, err)
	if id, ok := strings.CutPrefix(stream, account.StreamPrefix); ok {
		u.accounts[id] = first(u.accounts[id], err)
	} else if id, ok := strings.CutPrefix(stream, settings.StreamPrefix); ok {
		u.settings[id] = first(u.settings[id], err)
	} else {
		u.st.Unreadable++
	}
	u.p.line("skipped: %v", err)
	u.log.Warn("weekly usage reports: an event that does not decode was skipped", "err", err)
	return nil
}

func first(had, err error) error {
	if had != nil {
		return had
	}
	return err
}

// check is why account a's report cannot be written: an event of its directory or of its AWS
// account's settings that did not decode (nil: none).
func (u *unreadable) check(a usage.Account) error {
	if err := u.accounts[a.ID]; err != nil {
		return fmt.Errorf("usage report of account %s: not written, its directory is unknown: %w", a.ID, err)
	}
	if err := u.settings[a.AwsAccountID]; err != nil {
		return fmt.Errorf("usage report of account %s: not written, the settings of AWS account %s are unknown: %w", a.ID, a.AwsAccountID, err)
	}
	return nil
}
