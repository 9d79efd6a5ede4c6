package usagereports

import (
	"context"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
)

// caughtUp reports whether the read model is the source of this generation: there is one, the
// options do not ask for the log, and it applies head within CatchUp. Only ctx's own end fails.
func (s *Service) caughtUp(ctx context.Context, head uint64, o Options, p *progress) (bool, error) {
	if s.d.Activity == nil || o.FromLog {
		return false, nil
	}
	wctx, cancel := context.WithTimeout(ctx, s.d.CatchUp)
	defer cancel()
	err := s.d.Activity.WaitFor(wctx, head)
	switch {
	case err == nil:
		p.line("the usage read model has applied position %d: directories from the log, activity from the read model", head)
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	}
	p.line("the usage read model is not available or behind (%v): passing over the log", err)
	return false, nil
}

// directories folds into tally the account streams the read model lists and the settings streams
// of their AWS accounts, each read by name up to head (the tally applies each account's cutoff):
// what a pass over the log would give for them, as each stream's events keep their order. An event
// that does not decode goes to bad.
func (s *Service) directories(ctx context.Context, tally *usage.Tally, head uint64, st *Stats, p *progress, bad *unreadable) error {
	ids, err := s.d.Activity.Accounts(ctx)
	if err != nil {
		return err
	}
	read := func(stream string) error {
		return s.d.Log.ReadStream(ctx, stream, head, func(typ string, pos uint64, data []byte) error {
			st.Events++
			p.tick("… %d directory events read", st.Events)
			return bad.apply(tally, stream, typ, pos, data)
		})
	}
	for _, id := range ids {
		if err := read(account.StreamName(id)); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, a := range tally.Accounts() {
		if !seen[a.AwsAccountID] {
			seen[a.AwsAccountID] = true
			if err := read(settings.StreamName(a.AwsAccountID)); err != nil {
				return err
			}
		}
	}
	return nil
}
