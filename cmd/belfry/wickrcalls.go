package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/api/wickr/calls"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/projections/wickranalytics"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// This file wires Wickr calls (api/wickr/calls) on the Chime meetings' SFU: the calls' command path,
// the client API's sessions and the conversations read model. Closing the SFU (before the event store)
// takes every participant out as ServiceRestart, which ends the live calls. A crash skips that: the
// sweep of the next start ends the calls the crashed run left live (calls.Service.EndInterrupted), at
// the run's last alive mark (sfuAliveFile, written every sfuAliveEvery).

var wickrCallDecider = eventstore.DeciderOf[call.State, call.Command, call.Event](call.Initial, call.Evolve, call.Decide, call.Decode)

// newWickrCalls builds the calls slice (after the messaging slice, whose sessions and reach checks it
// uses).
func newWickrCalls(m *Main, pool *pgxpool.Pool, client *esdb.Client, s *sfu.SFU) *calls.Service {
	return calls.New(calls.Deps{Calls: newRepo(client, wickrCallDecider, m.Now), Networks: m.wickr.networkCmds.Repo,
		Sessions: wickrMessagingSessions{m.wickr.client}, Store: wickrconversations.NewStore(pool), SFU: callSFU{s}, Live: wickranalytics.NewStore(pool),
		Reach: m.wickr.messaging, SessionRecheck: m.SignalRecheck, Logger: m.logger})
}

// callSFU adapts infra/sfu to the calls slice's SFU port.
type callSFU struct{ s *sfu.SFU }

func (a callSFU) Join(roomID, id string, p mediasignal.Peer, o calls.JoinOptions) (mediasignal.Participant, error) {
	part, err := a.s.JoinWith("wickr-call/"+roomID, id, p, sfu.JoinOptions{TCPOnly: o.TCPOnly, ReceiveOnly: o.ReceiveOnly})
	if errors.Is(err, sfu.ErrClosed) {
		return nil, fmt.Errorf("%w: %w", mediasignal.ErrStopping, err)
	}
	if err != nil {
		return nil, err
	}
	return part, nil
}

// sfuAliveFile, in the data directory, holds the last instant a run of this installation was known to
// carry its calls (RFC 3339), rewritten every sfuAliveEvery while it serves. It is renamed into place,
// not synced: it survives a kill -9; after a power loss it may be older, which ends a crashed call
// earlier, never after the service came back.
const (
	sfuAliveFile  = "sfu.alive"
	sfuAliveEvery = 10 * time.Second
)

// lastAlive reads the previous run's alive mark (zero: none, or no data directory).
func lastAlive(dataDir string) time.Time {
	if dataDir == "" {
		return time.Time{}
	}
	b, err := os.ReadFile(filepath.Join(dataDir, sfuAliveFile))
	if err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}
	}
	return t
}

// markAlive writes the alive mark at now.
func markAlive(dataDir string, now time.Time) error {
	tmp := filepath.Join(dataDir, sfuAliveFile+".tmp")
	if err := os.WriteFile(tmp, []byte(now.UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, sfuAliveFile))
}

// startWickrCallSweep reads the previous run's alive mark, then until runCtx ends rewrites the mark
// every sfuAliveEvery and, at once and then every sweep, ends the calls a previous run left live
// (started before now, before this run serves any call).
func startWickrCallSweep(m *Main, runCtx context.Context, every time.Duration) {
	startedAt, dir := m.Now(), m.cfg.DataDir
	prev := lastAlive(dir)
	warned := false // the mark's ticks run in one goroutine after the first
	mark := func() {
		if dir == "" {
			return
		}
		if err := markAlive(dir, m.Now()); err != nil && !warned {
			warned = true
			m.logger.Warn("writing the SFU's alive mark failed; after a crash its calls would end at the restart", "err", err)
		}
	}
	mark()
	sweepOnce := func() {
		if n, err := m.wickr.calls.EndInterrupted(runCtx, startedAt, prev); err != nil && runCtx.Err() == nil {
			m.logger.Warn("ending Wickr calls interrupted by the restart failed; it resumes on the next sweep", "err", err)
		} else if n > 0 {
			m.logger.Info("ended Wickr calls interrupted by the restart", "calls", n, "lastAlive", prev)
		}
	}
	m.spawn(func() {
		alive, sweep := time.NewTicker(sfuAliveEvery), time.NewTicker(every)
		defer alive.Stop()
		defer sweep.Stop()
		sweepOnce()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-alive.C:
				mark()
			case <-sweep.C:
				sweepOnce()
			}
		}
	})
}
