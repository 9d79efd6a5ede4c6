package client

import (
	"context"

	"github.com/belfry/belfry/domain"
)

// sweepPage is how many stored sessions SweepSessions reads at a time.
const sweepPage = 500

// sweepGiveUp is how many checks in a row may fail before SweepSessions stops: the log is not
// answering, and the sessions it has not reached wait for the next sweep.
const sweepGiveUp = 10

// SweepSessions deletes the stored sessions that are over although their token was not presented
// again (a user deleted, suspended or locked out, a device reset, a network deleted, a non-SSO
// timeout passed, a guest account deleted). It walks them in keyset pages of sweepPage, in token
// hash order, and decides each by the check Authenticate makes — for a user's session its network
// gone or roster.CheckSession refusing it, for a guest's its account gone — without renewing an SSO
// session at its provider: nothing leaves the process. Only a definite "over" deletes; a check that
// fails (the log not answering) leaves the session, and sweepGiveUp failures in a row end the walk.
// No lock or transaction spans the walk: each page is one read, each deletion one statement.
// checked counts the sessions whose check answered, removed those deleted; err is the first failure.
func (s *Service) SweepSessions(ctx context.Context) (checked, removed int, err error) {
	var first error
	failures := 0
	for after := ""; ; {
		page, err := s.d.Sessions.After(ctx, after, sweepPage)
		if err != nil {
			return checked, removed, err
		}
		for _, st := range page {
			over, err := sessionOver(ctx, s, st.Session)
			if err == nil && over {
				err = s.d.Sessions.Close(ctx, st.TokenHash)
			}
			if err != nil {
				if first == nil {
					first = err
				}
				if failures++; failures >= sweepGiveUp || ctx.Err() != nil {
					return checked, removed, first
				}
				continue
			}
			failures, checked = 0, checked+1
			if over {
				removed++
			}
		}
		if len(page) < sweepPage {
			return checked, removed, first
		}
		after = page[len(page)-1].TokenHash
	}
}

// sessionOver is Authenticate's decision on a stored session, without the SSO renewal: true when
// the session is over, an error when the check could not be made (then it says nothing).
func sessionOver(ctx context.Context, s *Service, sess Session) (bool, error) {
	if sess.GuestHash != "" {
		st, err := guests{s}.account(ctx, sess.GuestHash)
		return err == nil && !st.Live, err
	}
	p, err := s.policy(ctx, sess.NetworkID)
	if domain.KindOf(err) == domain.KindNotFound {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	_, err = checkSession(ctx, s.d.Rosters, sess, p)
	if domain.KindOf(err) == domain.KindForbidden {
		return true, nil
	}
	return false, err
}
