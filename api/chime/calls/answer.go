package calls

import (
	"context"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// LiveCalls lists the conferences still up (chimecalls.Store implements it).
type LiveCalls interface {
	Live(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// decideAll decides cmds one after the other on the evolving state, as one decision.
func decideAll(st call.State, now time.Time, cmds ...call.Command) ([]call.Event, error) {
	var out []call.Event
	for _, c := range cmds {
		evs, err := call.Decide(st, c, now)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			st = call.Evolve(st, e)
		}
		out = append(out, evs...)
	}
	return out, nil
}

// Answer is the callee answering a call between two users: both legs connect.
func (s *Service) Answer(ctx context.Context, u chimeaccounts.User, conferenceID string) (call.State, error) {
	if err := checkCallID(conferenceID); err != nil {
		return call.State{}, err
	}
	d, err := s.d.Calls.ExecuteFunc(ctx, call.StreamName(conferenceID), func(st call.State, now time.Time) ([]call.Event, error) {
		var in *call.LegState
		for i, l := range st.Legs {
			if l.Direction == call.Inbound && l.UserID == u.UserID {
				in = &st.Legs[i]
			}
		}
		if in == nil {
			return nil, domain.Wrapf(ErrNotOnCall, "you have no incoming leg on call %s", conferenceID)
		}
		cmds := make([]call.Command, 0, len(st.Legs))
		for _, l := range st.Legs {
			cmds = append(cmds, call.Connect{LegID: l.LegID})
		}
		return decideAll(st, now, cmds...)
	})
	return d.State, err
}

// Hangup is a user on the call hanging up: every leg still up ends (Completed when it was answered,
// Cancelled while it rang), and the carrier is told to drop its leg.
func (s *Service) Hangup(ctx context.Context, u chimeaccounts.User, conferenceID string) (call.State, error) {
	if err := checkCallID(conferenceID); err != nil {
		return call.State{}, err
	}
	d, err := s.d.Calls.ExecuteFunc(ctx, call.StreamName(conferenceID), func(st call.State, now time.Time) ([]call.Event, error) {
		if !onCall(st, u.UserID) {
			return nil, domain.Wrapf(ErrNotOnCall, "call %s does not exist", conferenceID)
		}
		return decideAll(st, now, endOpen(st, "")...)
	})
	if err == nil {
		s.hangupCarrier(d.State)
	}
	return d.State, err
}

// endOpen ends every leg still up; reason "" means Completed or Cancelled by the leg's state.
func endOpen(st call.State, reason string) []call.Command {
	var cmds []call.Command
	for _, l := range st.Legs {
		if !l.Ended.IsZero() {
			continue
		}
		r := reason
		if r == "" {
			r = call.ReasonCancelled
			if !l.Connected.IsZero() {
				r = call.ReasonCompleted
			}
		}
		cmds = append(cmds, call.End{LegID: l.LegID, Reason: r})
	}
	return cmds
}

func (s *Service) hangupCarrier(st call.State) {
	if len(st.Legs) == 1 { // a call to an outside number: its only leg is the carrier's
		s.d.Carrier.Hangup(st.Legs[0].LegID)
	}
}

// EndInterrupted ends, with reason ServiceRestart at now, the calls that were up when this process
// started (placed before startedAt, at most 1,000 per run): Belfry holds no call across a restart, so
// such a call cannot still be going. Run it periodically: the calls read model may still be catching
// up when the process starts. It returns how many calls it ended.
func (s *Service) EndInterrupted(ctx context.Context, startedAt time.Time) (int, error) {
	ids, err := s.d.Live.Live(ctx, startedAt, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		d, err := s.d.Calls.ExecuteFunc(ctx, call.StreamName(id), func(st call.State, now time.Time) ([]call.Event, error) {
			return decideAll(st, now, endOpen(st, call.ReasonRestart)...)
		})
		if err != nil {
			return n, err
		}
		if len(d.Events) > 0 {
			s.hangupCarrier(d.State)
			n++
		}
	}
	return n, nil
}
