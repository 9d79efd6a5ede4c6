// Package sideeffects runs Belfry's side effects on watermill (architecture §5).
//
// Invariants:
//   - The relay is a projection over $all whose "read model" is watermill-sql's topic table: each batch
//     inserts its messages in the same transaction as its checkpoint, so every event that calls for a
//     side effect is enqueued exactly once, and nothing acknowledged is lost on a crash (no dual write).
//   - The relay is never rebuilt (its Version never changes): a rebuild would fire side effects again.
//   - The router delivers at least once, with retries and backoff, a poison queue, a recoverer and the
//     correlation id of the originating request; handlers are idempotent (keyed by the event id). The
//     poisoned messages of the handlers whose failures pass are delivered again later (redrive.go).
//   - A topic is consumed one message at a time, so bot events, whose endpoints the bots' authors
//     run, leave the topic at once for per-bot lanes (botlanes.go): a slow or hostile endpoint delays
//     only its own bot's events, and the lanes keep the same at-least-once, retry and poison rules.
package sideeffects

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/envelope"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/eventbridge"
)

// Stable topic and handler names: renaming one re-consumes or loses messages.
const (
	TopicInvitations = "chime_invitations"
	TopicOrders      = "chime_phone_number_orders"
	TopicBotEvents   = "chime_bot_events"
	TopicCallCDRs    = "chime_call_cdrs"
	TopicPoison      = "belfry_poison"
	// TopicWickrInvitations asks for the invitation mails of Wickr users (invited or re-invited).
	TopicWickrInvitations = "wickr_invitations"
	// TopicWickrResetMails asks for the mail of a Wickr user's password-reset link (its request).
	TopicWickrResetMails = "wickr_password_reset_mails"
	// TopicWickrPasswordResets asks for a reset Wickr user's removal from its rooms.
	TopicWickrPasswordResets = "wickr_password_resets"
	// TopicEventBridge carries meeting and call events to the EventBridge endpoint (when configured).
	TopicEventBridge = "chime_eventbridge"
	// TopicMeetingEnded asks for an ended meeting's chat key to be destroyed.
	TopicMeetingEnded  = "chime_meeting_ended"
	HandlerMeetingChat = "destroy_meeting_chat"
	HandlerEventBridge = "deliver_eventbridge_event"
	HandlerInvitation  = "send_invitation_mail"
	HandlerWickrInvite = "send_wickr_invitation_mail"
	HandlerWickrReset  = "send_wickr_password_reset_mail"
	HandlerWickrRooms  = "leave_wickr_rooms_after_password_reset"
	HandlerOrder       = "process_phone_number_order"
	HandlerBotEvent    = "deliver_bot_event"
	HandlerCallCDRs    = "write_call_cdrs"
)

var topics = []string{TopicInvitations, TopicOrders, TopicBotEvents, TopicCallCDRs, TopicPoison, TopicWickrInvitations, TopicEventBridge, TopicMeetingEnded,
	TopicWickrResetMails, TopicWickrPasswordResets}

var schema = wsql.DefaultPostgreSQLSchema{}

// Invitation is the message asking for an invitation mail.
type Invitation struct {
	AccountID string `json:"accountId"`
	InviteID  string `json:"inviteId"`
	UserID    string `json:"userId"`
	Email     string `json:"email"`
}

// WickrInvitation asks for the invitation mail of a Wickr user (its current invitation).
type WickrInvitation struct {
	NetworkID string `json:"networkId"`
	UserID    string `json:"userId"`
}

