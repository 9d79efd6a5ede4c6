package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/awsproto"
	chimeaccountsapi "github.com/belfry/belfry/api/chime/accounts"
	"github.com/belfry/belfry/api/chime/attachments"
	"github.com/belfry/belfry/api/chime/bots"
	"github.com/belfry/belfry/api/chime/calls"
	chimeclient "github.com/belfry/belfry/api/chime/client"
	"github.com/belfry/belfry/api/chime/clientapi"
	chimecontacts "github.com/belfry/belfry/api/chime/contacts"
	"github.com/belfry/belfry/api/chime/conversations"
	"github.com/belfry/belfry/api/chime/dataexports"
	"github.com/belfry/belfry/api/chime/domains"
	"github.com/belfry/belfry/api/chime/live"
	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/api/chime/meetings"
	"github.com/belfry/belfry/api/chime/numbers"
	"github.com/belfry/belfry/api/chime/porting"
	retentionapi "github.com/belfry/belfry/api/chime/retention"
	"github.com/belfry/belfry/api/chime/rooms"
	chimesettings "github.com/belfry/belfry/api/chime/settings"
	"github.com/belfry/belfry/api/chime/usagereports"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/chime/users"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/botdelivery"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/dns"
	"github.com/belfry/belfry/infra/eventbridge"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pins"
	"github.com/belfry/belfry/infra/portdocs"
	"github.com/belfry/belfry/infra/sessions"
	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/infra/urlsign"
	"github.com/belfry/belfry/projections/chimeaccounts"
	chimeconvs "github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimemeetings"
	"github.com/belfry/belfry/projections/chimenumbers"
	"github.com/belfry/belfry/projections/chimeretention"
	"github.com/belfry/belfry/projections/chimerooms"
)

// chimeApp is the Chime application: the slices of the admin API and of the client API.
type chimeApp struct {
	client    *chimeclient.Service
	accounts  *chimeaccountsapi.Service
	users     *users.Service
	bots      *bots.Service
	numbers   *numbers.Service
	porting   *porting.Service
	settings  *chimesettings.Service
	domains   *domains.Service
	meetings  *meetings.Service
	rooms     *rooms.Service
	retention *retentionapi.Service
	messages  *rooms.Messages
	convs     *conversations.Service
	live      *live.Hub
	botEvents *rooms.BotEvents
	portDocs  *portdocs.Store
	contacts  *chimecontacts.Service
	calls     *calls.Service
	media     *media.Service
	sfu       *sfu.SFU
	attach    *attachments.Service
	usage     *usagereports.Service
	exports   *dataexports.Service
	// eventBridge posts meeting and call events to BELFRY_EVENTBRIDGE_URL (nil: not configured).
	eventBridge sideeffects.EventBridgeDeliverer
}

// operations are the Chime admin API's operations, from every slice.
func (c chimeApp) operations() []awsproto.Operation {
	return slices.Concat(c.accounts.Operations(), c.users.Operations(), c.settings.Operations(), c.domains.Operations(),
		c.bots.Operations(), c.numbers.Operations(), c.porting.Operations(), c.rooms.Operations(), c.meetings.Operations(), c.convs.Operations(),
		c.retention.Operations(), c.calls.Operations(), c.exports.Operations())
}

// clientRoutes are the routes the slices serve on the client API, behind the client slice's sessions.
func (c chimeApp) clientRoutes() []clientapi.Route {
	return slices.Concat(c.client.Routes(), c.meetings.ClientRoutes(c.client), c.messages.ClientRoutes(c.client),
		c.contacts.ClientRoutes(c.client), c.calls.ClientRoutes(c.client), c.convs.ClientRoutes(c.client), c.live.Routes(), c.media.ClientRoutes(c.client),
		c.attach.ClientRoutes(c.client))
}

