package main

import (
	"context"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	wickrclientapi "github.com/belfry/belfry/api/wickr/client"
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
// mails (a side effect of UserInvited and UserReinvited) and its SSO company-id lookups.

// newWickrClient builds the client slice over the Wickr command paths.
func (m *Main) newWickrClient(pool *pgxpool.Pool, client *esdb.Client, networks usecase.Networks, keys *datakeys.Store, ryw *usecase.ReadYourWrites) {
	m.wickr.client = wickrclientapi.New(wickrclientapi.Deps{Networks: networks, Rosters: m.wickr.rosters,
		Companies: usecase.Directories{Repo: newRepo(client, wickrCompanyIDDecider, m.Now), RYW: ryw},
		Guests:    usecase.Guests{Repo: newRepo(client, wickrGuestDecider, m.Now), RM: m.wickr.guestsRM, RYW: ryw},
		Users:     wickrusers.NewStore(pool), Sessions: wickrSessions{sessions.NewWickr(pool)}, Keys: keys,
		Mail: mailer{m.mailer()}, PublicURL: m.publicURL, Now: m.Now, Registerer: m.reg,
		IdP: wickrssoapi.IdentityProviderClient(m.cfg.outboundPolicy().Client(wickrssoapi.DiscoveryTimeout))})
}

// wickrSessions adapts the session table to the client slice's port.
type wickrSessions struct{ s *sessions.WickrStore }

func (w wickrSessions) Open(ctx context.Context, hash string, s wickrclientapi.Session) error {
	return w.s.Open(ctx, hash, sessions.WickrSession{NetworkID: s.NetworkID, UserID: s.UserID, AppID: s.AppID, IssuedAt: s.IssuedAt, SSO: s.SSO,
		ExpiresAt: s.ExpiresAt, Refresh: s.Refresh, GuestHash: s.GuestHash})
}

func (w wickrSessions) Lookup(ctx context.Context, hash string) (wickrclientapi.Session, error) {
	s, err := w.s.Lookup(ctx, hash)
	return wickrclientapi.Session{Session: roster.Session{UserID: s.UserID, AppID: s.AppID, IssuedAt: s.IssuedAt, SSO: s.SSO},
		NetworkID: s.NetworkID, GuestHash: s.GuestHash, ExpiresAt: s.ExpiresAt, RefreshFailedAt: s.RefreshFailedAt, Refresh: s.Refresh}, err
}

func (w wickrSessions) Refreshed(ctx context.Context, hash string, expiresAt time.Time, refresh domain.Sealed) error {
	return w.s.Refreshed(ctx, hash, expiresAt, refresh)
}

func (w wickrSessions) RefreshFailed(ctx context.Context, hash string, at time.Time) (time.Time, error) {
	return w.s.RefreshFailed(ctx, hash, at)
}

func (w wickrSessions) Close(ctx context.Context, hash string) error { return w.s.Close(ctx, hash) }

// wickrInvitationMailer hands the router's Wickr invitation messages to the client slice.
type wickrInvitationMailer struct{ c *wickrclientapi.Service }

func (m wickrInvitationMailer) DeliverWickrInvitation(ctx context.Context, inv sideeffects.WickrInvitation) error {
	return m.c.DeliverInvitation(ctx, inv.NetworkID, inv.UserID)
}
