package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	wickrclientapi "github.com/belfry/belfry/api/wickr/client"
	"github.com/belfry/belfry/api/wickr/messaging"
	wickrssoapi "github.com/belfry/belfry/api/wickr/sso"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/sessions"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections/wickrusers"
)

// This file wires the Wickr end users' client API (api/wickr/client): its sessions, its invitation
// mails (a side effect of UserInvited and UserReinvited), its password resets' side effects (the
// link's mail, the removal from the rooms) and its SSO company-id lookups.

// newWickrClient builds the client slice over the Wickr command paths.
func (m *Main) newWickrClient(pool *pgxpool.Pool, client *esdb.Client, networks usecase.Networks, keys *datakeys.Store, ryw *usecase.ReadYourWrites) {
	m.wickr.client = wickrclientapi.New(wickrclientapi.Deps{Networks: networks, Rosters: m.wickr.rosters,
		Companies: usecase.Directories{Repo: newRepo(client, wickrCompanyIDDecider, m.Now), RYW: ryw},
		Guests:    usecase.Guests{Repo: newRepo(client, wickrGuestDecider, m.Now), RM: m.wickr.guestsRM, RYW: ryw},
		Users:     wickrusers.NewStore(pool), Sessions: wickrSessions{sessions.NewWickr(pool)}, Keys: keys,
		Mail: mailer{m.mailer()}, PublicURL: m.publicURL, Now: m.Now, Registerer: m.reg, PasswordCost: m.cfg.PasswordCost,
		IdP: wickrssoapi.IdentityProviderClient(m.cfg.outboundPolicy().Client(wickrssoapi.DiscoveryTimeout))})
}

// wickrSessions adapts the session table to the client slice's port.
type wickrSessions struct{ s *sessions.WickrStore }

func (w wickrSessions) Open(ctx context.Context, hash string, s wickrclientapi.Session, keep int) error {
	return w.s.Open(ctx, hash, sessions.WickrSession{NetworkID: s.NetworkID, UserID: s.UserID, AppID: s.AppID, IssuedAt: s.IssuedAt, SSO: s.SSO,
		ExpiresAt: s.ExpiresAt, Refresh: s.Refresh, GuestHash: s.GuestHash}, keep)
}

func (w wickrSessions) Lookup(ctx context.Context, hash string) (wickrclientapi.Session, error) {
	s, err := w.s.Lookup(ctx, hash)
	return fromWickrSession(s), err
}

func fromWickrSession(s sessions.WickrSession) wickrclientapi.Session {
	return wickrclientapi.Session{Session: roster.Session{UserID: s.UserID, AppID: s.AppID, IssuedAt: s.IssuedAt, SSO: s.SSO},
		NetworkID: s.NetworkID, GuestHash: s.GuestHash, ExpiresAt: s.ExpiresAt, RefreshFailedAt: s.RefreshFailedAt, Refresh: s.Refresh}
}

func (w wickrSessions) After(ctx context.Context, after string, limit int) ([]wickrclientapi.StoredSession, error) {
	rows, err := w.s.After(ctx, after, limit)
	out := make([]wickrclientapi.StoredSession, len(rows))
	for i, r := range rows {
		out[i] = wickrclientapi.StoredSession{TokenHash: r.TokenHash, Session: fromWickrSession(r.WickrSession)}
	}
	return out, err
}

func (w wickrSessions) Refreshed(ctx context.Context, hash string, expiresAt time.Time, refresh domain.Sealed) error {
	return w.s.Refreshed(ctx, hash, expiresAt, refresh)
}

func (w wickrSessions) RefreshFailed(ctx context.Context, hash string, at time.Time) (time.Time, error) {
	return w.s.RefreshFailed(ctx, hash, at)
}

func (w wickrSessions) Close(ctx context.Context, hash string) error { return w.s.Close(ctx, hash) }

// wickrSessionSweepEvery is how often the Wickr client sessions found over are swept: one whose
// token is presented is deleted at once; the sweep finds those never presented again.
const wickrSessionSweepEvery = time.Hour

// startWickrSessionSweep runs sweepWickrSessions every wickrSessionSweepEvery until runCtx ends
// (spawned: Close cancels runCtx and waits for it before what it uses closes).
func startWickrSessionSweep(m *Main, runCtx context.Context) {
	spawnEvery(m, runCtx, wickrSessionSweepEvery, func() { sweepWickrSessions(m, runCtx) })
}

// sweepWickrSessions runs one sweep of the Wickr client sessions and logs its figures when it
// removed something or failed.
func sweepWickrSessions(m *Main, ctx context.Context) {
	checked, removed, err := m.wickr.client.SweepSessions(ctx)
	if removed > 0 {
		m.logger.Info("deleted the Wickr client sessions found over", "checked", checked, "removed", removed)
	}
	if err != nil && ctx.Err() == nil {
		m.logger.Warn("sweeping the Wickr client sessions stopped early; the next sweep walks them again", "checked", checked, "removed", removed, "err", err)
	}
}

// wickrInvitationMailer hands the router's Wickr invitation messages to the client slice.
type wickrInvitationMailer struct{ c *wickrclientapi.Service }

func (m wickrInvitationMailer) DeliverWickrInvitation(ctx context.Context, inv sideeffects.WickrInvitation) error {
	return m.c.DeliverInvitation(ctx, inv.NetworkID, inv.UserID)
}

// wickrPasswordResets hands the router's Wickr password-reset messages to the client slice (the
// link's mail) and to the messaging slice (the removal from the rooms, retried by the router while
// a room fails).
type wickrPasswordResets struct {
	client    *wickrclientapi.Service
	messaging *messaging.Service
	logger    *slog.Logger
}

func (w wickrPasswordResets) DeliverWickrPasswordReset(ctx context.Context, m sideeffects.WickrPasswordResetMail) error {
	return wickrclientapi.PasswordResets(w.client).DeliverMail(ctx, m.NetworkID, m.UserID, m.ExpiresAt)
}

func (w wickrPasswordResets) LeaveWickrRooms(ctx context.Context, r sideeffects.WickrPasswordReset) error {
	err := messaging.PasswordResets(w.messaging).LeaveRooms(ctx, r.NetworkID, r.UserID, r.At, r.Position)
	if err != nil && ctx.Err() == nil {
		w.logger.Warn("a Wickr password reset has rooms left to leave; the router delivers it again", "networkId", r.NetworkID, "userId", r.UserID, "err", err)
	}
	return err
}
