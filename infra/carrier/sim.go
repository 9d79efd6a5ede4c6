// Package carrier holds Belfry's phone-network adapters. Sim, the default, simulates the far end of
// every outside call so that calls, their billing and their CDRs are real end to end without a SIP
// trunk: it rings, answers, talks and hangs up on its own clock.
package carrier

import (
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry/domain/chime/call"
)

// Sim simulates the phone network. The far end of a call to a number ending in
//
//	0000 rings for NoAnswerAfter and is never answered (NoAnswer);
//	0001 is busy (Busy, at once);
//	0002 answers after Ring and the carrier drops it after half of Talk (CarrierFailure);
//
// and any other number answers after Ring and hangs up after Talk (Completed). Times reported are the
// carrier's: the leg's placing time plus the simulated durations, so a call's CDR does not depend on
// how fast the simulation ran; the simulation waits each duration divided by Speed in real time.
// At most MaxLegs legs are up at once; a leg beyond that fails at once (CarrierFailure).
type Sim struct {
	Ring, Talk, NoAnswerAfter time.Duration // defaults 3 s, 60 s, 30 s
	Speed                     float64       // default 1 (real time)
	MaxLegs                   int           // default 10,000

	mu   sync.Mutex
	legs map[string]chan struct{} // leg id → closed on Hangup
}

func (s *Sim) defaults() {
	if s.Ring <= 0 {
		s.Ring = 3 * time.Second
	}
	if s.Talk <= 0 {
		s.Talk = 60 * time.Second
	}
	if s.NoAnswerAfter <= 0 {
		s.NoAnswerAfter = 30 * time.Second
	}
	if s.Speed <= 0 {
		s.Speed = 1
	}
	if s.MaxLegs <= 0 {
		s.MaxLegs = 10_000
	}
	if s.legs == nil {
		s.legs = map[string]chan struct{}{}
	}
}

// step is one simulated report after a simulated delay from the previous one.
type step struct {
	after time.Duration
	p     call.Progress
}

func (s *Sim) script(to string) []step {
	switch {
	case strings.HasSuffix(to, "0000"):
		return []step{{s.NoAnswerAfter, call.Progress{Reason: call.ReasonNoAnswer}}}
	case strings.HasSuffix(to, "0001"):
		return []step{{0, call.Progress{Reason: call.ReasonBusy}}}
	case strings.HasSuffix(to, "0002"):
		return []step{{s.Ring, call.Progress{Connected: true}}, {s.Talk / 2, call.Progress{Reason: call.ReasonFailed}}}
	}
	return []step{{s.Ring, call.Progress{Connected: true}}, {s.Talk, call.Progress{Reason: call.ReasonCompleted}}}
}

// Dial implements the calls slice's Carrier.
func (s *Sim) Dial(leg call.Leg, placed time.Time, report func(call.Progress)) {
	s.mu.Lock()
	s.defaults()
	if len(s.legs) >= s.MaxLegs {
		s.mu.Unlock()
		go report(call.Progress{Reason: call.ReasonFailed, At: placed})
		return
	}
	hung := make(chan struct{})
	s.legs[leg.LegID] = hung
	steps, speed := s.script(leg.To), s.Speed
	s.mu.Unlock()
	go func() {
		defer s.forget(leg.LegID)
		at := placed
		for _, st := range steps {
			select {
			case <-hung:
				return // the caller hung up: the calls slice ended the leg itself
			case <-time.After(time.Duration(float64(st.after) / speed)):
			}
			at = at.Add(st.after)
			st.p.At = at
			report(st.p)
		}
	}()
}

// Hangup implements the calls slice's Carrier.
func (s *Sim) Hangup(legID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.legs[legID]; ok {
		close(ch)
		delete(s.legs, legID)
	}
}

func (s *Sim) forget(legID string) {
	s.mu.Lock()
	delete(s.legs, legID)
	s.mu.Unlock()
}