// newChime builds the Chime application over the event store and the read models.
func (m *Main) newChime(pool *pgxpool.Pool, client *esdb.Client, dataKeys *datakeys.Store, rms readModels) (chimeApp, error) {
	ryw := usecase.NewReadYourWrites(0, m.reg)
	accountsRepo := eventstore.NewRepository(client, accountDecider, m.Now).WithSnapshots(eventstore.Snapshots[account.State]{
		Store: eventstore.NewSnapshotStore(pool), Codec: account.SnapshotCodec{}, Logger: m.logger})
	m.onClose(snapshotAtStop(accountsRepo, m.logger))
	accounts := usecase.Accounts{Repo: repo[account.State, account.Command, account.Event]{accountsRepo}, RM: rms.accounts, RYW: ryw}
	accountsStore := chimeaccounts.NewStore(pool).WithSecrets(dataKeys)
	pinReserver := pins.Reserver{Client: client, Keys: dataKeys}
	botHTTP := m.BotHTTP
	if botHTTP == nil {
		botHTTP = m.cfg.outboundPolicy().Client(2 * time.Second)
	}
	botTransport := botdelivery.New(botdelivery.Config{HTTP: botHTTP, Lambda: botdelivery.HTTPLambdaInvoker{Endpoint: m.cfg.LambdaURL},
		Now: m.Now, Registerer: m.reg, Logger: m.logger})
	app := chimeApp{portDocs: portdocs.New(pool, client)}
	var err error
	if app.eventBridge, err = newEventBridge(m.cfg, client, m.logger, m.reg); err != nil {
		return chimeApp{}, err
	}
	app.client = chimeclient.New(chimeclient.Deps{Accounts: accounts, Store: accountsStore, Sessions: sessions.New(pool), Keys: dataKeys,
		PINs: pinReserver, Now: m.Now, Registerer: m.reg, SignIns: newRepo(client, usageDecider, m.Now), PasswordCost: m.cfg.PasswordCost})
	app.usage = newUsageReports(m, pool, client)
	app.bots = bots.New(bots.Deps{Accounts: accounts, Store: accountsStore, Keys: dataKeys, Targets: botTransport})
	numbersRepo := newRepo(client, numberDecider, m.Now)
	numbersStore := chimenumbers.NewStore(pool)
	app.numbers = numbers.New(numbers.Deps{Numbers: numbersRepo, Orders: newRepo(client, orderDecider, m.Now), NumbersRM: rms.numbers,
		Accounts: accounts, Store: numbersStore, RYW: ryw, Now: m.Now})
	app.accounts = chimeaccountsapi.New(chimeaccountsapi.Deps{Accounts: accounts, Store: accountsStore, Keys: dataKeys, Numbers: app.numbers,
		Logger: m.logger})
	app.users = users.New(users.Deps{Accounts: accounts, Store: accountsStore, PINs: pinReserver, Mail: mailer{m.mailer()}, Keys: dataKeys,
		Numbers: app.numbers, Logger: m.logger})
	app.porting = porting.New(porting.Deps{Ports: newRepo(client, portDecider, m.Now), Numbers: numbersRepo, NumberCmd: app.numbers,
		NumbersRM: rms.numbers, Store: numbersStore, Documents: app.portDocs, RYW: ryw, Keys: dataKeys, Now: m.Now})
	meetingsRepo, meetingsStore := newRepo(client, meetingDecider, m.Now), chimemeetings.NewStore(pool).WithSecrets(dataKeys)
	app.calls = newCalls(m, pool, client, callDeps{accounts: accounts.Repo, directory: accountsStore, meetings: recordingStops{meetingsRepo, &app.media}, numbers: numbersStore})
	app.contacts = chimecontacts.New(chimecontacts.Deps{Contacts: newRepo(client, contactsDecider, m.Now), Directory: accountsStore})
	app.settings = chimesettings.New(chimesettings.Deps{Settings: newRepo(client, settingsDecider, m.Now), Accounts: accounts, Users: accountsStore})
	app.retention = retentionapi.New(retentionapi.Deps{Retention: retentionapi.Retention{Repo: newRepo(client, retentionDecider, m.Now),
		RM: rms.retention, RYW: ryw}, Accounts: accountsStore, Policies: chimeretention.NewStore(pool), Enterprise: chimeaccounts.NewIndex(pool), Now: m.Now})
	blobs := blobstore.New(m.cfg.blobDir(), pool, dataKeys).WithExports(m.cfg.exportDir())
	roomDeps := rooms.Deps{Rooms: rooms.Rooms{Repo: newRepo(client, roomDecider, m.Now), RM: rms.rooms, RYW: ryw},
		Accounts: accounts.Repo, Store: chimerooms.NewStore(pool), Directory: accountsStore, Keys: dataKeys, Retention: app.retention, Logger: m.logger,
		Bots: botTransportPort{botTransport}, PublicURL: m.publicURL, Now: m.Now, Blobs: blobs}
	app.rooms, app.messages, app.botEvents = rooms.New(roomDeps), rooms.NewMessages(roomDeps), rooms.NewBotEvents(roomDeps)
	convsStore := chimeconvs.NewStore(pool)
	app.convs = conversations.New(conversations.Deps{Conversations: conversations.Conversations{Repo: newRepo(client, convDecider, m.Now),
		RM: rms.conversations, RYW: ryw}, Store: convsStore, Users: accountsStore, Keys: dataKeys, Accounts: accounts.Repo, Now: m.Now, Blobs: blobs, Retention: app.retention})
	app.attach = attachments.New(attachments.Deps{Blobs: blobs, Conversations: app.convs, Rooms: app.messages, Now: m.Now})
	signer, err := urlsign.Open(m.cfg.exportKeyPath())
	if err != nil {
		return chimeApp{}, err
	}
	app.exports = dataexports.New(dataexports.Deps{Accounts: accountsStore, Exports: blobs, Blobs: blobs, Rooms: chimerooms.NewStore(pool),
		Conversations: convsStore, Retention: app.retention, Signer: signer, PublicURL: m.publicURL, Now: m.Now, Logger: m.logger})
	app.live = live.New(live.Deps{Feed: convsStore, Position: rms.conversations, Keys: dataKeys, Auth: app.client,
		Rooms: chimerooms.NewStore(pool), Retention: app.retention, Now: m.Now},
		live.Config{Queue: m.ChatQueue, Recheck: m.ChatRecheck, Logger: m.logger, Registerer: m.reg})
	if app.media, app.sfu, err = newMedia(m.cfg.Media, media.Deps{Meetings: meetingsRepo, Store: meetingsStore, Directory: accountsStore, PINs: pinReserver,
		Delegates: app.contacts, Phones: app.calls, SessionRecheck: m.SignalRecheck, Now: m.Now, Logger: m.logger}); err != nil {
		return chimeApp{}, err
	}
	m.reg.MustRegister(sfuCollectors(app.sfu)...)
	app.meetings = meetings.New(meetings.Deps{Meetings: meetings.Meetings{Repo: meetingsRepo, RM: rms.meetings, RYW: ryw},
		Store: meetingsStore, Directory: accountsStore, Keys: dataKeys, Chat: dataKeys, Pusher: chatPush{app.media}})
	app.domains = domains.New(domains.Deps{Claims: newRepo(client, claimDecider, m.Now), Accounts: accounts, Store: accountsStore,
		DNS: dns.TXT{Resolver: m.cfg.resolver()}, Numbers: app.numbers, Meetings: app.meetings, Keys: dataKeys, Now: m.Now, Logger: m.logger})
	return app, nil
}

