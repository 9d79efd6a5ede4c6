package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/chime/users"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/contacts"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/domainclaim"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/infra/botdelivery"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/mail"
	"github.com/belfry/belfry/infra/sideeffects"
)

// This file wires the Chime slices (api/chime/*) to their adapters: the event store's repositories,
// the read models, the data keys, DNS, mail and the bot transport.

// repo adapts an event-store repository to the slices' port (usecase.Repository).
type repo[S, C, E any] struct {
	*eventstore.Repository[S, C, E]
}

func newRepo[S, C, E any](client *esdb.Client, d eventstore.Decider[S, C, E], now func() time.Time) repo[S, C, E] {
	return repo[S, C, E]{eventstore.NewRepository(client, d, now)}
}

func decided[S, E any](r eventstore.Result[S, E]) usecase.Decided[S, E] {
	return usecase.Decided[S, E]{State: r.State, Events: r.Events, Position: r.Position}
}

func (r repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	res, err := r.Repository.Execute(ctx, stream, cmd)
	return decided(res), err
}

func (r repo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	res, err := r.Repository.ExecuteFunc(ctx, stream, decide)
	return decided(res), err
}

// The deciders of the aggregates the slices command.
var (
	settingsDecider = eventstore.DeciderOf[settings.State, settings.Command, settings.Event](settings.Initial, settings.Evolve, settings.Decide, settings.Decode)
	contactsDecider = eventstore.DeciderOf[contacts.State, contacts.Command, contacts.Event](contacts.Initial, contacts.Evolve, contacts.Decide, contacts.Decode)
	claimDecider    = eventstore.DeciderOf[domainclaim.State, domainclaim.Command, domainclaim.Event](domainclaim.Initial, domainclaim.Evolve, domainclaim.Decide, domainclaim.Decode)
)

var (
	accountDecider = eventstore.DeciderOf[account.State, account.Command, account.Event](account.Initial, account.Evolve, account.Decide, account.Decode)
	meetingDecider = eventstore.DeciderOf[meeting.State, meeting.Command, meeting.Event](meeting.Initial, meeting.Evolve, meeting.Decide, meeting.Decode)
	roomDecider    = eventstore.DeciderOf[room.State, room.Command, room.Event](room.Initial, room.Evolve, room.Decide, room.Decode)
	convDecider    = eventstore.DeciderOf[conversation.State, conversation.Command, conversation.Event](conversation.Initial, conversation.Evolve, conversation.Decide, conversation.Decode)
	numberDecider  = eventstore.DeciderOf[phonenumber.State, phonenumber.Command, phonenumber.Event](phonenumber.Initial, phonenumber.Evolve, phonenumber.Decide, phonenumber.Decode)
	orderDecider   = eventstore.DeciderOf[phonenumber.Order, phonenumber.OrderCommand, phonenumber.Event](phonenumber.InitialOrder, phonenumber.EvolveOrder, phonenumber.DecideOrder, phonenumber.Decode)
	portDecider    = eventstore.DeciderOf[porting.Order, porting.Command, porting.Event](porting.Initial, porting.Evolve, porting.Decide, porting.Decode)
)

// sweeps are the background use cases run on a timer.
type sweeps struct {
	purgeDomainUsers       func(context.Context) (int, error)
	disableDomainMeetings  func(context.Context) (int, error)
	collectPortInDocuments func(context.Context, time.Duration) (int, error)
	endInterruptedCalls    func(context.Context)
}

// run looks every `every` for removed domains whose users are due for deletion and for scheduled
// meetings of removed domains' users still to disable, and hourly for port-in document blobs no event
// references, until ctx ends.
func (w sweeps) run(ctx context.Context, logger *slog.Logger, every time.Duration) {
	sweep := time.NewTicker(every)
	defer sweep.Stop()
	blobs := time.NewTicker(time.Hour)
	defer blobs.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-blobs.C:
			if n, err := w.collectPortInDocuments(ctx, time.Hour); err != nil {
				logger.Warn("collecting unreferenced port-in documents interrupted; it resumes in an hour", "err", err)
			} else if n > 0 {
				logger.Info("deleted unreferenced port-in documents", "documents", n)
			}
		case <-sweep.C:
			if n, err := w.purgeDomainUsers(ctx); err != nil {
				logger.Warn("domain user purge interrupted; it resumes on the next sweep", "err", err)
			} else if n > 0 {
				logger.Info("deleted the users of removed domains", "domains", n)
			}
			if n, err := w.disableDomainMeetings(ctx); err != nil {
				logger.Warn("disabling removed domains' meetings interrupted; it resumes on the next sweep", "err", err)
			} else if n > 0 {
				logger.Info("disabled the scheduled meetings of removed domains", "meetings", n)
			}
			w.endInterruptedCalls(ctx)
		}
	}
}

// mailer adapts the configured mail sender to the users slice's port.
type mailer struct{ mail.Sender }

func (m mailer) Send(ctx context.Context, to, subject, body string) error {
	return m.Sender.Send(ctx, mail.Message{To: to, Subject: subject, Body: body})
}

// invitationMailer hands the side-effect router's invitation messages to the users slice.
type invitationMailer struct{ users *users.Service }

func (m invitationMailer) DeliverInvitation(ctx context.Context, inv sideeffects.Invitation) error {
	return m.users.DeliverInvitation(ctx, inv.AccountID, inv.InviteID, inv.Email)
}

// botTransportPort adapts the bot transport to the rooms slice's port.
type botTransportPort struct{ t *botdelivery.Transport }

func (p botTransportPort) Deliver(ctx context.Context, to rooms.BotTarget, body []byte) error {
	return p.t.Deliver(ctx, botdelivery.Target{BotID: to.BotID, RoomID: to.RoomID, EventType: to.EventType,
		LambdaARN: to.LambdaARN, HTTPSEndpoint: to.HTTPSEndpoint, SecurityToken: to.SecurityToken}, body)
}

// botEventHandler hands the side-effect router's bot events to the rooms slice.
type botEventHandler struct{ b *rooms.BotEvents }

func (h botEventHandler) DeliverBotEvent(ctx context.Context, ev sideeffects.BotEvent) error {
	return h.b.DeliverBotEvent(ctx, rooms.BotEvent{BotID: ev.BotID, RoomID: ev.RoomID, EventType: ev.EventType, SenderID: ev.SenderID,
		KeyID: ev.KeyID, Sealed: ev.Sealed, At: ev.At})
}
