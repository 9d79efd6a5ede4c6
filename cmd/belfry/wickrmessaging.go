package main

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/livehub"
	wickrclientapi "github.com/belfry/belfry/api/wickr/client"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/wickrarchive"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// This file wires Wickr messaging (api/wickr/messaging): the conversations' command path and read
// model, its live delivery (the stream), the client API's sessions, the data keys, and the sweep that destroys expired and burnt
// messages (with their files' keys and blobs).

var wickrConversationDecider = eventstore.DeciderOf[conversation.State, conversation.Command, conversation.Event](conversation.Initial, conversation.Evolve, conversation.Decide, conversation.Decode)

// wickrConversationsRunner builds the conversations read model's runner.
func wickrConversationsRunner(m *Main, pool *pgxpool.Pool, client *esdb.Client, pm *projections.Metrics) *projections.Runner {
	m.wickr.conversationsRM = projections.NewRunner(pool, client, wickrconversations.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	return m.wickr.conversationsRM
}

// newWickrMessaging builds the messaging slice (after the client slice, whose sessions it uses).
func newWickrMessaging(m *Main, pool *pgxpool.Pool, client *esdb.Client, networks usecase.Networks, keys *datakeys.Store, ryw *usecase.ReadYourWrites) {
	m.wickr.messaging = messaging.New(messaging.Deps{
		Conversations: messaging.Conversations{Repo: newRepo(client, wickrConversationDecider, m.Now), RM: m.wickr.conversationsRM, RYW: ryw},
		Networks:      networks, Rosters: m.wickr.rosters, Guests: usecase.Guests{Repo: newRepo(client, wickrGuestDecider, m.Now), RYW: ryw},
		Store: wickrconversations.NewStore(pool), Keys: keys, Sessions: wickrMessagingSessions{m.wickr.client}, Now: m.Now,
		Blobs: blobstore.New(m.cfg.blobDir(), pool, keys), MaxFileBytes: m.cfg.WickrMaxFileBytes,
		Archive: wickrarchive.Holds{Shipper: m.wickr.archive, Applied: m.wickr.archiveRM.Position}})
	m.wickr.stream = m.wickr.messaging.NewStream(wickrconversations.NewStore(pool), m.wickr.conversationsRM,
		livehub.Config{Queue: m.ChatQueue, Recheck: m.ChatRecheck, Logger: m.logger, Registerer: m.reg})
}

// wickrMessagingSessions adapts the client slice's sessions to the messaging slice's port.
type wickrMessagingSessions struct{ c *wickrclientapi.Service }

func (s wickrMessagingSessions) Authenticate(ctx context.Context, token string) (messaging.Caller, error) {
	me, err := s.c.Authenticate(ctx, token)
	return messaging.Caller{NetworkID: me.NetworkID, UserID: me.UserID, GroupID: me.GroupID, GuestHash: me.GuestHash}, err
}

// sweepWickrMessages destroys the expired and burnt messages, a bounded batch at a time, while a
// batch destroys any (a message whose destruction failed is retried by the next sweep; the others
// of its batch went all the same, so the batches after it go too).
func sweepWickrMessages(m *Main, ctx context.Context) {
	for ctx.Err() == nil {
		n, err := m.wickr.messaging.Expiry().ExpireDue(ctx, 500)
		if err != nil && ctx.Err() == nil {
			m.logger.Warn("destroying expired Wickr messages: some failed; they are retried on the next sweep", "err", err)
		}
		if n == 0 || err == nil && n < 500 {
			return
		}
	}
}