// WickrPasswordResetMail asks for the mail of a Wickr user's password-reset link: the request's
// expiry (the link names it; the token itself is made when the mail is sent, and stored nowhere).
type WickrPasswordResetMail struct {
	NetworkID string    `json:"networkId"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// WickrPasswordReset asks for a reset Wickr user's removal from its rooms: the reset's time and its
// commit position in the event log.
type WickrPasswordReset struct {
	NetworkID string    `json:"networkId"`
	UserID    string    `json:"userId"`
	At        time.Time `json:"at"`
	Position  uint64    `json:"position"`
}

// PhoneNumberOrder is the message asking for an order's numbers to be acquired.
type PhoneNumberOrder struct {
	OrderID string `json:"orderId"`
}

// BotEvent asks for an event to be sent to a bot (guide §11.3): Invite when the bot joins a room,
// Mention when a message @mentions it, Remove when it leaves one.
type BotEvent struct {
	BotID     string `json:"botId"`
	RoomID    string `json:"roomId"`
	AccountID string `json:"accountId,omitempty"`
	EventType string `json:"eventType"`
	SenderID  string `json:"senderId"`
	// KeyID and Sealed are a Mention's message, sealed as in the event (the handler opens it).
	KeyID  string    `json:"keyId,omitempty"`
	Sealed []byte    `json:"sealed,omitempty"`
	At     time.Time `json:"at"`
}

// CallEnded asks for the CDRs of an ended Business Calling conference to be written.
type CallEnded struct {
	ConferenceID string `json:"conferenceId"`
}

// MeetingEnded asks for an ended meeting's chat key to be destroyed (guide §4.8: meeting chat ends
// with the meeting).
type MeetingEnded struct {
	MeetingID string `json:"meetingId"`
}

// Relay enqueues side effects from the event log. With EventBridge set it also enqueues every
// meeting and call event that has an EventBridge form (eventbridge.Mapped); without it none is
// queued, so nothing accumulates for an endpoint that does not exist.
type Relay struct{ EventBridge bool }

// Name is stable.
func (Relay) Name() string { return "sideeffects_relay" }

// Version never changes (see the package invariants).
func (Relay) Version() int { return 1 }

// Tables: the relay exposes no read model.
func (Relay) Tables() []string { return nil }

// Filter selects the streams whose events call for side effects.
func (Relay) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{account.StreamPrefix, phonenumber.OrderStreamPrefix, room.StreamPrefix,
		roster.StreamPrefix, call.StreamPrefix, meeting.StreamPrefix}}
}

// Setup creates the watermill topic tables.
func (Relay) Setup(ctx context.Context, tx pgx.Tx, _ string) error { return createTopics(ctx, tx) }

// EnsureTopics creates the topic tables that do not exist yet: the relay's Setup ran when it was first
// created, before later versions added topics. Run it before the relay.
func EnsureTopics(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return createTopics(ctx, tx) })
}

func createTopics(ctx context.Context, tx pgx.Tx) error {
	for _, topic := range topics {
		qs, err := schema.SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams{Topic: topic})
		if err != nil {
			return err
		}
		for _, q := range qs {
			if _, err := tx.Exec(ctx, q.Query, q.Args...); err != nil {
				return fmt.Errorf("sideeffects: create topic %s: %w", topic, err)
			}
		}
	}
	return nil
}

// Apply enqueues the message of an event that calls for a side effect.
func (r Relay) Apply(b *pgx.Batch, _ string, ev *esdb.RecordedEvent) error {
	if r.EventBridge && eventbridge.Mapped(ev.StreamID, ev.EventType) {
		if err := queue(b, TopicEventBridge, ev, eventbridge.SourceEvent{Stream: ev.StreamID, Type: ev.EventType, EventID: ev.EventID.String(),
			Data: ev.Data}, "eventbridge"); err != nil {
			return err
		}
	}
	var topic string
	var payload any
	switch ev.EventType {
	case account.TypeUserInvited:
		e, err := account.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		inv := e.(account.UserInvited)
		topic, payload = TopicInvitations, Invitation{AccountID: ev.StreamID[len(account.StreamPrefix):], InviteID: inv.InviteID, UserID: inv.UserID, Email: inv.Email}
	case roster.TypeUserInvited, roster.TypeUsersInvited, roster.TypeUserReinvited:
		return wickrInvitation(b, ev)
	case roster.TypePasswordResetRequested, roster.TypePasswordReset:
		return wickrPasswordReset(b, ev)
	case phonenumber.TypeOrderCreated:
		topic, payload = TopicOrders, PhoneNumberOrder{OrderID: ev.StreamID[len(phonenumber.OrderStreamPrefix):]}
	case call.TypeConferenceEnded:
		topic, payload = TopicCallCDRs, CallEnded{ConferenceID: ev.StreamID[len(call.StreamPrefix):]}
	case meeting.TypeEnded:
		topic, payload = TopicMeetingEnded, MeetingEnded{MeetingID: strings.TrimPrefix(ev.StreamID, meeting.StreamPrefix)}
	case room.TypeMessagePosted:
		e, err := room.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		m := e.(room.MessagePosted)
		ms := make([]keyed, 0, len(m.MentionedBots))
		for _, bot := range m.MentionedBots {
			ms = append(ms, keyed{BotEvent{BotID: bot, RoomID: ev.StreamID[len(room.StreamPrefix):], EventType: "Mention",
				SenderID: m.SenderEmail, KeyID: m.KeyID, Sealed: m.Sealed, At: m.At}, bot})
		}
		return queueAll(b, TopicBotEvents, ev, ms)
	case room.TypeMemberAdded, room.TypeMemberRemoved:
		e, err := room.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		be := BotEvent{RoomID: ev.StreamID[len(room.StreamPrefix):]}
		switch e := e.(type) {
		case room.MemberAdded:
			if e.MemberType != room.MemberBot {
				return nil
			}
			be.BotID, be.EventType, be.SenderID, be.At = e.MemberID, "Invite", e.InvitedBy, e.At
		case room.MemberRemoved:
			if e.MemberType != room.MemberBot {
				return nil
			}
			be.BotID, be.EventType, be.SenderID, be.At = e.MemberID, "Remove", e.By, e.At
		}
		topic, payload = TopicBotEvents, be
	default:
		return nil
	}
	return queue(b, topic, ev, payload, "")
}

// wickrInvitation queues the invitation mail of the user a roster event names (stream
// "wickr.roster-<networkId>-<block>").
func wickrInvitation(b *pgx.Batch, ev *esdb.RecordedEvent) error {
	e, err := roster.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	network := rosterNetwork(ev.StreamID)
	var user string
	switch e := e.(type) {
	case roster.UserInvited:
		user = e.UserID
	case roster.UserReinvited:
		user = e.UserID
	case roster.UsersInvited: // one event for a whole batch: one mail per user
		ms := make([]keyed, len(e.UserIDs))
		for i, id := range e.UserIDs {
			ms[i] = keyed{WickrInvitation{NetworkID: network, UserID: id}, id}
		}
		return queueAll(b, TopicWickrInvitations, ev, ms)
	}
	return queue(b, TopicWickrInvitations, ev, WickrInvitation{NetworkID: network, UserID: user}, "")
}

// rosterNetwork is the network of a roster stream "wickr.roster-<networkId>-<block>".
func rosterNetwork(stream string) string {
	rest := strings.TrimPrefix(stream, roster.StreamPrefix)
	return rest[:max(strings.LastIndexByte(rest, '-'), 0)]
}

// wickrPasswordReset queues a Wickr password reset's side effect: the mail of a requested link, or
// the removal of a reset user from its rooms.
func wickrPasswordReset(b *pgx.Batch, ev *esdb.RecordedEvent) error {
	e, err := roster.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	network := rosterNetwork(ev.StreamID)
	switch e := e.(type) {
	case roster.PasswordResetRequested:
		return queue(b, TopicWickrResetMails, ev, WickrPasswordResetMail{NetworkID: network, UserID: e.UserID, ExpiresAt: e.ExpiresAt}, "")
	case roster.PasswordReset:
		return queue(b, TopicWickrPasswordResets, ev, WickrPasswordReset{NetworkID: network, UserID: e.UserID, At: e.At, Position: ev.Position.Commit}, "")
	}
	return nil
}

// keyed is one message an event asks for: its payload, and its key ("": the message id is the
// event's own).
type keyed struct {
	payload any
	key     string
}

// queue adds one message for ev to the batch (see queueAll).
func queue(b *pgx.Batch, topic string, ev *esdb.RecordedEvent, payload any, key string) error {
	return queueAll(b, topic, ev, []keyed{{payload, key}})
}

// queueAll adds ev's messages to the batch in order, up to insertChunk rows a statement; a message's
// id is the event's, or, when one event asks for several messages, a name-based UUID of the event's
// id and its key (watermill ids are UUIDs).
func queueAll(b *pgx.Batch, topic string, ev *esdb.RecordedEvent, ms []keyed) error {
	if len(ms) == 0 {
		return nil
	}
	corr := envelope.Parse(ev.UserMetadata).CorrelationID
	msgs := make(message.Messages, 0, len(ms))
	for _, m := range ms {
		data, err := json.Marshal(m.payload)
		if err != nil {
			return err
		}
		id := ev.EventID.String()
		if m.key != "" {
			id = uuid.NewSHA1(uuid.UUID(ev.EventID), []byte(m.key)).String()
		}
		msg := message.NewMessage(id, data)
		middleware.SetCorrelationID(corr, msg)
		msgs = append(msgs, msg)
	}
	for len(msgs) > 0 {
		n := min(len(msgs), insertChunk)
		q, err := schema.InsertQuery(wsql.InsertQueryParams{Topic: topic, Msgs: msgs[:n]})
		if err != nil {
			return err
		}
		b.Queue(q.Query, q.Args...)
		msgs = msgs[n:]
	}
	return nil
}

// insertChunk bounds the rows of one INSERT (three parameters a row, PostgreSQL allows 65,535).
const insertChunk = 1000

// InvitationMailer sends one invitation mail; it must be idempotent for an invitation.
type InvitationMailer interface {
	DeliverInvitation(ctx context.Context, inv Invitation) error
}

// OrderProcessor acquires the numbers of one order; it must be idempotent (it resumes an order
// half done and ignores a completed one).
type OrderProcessor interface {
	ProcessPhoneNumberOrder(ctx context.Context, orderID string) error
}

// BotEventDeliverer sends one event to a bot; delivery failures the guide says to drop are not
// errors (an error asks for a redelivery).
type BotEventDeliverer interface {
	DeliverBotEvent(ctx context.Context, ev BotEvent) error
}

// CDRWriter writes the CDRs of one ended conference; it must be idempotent.
type CDRWriter interface {
	WriteCDRs(ctx context.Context, conferenceID string) error
}

// WickrInvitationMailer sends a Wickr user's invitation mail; it must be idempotent.
type WickrInvitationMailer interface {
	DeliverWickrInvitation(ctx context.Context, inv WickrInvitation) error
}

// WickrPasswordResets carry out a Wickr password reset's side effects; both must be idempotent.
type WickrPasswordResets interface {
	// DeliverWickrPasswordReset mails a user the link of its reset request (none for a link
	// replaced or used since).
	DeliverWickrPasswordReset(ctx context.Context, m WickrPasswordResetMail) error
	// LeaveWickrRooms takes a reset user out of the rooms it joined by the reset; an error (some
	// room not left) asks for a redelivery.
	LeaveWickrRooms(ctx context.Context, r WickrPasswordReset) error
}

// EventBridgeDeliverer posts one meeting or call event to the EventBridge endpoint (nil error: done,
// delivered or dropped).
type EventBridgeDeliverer interface {
	Deliver(ctx context.Context, src eventbridge.SourceEvent) error
}

// MeetingChatShredder destroys the chat key of an ended meeting; it must be idempotent.
type MeetingChatShredder interface {
	DestroyChat(ctx context.Context, meetingID string) error
}

// Handlers are the services the router delivers to (WickrMailer nil: Wickr invitations wait;
// WickrResets nil: the Wickr password resets' mails and room removals wait; EventBridge nil: no
// endpoint, and the relay queues nothing for it).
type Handlers struct {
	WickrResets WickrPasswordResets
	EventBridge EventBridgeDeliverer
	MeetingChat MeetingChatShredder
	WickrMailer WickrInvitationMailer
	Mailer      InvitationMailer
	Orders      OrderProcessor
	BotEvents   BotEventDeliverer
	CDRs        CDRWriter
}

// Router runs the side-effect handlers.
type Router struct {
	r   *message.Router
	ran chan struct{} // closed when Run returns

	lanes     *botLanes
	lanesDone chan struct{}      // closed when the lanes stopped (Run started them)
	stopLanes context.CancelFunc // set by Run

	mu      sync.Mutex
	closed  bool // Close was called: a later Run returns at once
	running bool // Run was entered before Close
}

// RouterConfig tunes delivery; the zero value is the production setting.
type RouterConfig struct {
	Logger *slog.Logger
	// MaxRetries is how many times a failed message is retried before it goes to the poison
	// topic (default 5); RetryInterval is the first backoff, doubled up to 5 s (default 200 ms).
	MaxRetries    int
	RetryInterval time.Duration
	// RedriveDelay is how long a poisoned message of a re-drivable handler waits before it is
	// delivered again (redrive.go; default 20 s, at most 25 s), at most MaxRedrives times (default 180:
	// an hour and more of attempts).
	RedriveDelay time.Duration
	MaxRedrives  int
}

func (c *RouterConfig) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 5
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 200 * time.Millisecond
	}
	if c.RedriveDelay <= 0 {
		c.RedriveDelay = 20 * time.Second
	}
	c.RedriveDelay = min(c.RedriveDelay, maxRedriveDelay)
	if c.MaxRedrives <= 0 {
		c.MaxRedrives = 180
	}
}

// NewRouter builds the router over the Postgres-backed topics.
func NewRouter(pool *pgxpool.Pool, h Handlers, cfg RouterConfig) (*Router, error) {
	cfg.defaults()
	wlog := watermill.NewSlogLogger(cfg.Logger)
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(pool), wsql.SubscriberConfig{
		ConsumerGroup: "belfry", SchemaAdapter: schema, OffsetsAdapter: wsql.DefaultPostgreSQLOffsetsAdapter{},
		InitializeSchema: true, ResendInterval: 200 * time.Millisecond,
		BackoffManager: newIdleBackoff(50*time.Millisecond, 250*time.Millisecond, 2*time.Second, time.Second),
	}, wlog)
	if err != nil {
		return nil, fmt.Errorf("sideeffects: subscriber: %w", err)
	}
	pub, err := wsql.NewPublisher(wsql.BeginnerFromPgx(pool), wsql.PublisherConfig{SchemaAdapter: schema, AutoInitializeSchema: true}, wlog)
	if err != nil {
		return nil, fmt.Errorf("sideeffects: publisher: %w", err)
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlog)
	if err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueueWithFilter(pub, TopicPoison, poisonable)
	if err != nil {
		return nil, err
	}
	r.AddMiddleware(
		middleware.CorrelationID,
		poison,
		middleware.Retry{MaxRetries: cfg.MaxRetries, InitialInterval: cfg.RetryInterval, Multiplier: 2, MaxInterval: 5 * time.Second, Logger: wlog}.Middleware,
		middleware.Recoverer,
	)
	r.AddConsumerHandler(HandlerInvitation, TopicInvitations, sub, func(msg *message.Message) error {
		var inv Invitation
		if err := json.Unmarshal(msg.Payload, &inv); err != nil {
			return fmt.Errorf("sideeffects: bad invitation message %s: %w", msg.UUID, err)
		}
		return h.Mailer.DeliverInvitation(msg.Context(), inv)
	})
	r.AddConsumerHandler(HandlerOrder, TopicOrders, sub, func(msg *message.Message) error {
		var o PhoneNumberOrder
		if err := json.Unmarshal(msg.Payload, &o); err != nil {
			return fmt.Errorf("sideeffects: bad order message %s: %w", msg.UUID, err)
		}
		return h.Orders.ProcessPhoneNumberOrder(msg.Context(), o.OrderID)
	})
	lanes := newBotLanes(pool, h.BotEvents, pub, cfg)
	r.AddConsumerHandler(HandlerBotEvent, TopicBotEvents, sub, lanes.record)
	r.AddConsumerHandler(HandlerCallCDRs, TopicCallCDRs, sub, func(msg *message.Message) error {
		var ce CallEnded
		if err := json.Unmarshal(msg.Payload, &ce); err != nil {
			return fmt.Errorf("sideeffects: bad call message %s: %w", msg.UUID, err)
		}
		return h.CDRs.WriteCDRs(msg.Context(), ce.ConferenceID)
	})
	addOptional(r, sub, h)
	addRedrive(r, sub, pub, cfg)
	return &Router{r: r, ran: make(chan struct{}), lanes: lanes, lanesDone: make(chan struct{})}, nil
}

// addOptional adds the handlers of the services that may be absent (nil: their topic waits).
func addOptional(r *message.Router, sub message.Subscriber, h Handlers) {
	if h.WickrMailer != nil {
		r.AddConsumerHandler(HandlerWickrInvite, TopicWickrInvitations, sub, func(msg *message.Message) error {
			var inv WickrInvitation
			if err := json.Unmarshal(msg.Payload, &inv); err != nil {
				return fmt.Errorf("sideeffects: bad Wickr invitation message %s: %w", msg.UUID, err)
			}
			return h.WickrMailer.DeliverWickrInvitation(msg.Context(), inv)
		})
	}
	if h.WickrResets != nil {
		addWickrResets(r, sub, h.WickrResets)
	}
	if h.MeetingChat != nil {
		r.AddConsumerHandler(HandlerMeetingChat, TopicMeetingEnded, sub, func(msg *message.Message) error {
			var me MeetingEnded
			if err := json.Unmarshal(msg.Payload, &me); err != nil {
				return fmt.Errorf("sideeffects: bad meeting message %s: %w", msg.UUID, err)
			}
			return h.MeetingChat.DestroyChat(msg.Context(), me.MeetingID)
		})
	}
	if h.EventBridge != nil {
		r.AddConsumerHandler(HandlerEventBridge, TopicEventBridge, sub, func(msg *message.Message) error {
			var src eventbridge.SourceEvent
			if err := json.Unmarshal(msg.Payload, &src); err != nil {
				return fmt.Errorf("sideeffects: bad EventBridge message %s: %w", msg.UUID, err)
			}
			return h.EventBridge.Deliver(msg.Context(), src)
		})
	}
}

// addWickrResets adds the handlers of the Wickr password resets' side effects.
func addWickrResets(r *message.Router, sub message.Subscriber, h WickrPasswordResets) {
	r.AddConsumerHandler(HandlerWickrReset, TopicWickrResetMails, sub, func(msg *message.Message) error {
		var m WickrPasswordResetMail
		if err := json.Unmarshal(msg.Payload, &m); err != nil {
			return fmt.Errorf("sideeffects: bad Wickr password reset mail message %s: %w", msg.UUID, err)
		}
		return h.DeliverWickrPasswordReset(msg.Context(), m)
	})
	r.AddConsumerHandler(HandlerWickrRooms, TopicWickrPasswordResets, sub, func(msg *message.Message) error {
		var p WickrPasswordReset
		if err := json.Unmarshal(msg.Payload, &p); err != nil {
			return fmt.Errorf("sideeffects: bad Wickr password reset message %s: %w", msg.UUID, err)
		}
		return h.LeaveWickrRooms(msg.Context(), p)
	})
}

// Run runs the router until ctx ends or Close; after Close it returns at once.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.running = true
	lctx, stop := context.WithCancel(ctx)
	r.stopLanes = stop
	r.mu.Unlock()
	defer close(r.ran)
	go func() { defer close(r.lanesDone); r.lanes.run(lctx) }()
	defer stop()
	return r.r.Run(ctx)
}

// Running is closed once the router runs.
func (r *Router) Running() chan struct{} { return r.r.Running() }

// Close stops the router, waiting for running handlers. A router whose Run never started has no
// handler to wait for; one whose Run has started is closed once its handlers run (or Run failed):
// watermill's Close would otherwise hold the handlers' lock that a starting Run needs, and time out.
func (r *Router) Close() error {
	r.mu.Lock()
	r.closed = true
	running, stopLanes := r.running, r.stopLanes
	r.mu.Unlock()
	if !running {
		return nil
	}
	stopLanes()
	defer func() { <-r.lanesDone }()
	select {
	case <-r.r.Running():
		return r.r.Close()
	case <-r.ran: // Run failed before its handlers ran
		return nil
	}
}
