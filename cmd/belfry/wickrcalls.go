package main

import (
	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/api/wickr/calls"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// This file wires Wickr calls (api/wickr/calls) on the Chime meetings' SFU: the calls' command path,
// the client API's sessions and the conversations read model. Closing the SFU (before the event store)
// takes every participant out as ServiceRestart, which ends the live calls.

var wickrCallDecider = eventstore.DeciderOf[call.State, call.Command, call.Event](call.Initial, call.Evolve, call.Decide, call.Decode)

// newWickrCalls builds the calls slice (after the messaging slice, whose sessions it uses).
func newWickrCalls(m *Main, pool *pgxpool.Pool, client *esdb.Client, s *sfu.SFU) *calls.Service {
	return calls.New(calls.Deps{Calls: newRepo(client, wickrCallDecider, m.Now), Networks: m.wickr.networkCmds.Repo,
		Sessions: wickrMessagingSessions{m.wickr.client}, Store: wickrconversations.NewStore(pool), SFU: callSFU{s}, Logger: m.logger})
}

// callSFU adapts infra/sfu to the calls slice's SFU port.
type callSFU struct{ s *sfu.SFU }

func (a callSFU) Join(roomID, id string, p mediasignal.Peer, tcpOnly bool) (mediasignal.Participant, error) {
	part, err := a.s.JoinWith("wickr-call/"+roomID, id, p, sfu.JoinOptions{TCPOnly: tcpOnly})
	if err != nil {
		return nil, err
	}
	return part, nil
}