// publicURL is the base of the URLs handed out (incoming webhooks, bot reply URLs).
func (m *Main) publicURL() string {
	if m.cfg.PublicURL != "" {
		return m.cfg.PublicURL
	}
	return "http://" + m.HTTPAddr()
}

// startSideEffects runs the watermill router that delivers the relayed side effects, and the sweeps
// that look for background work, until runCtx ends.
func (m *Main) startSideEffects(runCtx context.Context, pool *pgxpool.Pool, c chimeApp) error {
	router, err := sideeffects.NewRouter(pool, sideeffects.Handlers{Mailer: invitationMailer{c.users}, WickrMailer: wickrInvitationMailer{m.wickr.client},
		Orders: c.numbers, BotEvents: botEventHandler{c.botEvents}, CDRs: c.calls, EventBridge: c.eventBridge,
		MeetingChat: c.meetings, WickrResets: wickrPasswordResets{m.wickr.client, m.wickr.messaging, m.logger}},
		sideeffects.RouterConfig{Logger: m.logger})
	if err != nil {
		return err
	}
	m.spawn(func() { _ = router.Run(runCtx) })
	m.onClose(router.Close)
	m.spawn(func() { c.exports.Run(runCtx) })
	sweep := m.SweepEvery
	if sweep <= 0 {
		sweep = 5 * time.Second
	}
	startedAt := m.Now()
	sw := sweeps{purgeDomainUsers: c.domains.PurgeDueDomainUsers, disableDomainMeetings: c.meetings.DisablePendingDomainMeetings,
		collectPortInDocuments: c.portDocs.Collect, endInterruptedCalls: func(ctx context.Context) {
			endInterruptedCalls(ctx, m.logger, c.calls, startedAt)
			endInterruptedMeetings(ctx, m.logger, c.media, startedAt)
		}}
	m.spawn(func() { sw.run(runCtx, m.logger, sweep) })
	m.onClose(func() error { endCallsAtClose(m.logger, c.calls, m.Now); return nil })
	// Live meetings end before the event store closes: every attendee leaves as ServiceRestart, and
	// the signalling sessions of meetings and Wickr calls (a join the closing SFU refused included)
	// record their leaving before anything they record it in closes.
	m.onClose(func() error {
		err := c.sfu.Close()
		var sessions []interface{ WaitSessions(time.Duration) bool }
		if c.media != nil {
			sessions = append(sessions, c.media)
		}
		if m.wickr.calls != nil {
			sessions = append(sessions, m.wickr.calls)
		}
		for _, s := range sessions {
			if !s.WaitSessions(10 * time.Second) {
				m.logger.Warn("signalling sessions still running 10 s after the SFU closed; the next start's sweep ends what they leave")
			}
		}
		return err
	})
	return nil
}

