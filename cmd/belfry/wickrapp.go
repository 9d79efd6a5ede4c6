package main

import (
	"context"
	"slices"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/awsproto"
	wickranalyticsapi "github.com/belfry/belfry/api/belfry/wickranalytics"
	wickrbotsapi "github.com/belfry/belfry/api/wickr/bots"
	"github.com/belfry/belfry/api/wickr/calls"
	wickrclientapi "github.com/belfry/belfry/api/wickr/client"
	wickrdevicesapi "github.com/belfry/belfry/api/wickr/devices"
	wickrguestsapi "github.com/belfry/belfry/api/wickr/guests"
	"github.com/belfry/belfry/api/wickr/messaging"
	wickrnetworksapi "github.com/belfry/belfry/api/wickr/networks"
	wickropentdfapi "github.com/belfry/belfry/api/wickr/opentdf"
	wickrretentionapi "github.com/belfry/belfry/api/wickr/retention"
	"github.com/belfry/belfry/api/wickr/securitygroups"
	wickrssoapi "github.com/belfry/belfry/api/wickr/sso"
	"github.com/belfry/belfry/api/wickr/usecase"
	wickrusersapi "github.com/belfry/belfry/api/wickr/users"
	"github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/wickrarchive"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/wickranalytics"
	"github.com/belfry/belfry/projections/wickrdeletions"
	"github.com/belfry/belfry/projections/wickrguests"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// This file wires the Wickr slices (api/wickr/*) to their adapters: the event store's repositories
// of the Wickr aggregates and the Wickr read models.

// wickrApp is the Wickr application: its read models' runners and the slices of the admin API.
type wickrApp struct {
	networksRM, usersRM *projections.Runner
	guestsRM            *projections.Runner
	analyticsRM         *projections.Runner
	networks            *wickrnetworksapi.Service
	groups              *securitygroups.Service
	bots                *wickrbotsapi.Service
	retention           *wickrretentionapi.Service
	sso                 *wickrssoapi.Service
	opentdf             *wickropentdfapi.Service
	users               *wickrusersapi.Service
	devices             *wickrdevicesapi.Service
	guests              *wickrguestsapi.Service
	client              *wickrclientapi.Service // the end users' client API
	messaging           *messaging.Service      // conversations and messages on the client API
	stream              *messaging.Stream       // their live delivery
	calls               *calls.Service          // calls on the SFU (wickrcalls.go)
	archive             *wickrarchive.Shipper   // the data-retention archive
	conversationsRM     *projections.Runner     // the conversations read model
	archiveRM           *projections.Runner     // the archive's read model
	rosters             usecase.Rosters         // the end users' command path (and the tests' setups)
	networkCmds         usecase.Networks        // the networks' command path (the group reactor, the tests' setups)

	// archiveTo builds a shipper like archive's to another target (the archive benchmark's
	// catch-up): same read model, keys, files and rotation.
	archiveTo func(objstore.Target, *wickrarchive.Metrics) *wickrarchive.Shipper
}

// operations are the Wickr Admin API's operations, from every slice.
func (w wickrApp) operations() []awsproto.Operation {
	if w.networks == nil {
		return nil
	}
	return slices.Concat(w.networks.Operations(), w.groups.Operations(), w.bots.Operations(), w.retention.Operations(),
		w.sso.Operations(), w.opentdf.Operations(), w.users.Operations(), w.devices.Operations(), w.guests.Operations())
}

// The deciders of the Wickr aggregates the slices command.
var (
	wickrNetworkDecider = eventstore.DeciderOf[network.State, network.Command, network.Event](network.Initial, network.Evolve, network.Decide, network.Decode)
	// wickrCompanyIDDecider decides the SSO company-id claims (directory.CompanyIDStream).
	wickrCompanyIDDecider = eventstore.DeciderOf[directory.State, directory.Command, directory.Event](directory.Initial, directory.Evolve, directory.Decide, directory.Decode)
	wickrAccountDecider   = eventstore.DeciderOf[account.State, account.Command, account.Event](account.Initial, account.Evolve, account.Decide, account.Decode)
	wickrRosterDecider    = eventstore.DeciderOf[roster.State, roster.Command, roster.Event](roster.Initial, roster.Evolve, roster.Decide, roster.Decode)
	wickrGuestDecider     = eventstore.DeciderOf[guest.State, guest.Command, guest.Event](guest.Initial, guest.Evolve, guest.Decide, guest.Decode)
	wickrDirectoryDecider = eventstore.DeciderOf[directory.State, directory.Command, directory.Event](directory.Initial, directory.Evolve, directory.Decide, directory.Decode)
)

// wickrProjections builds the runners of the Wickr read models (started with the others).
func (m *Main) wickrProjections(pool *pgxpool.Pool, client *esdb.Client, pm *projections.Metrics) []*projections.Runner {
	m.wickr.networksRM = projections.NewRunner(pool, client, wickrnetworks.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	m.wickr.usersRM = projections.NewRunner(pool, client, wickrusers.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	m.wickr.guestsRM = projections.NewRunner(pool, client, wickrguests.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond})
	// Nobody waits on the analytics read model: its batches linger to be fewer and larger.
	m.wickr.analyticsRM = projections.NewRunner(pool, client, wickranalytics.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond})
	deletions := projections.NewRunner(pool, client, wickrdeletions.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	return []*projections.Runner{m.wickr.networksRM, m.wickr.usersRM, m.wickr.guestsRM, m.wickr.analyticsRM, deletions, wickrConversationsRunner(m, pool, client, pm),
		wickrArchiveRunner(m, pool, client, pm)}
}

// wickrBelfryOperations are the Wickr operations of the Belfry admin API (signing name belfry).
func (m *Main) wickrBelfryOperations(pool *pgxpool.Pool) []awsproto.Operation {
	return wickranalyticsapi.Operations(wickranalytics.NewStore(pool), m.Now)
}

// newWickr builds the Wickr slices over the event store and the read models.
func (m *Main) newWickr(pool *pgxpool.Pool, client *esdb.Client, keys *datakeys.Store) {
	// The read-your-writes timeouts of the Wickr calls are not registered: the Chime slices own
	// belfry_read_your_writes_timeouts_total.
	ryw := usecase.NewReadYourWrites(0, nil)
	networks := usecase.Networks{Repo: newRepo(client, wickrNetworkDecider, m.Now), RM: m.wickr.networksRM, RYW: ryw}
	accounts := usecase.Accounts{Repo: newRepo(client, wickrAccountDecider, m.Now), RM: m.wickr.networksRM, RYW: ryw}
	m.wickr.rosters = usecase.Rosters{Repo: newRepo(client, wickrRosterDecider, m.Now), RM: m.wickr.usersRM, RYW: ryw}
	networksStore, usersStore := wickrnetworks.NewStore(pool), wickrusers.NewStore(pool)
	m.wickr.networks = wickrnetworksapi.New(wickrnetworksapi.Deps{Networks: networks, Accounts: accounts,
		Store: networksStore, Trials: networksStore, Fanout: m.wickrDeletionFanout(pool, client), Now: m.Now, Logger: m.logger})
	m.wickr.groups = securitygroups.New(securitygroups.Deps{Networks: networks, Rosters: m.wickr.rosters, Groups: networksStore,
		Users: usersStore, Orphans: usersStore, Now: m.Now, Logger: m.logger})
	m.wickr.bots = wickrbotsapi.New(wickrbotsapi.Deps{Networks: networks, Store: wickrnetworks.NewStore(pool), Keys: keys,
		PasswordCost: m.cfg.PasswordCost})
	m.wickr.retention = wickrretentionapi.New(wickrretentionapi.Deps{Networks: networks, Keys: keys, PasswordCost: m.cfg.PasswordCost})
	m.wickr.opentdf = wickropentdfapi.New(wickropentdfapi.Deps{Networks: networks, Keys: keys})
	m.wickr.sso = wickrssoapi.New(wickrssoapi.Deps{Networks: networks, Claims: newRepo(client, wickrCompanyIDDecider, m.Now), Keys: keys,
		HTTP: m.cfg.outboundPolicy().Client(wickrssoapi.DiscoveryTimeout)})
	m.wickr.networkCmds = networks
	m.newWickrUsers(pool, client, networks, ryw)
	m.newWickrClient(pool, client, networks, keys, ryw)
	newWickrArchive(m, pool, keys) // before messaging, whose sweep asks it which keys must wait
	newWickrMessaging(m, pool, client, networks, keys, ryw)
}

// newWickrUsers builds the users, devices and guests slices: rosters, directory shards, the users read model.
func (m *Main) newWickrUsers(pool *pgxpool.Pool, client *esdb.Client, networks usecase.Networks, ryw *usecase.ReadYourWrites) {
	m.wickr.rosters = usecase.Rosters{Repo: newRepo(client, wickrRosterDecider, m.Now), RM: m.wickr.usersRM, RYW: ryw}
	dirs := usecase.Directories{Repo: newRepo(client, wickrDirectoryDecider, m.Now), RM: m.wickr.usersRM, RYW: ryw}
	users := wickrusers.NewStore(pool)
	m.wickr.users = wickrusersapi.New(wickrusersapi.Deps{Networks: networks, Rosters: m.wickr.rosters, Directories: dirs,
		Store: users, NetworkStore: wickrnetworks.NewStore(pool), Now: m.Now, Logger: m.logger})
	m.wickr.devices = wickrdevicesapi.New(wickrdevicesapi.Deps{Networks: networks, Rosters: m.wickr.rosters, Store: users})
	m.wickr.guests = wickrguestsapi.New(wickrguestsapi.Deps{Networks: usecase.Networks{Repo: networks.Repo, RM: m.wickr.guestsRM, RYW: ryw},
		Guests: usecase.Guests{Repo: newRepo(client, wickrGuestDecider, m.Now), RYW: ryw}, Store: wickrguests.NewStore(pool), Now: m.Now})
}

// startWickrSweeps runs the Wickr background work every SweepEvery until runCtx ends: the Premium
// free trials that are over fall back to Standard, the deletions of networks are carried on, the
// users of deleted security groups move to their default group, and the calls a crash left live end;
// and hourly the client sessions found over are deleted (startWickrSessionSweep).
func (m *Main) startWickrSweeps(runCtx context.Context) {
	every := m.SweepEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	m.spawn(func() { m.wickr.stream.Run(runCtx) })
	runWickrArchive(m, runCtx)
	startWickrCallSweep(m, runCtx, every)
	startWickrSessionSweep(m, runCtx)
	spawnEvery(m, runCtx, every, func() {
		if _, err := m.wickr.networks.ExpireTrials(runCtx); err != nil && runCtx.Err() == nil {
			m.logger.Warn("expiring Premium free trials interrupted; it resumes on the next sweep", "err", err)
		}
		if _, err := m.wickr.networks.CompleteDeletions(runCtx); err != nil && runCtx.Err() == nil {
			m.logger.Warn("deleting networks interrupted; it resumes on the next sweep", "err", err)
		}
		if _, err := m.wickr.groups.MoveOrphans(runCtx); err != nil && runCtx.Err() == nil {
			m.logger.Warn("moving the users of deleted security groups interrupted; it resumes on the next sweep", "err", err)
		}
		sweepWickrMessages(m, runCtx)
	})
}

// wickrDeletionFanout is what a network's deletion reaches: its work queue (the wickr_deletions read
// model), the roster blocks, the directory shards and the network's data keys.
func (m *Main) wickrDeletionFanout(pool *pgxpool.Pool, client *esdb.Client) *wickrnetworksapi.Fanout {
	dirDecider := eventstore.DeciderOf[directory.State, directory.Command, directory.Event](directory.Initial, directory.Evolve, directory.Decide, directory.Decode)
	return &wickrnetworksapi.Fanout{Deletions: wickrdeletions.NewStore(pool), Rosters: m.wickr.rosters,
		Directory: newRepo(client, dirDecider, m.Now), Keys: datakeys.New(pool)}
}
