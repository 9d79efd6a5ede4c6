package networks

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry/domain/wickr/network"
)

// EndedTrials lists the live networks whose Premium free trial is over (wickrnetworks.Store
// implements it).
type EndedTrials interface {
	TrialsEnded(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// trialSweepBatch bounds the networks one sweep expires; the next sweep takes the rest.
const trialSweepBatch = 100

// ExpireTrials ends the Premium free trials that are over (guide §7.1: 3 months): each such network
// falls back to Standard as its decider says (ExpireTrial), through the command path and at the
// injected clock. It is idempotent: a network no longer on the trial, or one the read model lists
// before its end (a clock behind another process's), changes nothing. It returns how many networks
// it moved to Standard.
func (s *Service) ExpireTrials(ctx context.Context) (int, error) {
	if s.d.Trials == nil {
		return 0, nil
	}
	ids, err := s.d.Trials.TrialsEnded(ctx, s.d.Now(), trialSweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		// Do waits (bounded) for the read model, so that the next sweep does not list the network again.
		d, _, err := s.d.Networks.Command(network.StreamName(id), network.ExpireTrial{NetworkID: id}).Do(ctx)
		switch {
		case errors.Is(err, network.ErrTrial), errors.Is(err, network.ErrNotFound), errors.Is(err, network.ErrDeleting):
			continue // not over by this clock, or gone: nothing to do
		case err != nil:
			return n, err
		}
		if len(d.Events) > 0 {
			n++
			s.d.Logger.Info("the Premium free trial ended; the network is on Standard", "network", id)
		}
	}
	return n, nil
}