// stopSnapshotTime bounds the snapshots a clean stop writes; what is left keeps its last snapshot.
const stopSnapshotTime = 20 * time.Second

// snapshotAtStop snapshots the accounts cached with a tail past their last snapshot, so that a clean
// restart loads even a 100,000-user account from a snapshot at its last event. It runs as a closer,
// after the HTTP server has stopped taking commands.
func snapshotAtStop(r interface{ SnapshotCached(context.Context) int }, logger *slog.Logger) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), stopSnapshotTime)
		defer cancel()
		start := time.Now()
		if n := r.SnapshotCached(ctx); n > 0 {
			logger.Info("snapshots written at stop", "streams", n, "took", time.Since(start).Round(time.Millisecond))
		}
		return nil
	}
}

// newEventBridge returns the deliverer of meeting and call events when BELFRY_EVENTBRIDGE_URL is set,
// else nil (and the relay queues nothing for it).
func newEventBridge(cfg Config, client *esdb.Client, logger *slog.Logger, reg prometheus.Registerer) (sideeffects.EventBridgeDeliverer, error) {
	if cfg.EventBridgeURL == "" {
		return nil, nil
	}
	d, err := eventbridge.New(eventbridge.Config{Endpoint: cfg.EventBridgeURL, Secret: []byte(cfg.EventBridgeSecret), Region: cfg.Region,
		Logger: logger, Registerer: reg}, eventbridge.Log{Client: client})
	if err != nil {
		return nil, err
	}
	return d, nil
}
