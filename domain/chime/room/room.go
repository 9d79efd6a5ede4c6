// Package room models a chat room of an Enterprise account and its memberships (API rooms and room
// memberships; guide §1.2.2 and §11.2).
//
// Invariants:
//   - The stream "chime.room-<id>" holds one room; the id of a room created with a client request
//     token is derived from (account, token), so a replayed CreateRoom finds the room it made.
//   - A room holds at most MaxMembers members, each once, with role Administrator or Member.
//   - Who may join is decided by the caller from the account (Candidate): a user of the account who
//     is not suspended, or an enabled bot of the account with an events configuration (a disabled
//     bot can be removed from rooms but not added).
//   - A deleted room accepts nothing more; its id is never reused.
package room

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names and limits.
const (
	StreamPrefix      = "chime.room-"
	TypeCreated       = "chime.room.created.v1"
	TypeRenamed       = "chime.room.renamed.v1"
	TypeDeleted       = "chime.room.deleted.v1"
	TypeMemberAdded   = "chime.room.member_added.v1"
	TypeMemberUpdated = "chime.room.member_role_changed.v1"
	TypeMemberRemoved = "chime.room.member_removed.v1"
	TypeMessagePosted = "chime.room.message_posted.v1"
	TypeRedacted      = "chime.room.message_redacted.v1"
	TypeWebhookAdded  = "chime.room.webhook_created.v1"
	TypeWebhookNewURL = "chime.room.webhook_regenerated.v1"
	TypeWebhookGone   = "chime.room.webhook_deleted.v1"
	TypeBotReplyURL   = "chime.room.bot_reply_url_issued.v1"
	// ShortLivedURL is how long the reply URL of a Mention event works (guide §11.3).
	ShortLivedURL = 2 * time.Minute
	// MaxWebhooks is how many webhooks a room holds (guide §11.4).
	MaxWebhooks = 10
	// MaxWebhookName bounds a webhook's name.
	MaxWebhookName = 64
	// MemberWebhook is the member type a webhook shows with in the room's member list.
	MemberWebhook = "Webhook"
	// MaxMessageBytes bounds a message: messages must be under 4 KB (guide §11.5).
	MaxMessageBytes = 4096
	// MaxCalloutMembers is the largest room where @All and @Present work (guide §11.5).
	MaxCalloutMembers = 50
	// MaxMembers is the guide's room size (§1.2.2).
	MaxMembers = 10_000
	// MaxBatch is BatchCreateRoomMembership's item limit.
	MaxBatch = 50
	// MaxName is the longest room name accepted.
	MaxName = 256
)

// Roles and member types (API enums RoomMembershipRole, MemberType).
const (
	RoleAdministrator = "Administrator"
	RoleMember        = "Member"
	MemberUser        = "User"
	MemberBot         = "Bot"
)

// Sentinels.
var (
	ErrNotFound       = &domain.Error{Kind: domain.KindNotFound, Msg: "room not found"}
	ErrInvalid        = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid room request"}
	ErrMemberNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "member not found"}
	ErrAlreadyMember  = &domain.Error{Kind: domain.KindConflict, Msg: "already a member"}
	ErrFull           = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the room is full"}
	ErrCannotJoin     = &domain.Error{Kind: domain.KindInvalid, Msg: "this member cannot join the room"}
	ErrNotMember      = &domain.Error{Kind: domain.KindForbidden, Msg: "only members of the room may post"}
	ErrMessage        = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid message"}
	ErrNoMessage      = &domain.Error{Kind: domain.KindNotFound, Msg: "message not found"}
	ErrTooLarge       = &domain.Error{Kind: domain.KindInvalid, Msg: "the message is too large"}
	ErrNotAdmin       = &domain.Error{Kind: domain.KindForbidden, Msg: "only room administrators may manage webhooks"}
	ErrWebhookLimit   = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the room has its 10 webhooks"}
	// ErrWebhookURL is a URL that never was a webhook's (403 on the wire); ErrWebhookGone one that was,
	// before the webhook was deleted or its URL regenerated (404).
	ErrWebhookURL  = &domain.Error{Kind: domain.KindForbidden, Msg: "the webhook URL is invalid"}
	ErrWebhookGone = &domain.Error{Kind: domain.KindNotFound, Msg: "the webhook URL was regenerated or deleted"}
)

// StreamName is the stream of one room.
func StreamName(id string) string { return StreamPrefix + id }

// Candidate is what the account says of a prospective member.
type Candidate struct {
	ID        string
	Type      string // User or Bot; "" when the account has no such user or bot
	Email     string
	FullName  string
	Suspended bool // users
	Disabled  bool // bots
	HasEvents bool // bots: an events configuration (HTTPS endpoint or Lambda) is set
}

func (c Candidate) check() error {
	switch {
	case c.Type == "":
		return domain.Wrapf(ErrMemberNotFound, "MemberId %s is not a user or bot of the account", c.ID)
	case c.Type == MemberUser && c.Suspended:
		return domain.Wrapf(ErrCannotJoin, "MemberId %s is suspended", c.ID)
	case c.Type == MemberBot && c.Disabled:
		return domain.Wrapf(ErrCannotJoin, "bot %s is disabled: it can be removed from rooms but not added", c.ID)
	case c.Type == MemberBot && !c.HasEvents:
		return domain.Wrapf(ErrCannotJoin, "bot %s has no events configuration (PutEventsConfiguration) and cannot be added to rooms", c.ID)
	}
	return nil
}

// ValidRole reports whether r is a role; "" means Member.
func ValidRole(r string) (string, error) {
	switch r {
	case "":
		return RoleMember, nil
	case RoleAdministrator, RoleMember:
		return r, nil
	}
	return "", domain.Wrapf(ErrInvalid, "Role must be Administrator or Member, not %q", r)
}

// MembershipItem is one item of a batch of new memberships.
type MembershipItem struct{ MemberID, Role string }

// Member is one membership.
type Member struct {
	ID, Type, Email, FullName, Role, InvitedBy string
	UpdatedAt                                  time.Time
}

// Event is the sealed set of room events.
type Event interface{ EventType() string }

// Created records a new room.
type Created struct {
	AccountID          string    `json:"accountId"`
	Name               string    `json:"name"`
	CreatedBy          string    `json:"createdBy"`
	ClientRequestToken string    `json:"clientRequestToken,omitempty"`
	At                 time.Time `json:"at"`
}

// Renamed records a new name.
type Renamed struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// Deleted records the room's deletion.
type Deleted struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// MemberAdded records a membership; the member's type, e-mail and name are as of joining.
type MemberAdded struct {
	MemberID   string    `json:"memberId"`
	MemberType string    `json:"memberType"`
	Email      string    `json:"email"`
	FullName   string    `json:"fullName,omitempty"`
	Role       string    `json:"role"`
	InvitedBy  string    `json:"invitedBy"`
	At         time.Time `json:"at"`
}

// MemberRoleChanged records a new role.
type MemberRoleChanged struct {
	MemberID string    `json:"memberId"`
	Role     string    `json:"role"`
	At       time.Time `json:"at"`
}

// MemberRemoved records the end of a membership.
type MemberRemoved struct {
	MemberID   string    `json:"memberId"`
	MemberType string    `json:"memberType"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// MessagePosted records a message; the sender's name is as of posting.
type MessagePosted struct {
	MessageID   string `json:"messageId"`
	SenderID    string `json:"senderId"`
	SenderType  string `json:"senderType"`
	SenderName  string `json:"senderName"`
	SenderEmail string `json:"senderEmail,omitempty"`
	Content     string `json:"content"`
	// MentionedBots are the bots of the room the message @mentions (by their e-mail address); each
	// gets a Mention event (guide §11.3).
	MentionedBots []string  `json:"mentionedBots,omitempty"`
	At            time.Time `json:"at"`
}

// BotReplyURLIssued records the hash of a URL a bot may post to the room with: persistent (sent with
// Invite) or short-lived (sent with Mention, valid until ExpiresAt).
type BotReplyURLIssued struct {
	ReplyID   string    `json:"replyId"`
	BotID     string    `json:"botId"`
	TokenHash string    `json:"tokenHash"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (BotReplyURLIssued) EventType() string { return TypeBotReplyURL }

// MessageRedacted records that an administrator removed a message's content (guide §4.9).
type MessageRedacted struct {
	MessageID string    `json:"messageId"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// WebhookCreated records a room webhook and the hash of its URL token.
type WebhookCreated struct {
	WebhookID string    `json:"webhookId"`
	Name      string    `json:"name"`
	TokenHash string    `json:"tokenHash"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// WebhookRegenerated records a new URL token; the old one stops working.
type WebhookRegenerated struct {
	WebhookID string    `json:"webhookId"`
	TokenHash string    `json:"tokenHash"`
	At        time.Time `json:"at"`
}

// WebhookDeleted records a webhook's deletion.
type WebhookDeleted struct {
	WebhookID string    `json:"webhookId"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (WebhookCreated) EventType() string { return TypeWebhookAdded }

// EventType implements Event.
func (WebhookRegenerated) EventType() string { return TypeWebhookNewURL }

// EventType implements Event.
func (WebhookDeleted) EventType() string { return TypeWebhookGone }

// EventType implements Event.
func (MessagePosted) EventType() string { return TypeMessagePosted }

// EventType implements Event.
func (MessageRedacted) EventType() string { return TypeRedacted }

// EventType implements Event.
func (Created) EventType() string { return TypeCreated }

// EventType implements Event.
func (Renamed) EventType() string { return TypeRenamed }

// EventType implements Event.
func (Deleted) EventType() string { return TypeDeleted }

// EventType implements Event.
func (MemberAdded) EventType() string { return TypeMemberAdded }

// EventType implements Event.
func (MemberRoleChanged) EventType() string { return TypeMemberUpdated }

// EventType implements Event.
func (MemberRemoved) EventType() string { return TypeMemberRemoved }

// State is one room. Evolve updates Members in place: the command path serializes every use of a
// stream's state (as for accounts), and readers use the read model.
type State struct {
	AccountID, Name, CreatedBy, ClientRequestToken string
	Exists, Deleted                                bool
	CreatedAt, UpdatedAt                           time.Time
	Members                                        map[string]Member
	// Redacted tells, for every message posted, whether it was redacted.
	Redacted map[string]bool
	Webhooks map[string]*Webhook
	// BotReplies are the reply URLs issued to bots, by reply id.
	BotReplies map[string]BotReply
}

// BotReply is a URL a bot may post to the room with; a zero ExpiresAt never expires.
type BotReply struct {
	BotID, TokenHash string
	ExpiresAt        time.Time
}

// ErrWebhookThrottled is a post past a webhook's rate of one message per second (guide §11.5: 429).
var ErrWebhookThrottled = errors.New("the webhook's rate limit of 1 message per second was exceeded")

// WebhookURL is an incoming webhook as its creator sees it; URL carries the token and is shown only
// when the webhook is created or its URL regenerated.
type WebhookURL struct{ ID, Name, URL string }

// Webhook is an incoming webhook of the room; OldTokens are the hashes of its regenerated URLs.
type Webhook struct {
	ID, Name, TokenHash string
	OldTokens           []string
	Deleted             bool
}

func (s State) liveWebhooks() int {
	n := 0
	for _, w := range s.Webhooks {
		if !w.Deleted {
			n++
		}
	}
	return n
}

// Initial is a room never created.
func Initial() State { return State{} }

// Command is the sealed set of room commands.
type Command interface{ account() string }

// Create creates the room (again, harmlessly, with the same client request token).
type Create struct{ AccountID, Name, CreatedBy, ClientRequestToken string }

// Rename renames the room.
type Rename struct{ AccountID, Name string }

// Delete deletes the room.
type Delete struct{ AccountID, By string }

// AddMember adds a member with a role ("" is Member).
type AddMember struct {
	AccountID string
	Member    Candidate
	Role      string
	InvitedBy string
}

// ChangeRole changes a member's role.
type ChangeRole struct{ AccountID, MemberID, Role string }

// RemoveMember removes a member.
type RemoveMember struct{ AccountID, MemberID, By string }

// PostMessage posts a member's message.
type PostMessage struct{ AccountID, MessageID, SenderID, Content string }

// RedactMessage removes a message's content.
type RedactMessage struct{ AccountID, MessageID, By string }

// CreateWebhook adds a webhook; By must be a room administrator.
type CreateWebhook struct{ AccountID, WebhookID, Name, TokenHash, By string }

// RegenerateWebhook gives a webhook a new URL token.
type RegenerateWebhook struct{ AccountID, WebhookID, TokenHash, By string }

// DeleteWebhook deletes a webhook.
type DeleteWebhook struct{ AccountID, WebhookID, By string }

// IssueBotReplyURL records a reply URL for a bot in the room (zero ExpiresAt: persistent).
type IssueBotReplyURL struct {
	AccountID, ReplyID, BotID, TokenHash string
	ExpiresAt                            time.Time
}

// PostWebhookMessage posts through a webhook URL (its token's hash); WebhookID may be a bot's id, for
// the reply URLs of its events.
type PostWebhookMessage struct{ AccountID, WebhookID, TokenHash, MessageID, Content string }

func (c Create) account() string             { return c.AccountID }
func (c Rename) account() string             { return c.AccountID }
func (c Delete) account() string             { return c.AccountID }
func (c AddMember) account() string          { return c.AccountID }
func (c ChangeRole) account() string         { return c.AccountID }
func (c RemoveMember) account() string       { return c.AccountID }
func (c PostMessage) account() string        { return c.AccountID }
func (c RedactMessage) account() string      { return c.AccountID }
func (c CreateWebhook) account() string      { return c.AccountID }
func (c RegenerateWebhook) account() string  { return c.AccountID }
func (c DeleteWebhook) account() string      { return c.AccountID }
func (c PostWebhookMessage) account() string { return c.AccountID }
func (c IssueBotReplyURL) account() string   { return c.AccountID }

func validName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || len(n) > MaxName {
		return "", domain.Wrapf(ErrInvalid, "Name must be 1 to %d characters", MaxName)
	}
	return n, nil
}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	if cr, ok := c.(Create); ok {
		name, err := validName(cr.Name)
		if err != nil {
			return nil, err
		}
		if s.Exists {
			if s.AccountID == cr.AccountID && cr.ClientRequestToken != "" && s.ClientRequestToken == cr.ClientRequestToken && !s.Deleted {
				return nil, nil // a replay of the same request
			}
			return nil, domain.Errorf(domain.KindConflict, "the room already exists")
		}
		return []Event{Created{AccountID: cr.AccountID, Name: name, CreatedBy: cr.CreatedBy, ClientRequestToken: cr.ClientRequestToken, At: now.UTC()}}, nil
	}
	if !s.Exists || s.Deleted || s.AccountID != c.account() {
		return nil, ErrNotFound
	}
	switch c := c.(type) {
	case Rename:
		name, err := validName(c.Name)
		if err != nil {
			return nil, err
		}
		return []Event{Renamed{Name: name, At: now.UTC()}}, nil
	case Delete:
		return []Event{Deleted{By: c.By, At: now.UTC()}}, nil
	case AddMember:
		role, err := ValidRole(c.Role)
		if err != nil {
			return nil, err
		}
		if _, ok := s.Members[c.Member.ID]; ok {
			return nil, domain.Wrapf(ErrAlreadyMember, "MemberId %s is already a member of the room", c.Member.ID)
		}
		if err := c.Member.check(); err != nil {
			return nil, err
		}
		if len(s.Members) >= MaxMembers {
			return nil, domain.Wrapf(ErrFull, "the room already has %d members", MaxMembers)
		}
		return []Event{MemberAdded{MemberID: c.Member.ID, MemberType: c.Member.Type, Email: c.Member.Email, FullName: c.Member.FullName,
			Role: role, InvitedBy: c.InvitedBy, At: now.UTC()}}, nil
	case ChangeRole:
		m, ok := s.Members[c.MemberID]
		if !ok {
			return nil, domain.Wrapf(ErrMemberNotFound, "MemberId %s is not a member of the room", c.MemberID)
		}
		role, err := ValidRole(c.Role)
		if err != nil {
			return nil, err
		}
		if role == m.Role {
			return nil, nil
		}
		return []Event{MemberRoleChanged{MemberID: c.MemberID, Role: role, At: now.UTC()}}, nil
	case RemoveMember:
		m, ok := s.Members[c.MemberID]
		if !ok {
			return nil, domain.Wrapf(ErrMemberNotFound, "MemberId %s is not a member of the room", c.MemberID)
		}
		return []Event{MemberRemoved{MemberID: c.MemberID, MemberType: m.Type, By: c.By, At: now.UTC()}}, nil
	case PostMessage:
		m, ok := s.Members[c.SenderID]
		if !ok {
			return nil, domain.Wrapf(ErrNotMember, "%s is not a member of the room", c.SenderID)
		}
		if err := s.checkContent(c.Content); err != nil {
			return nil, err
		}
		name := m.FullName
		if name == "" {
			name = m.Email
		}
		return []Event{MessagePosted{MessageID: c.MessageID, SenderID: c.SenderID, SenderType: m.Type, SenderName: name, SenderEmail: m.Email,
			Content: c.Content, MentionedBots: s.mentionedBots(c.Content), At: now.UTC()}}, nil
	case RedactMessage:
		redacted, ok := s.Redacted[c.MessageID]
		if !ok {
			return nil, domain.Wrapf(ErrNoMessage, "message %s is not in the room", c.MessageID)
		}
		if redacted {
			return nil, nil
		}
		return []Event{MessageRedacted{MessageID: c.MessageID, By: c.By, At: now.UTC()}}, nil
	case CreateWebhook:
		if err := s.admin(c.By); err != nil {
			return nil, err
		}
		name := strings.TrimSpace(c.Name)
		if name == "" || len(name) > MaxWebhookName {
			return nil, domain.Wrapf(ErrInvalid, "Name must be 1 to %d characters", MaxWebhookName)
		}
		if s.liveWebhooks() >= MaxWebhooks {
			return nil, domain.Wrapf(ErrWebhookLimit, "the room already has %d webhooks", MaxWebhooks)
		}
		return []Event{WebhookCreated{WebhookID: c.WebhookID, Name: name, TokenHash: c.TokenHash, By: c.By, At: now.UTC()}}, nil
	case RegenerateWebhook, DeleteWebhook:
		by, id := "", ""
		switch c := c.(type) {
		case RegenerateWebhook:
			by, id = c.By, c.WebhookID
		case DeleteWebhook:
			by, id = c.By, c.WebhookID
		}
		if err := s.admin(by); err != nil {
			return nil, err
		}
		if w, ok := s.Webhooks[id]; !ok || w.Deleted {
			return nil, domain.Wrapf(ErrNotFound, "webhook %s is not in the room", id)
		}
		if r, ok := c.(RegenerateWebhook); ok {
			return []Event{WebhookRegenerated{WebhookID: id, TokenHash: r.TokenHash, At: now.UTC()}}, nil
		}
		return []Event{WebhookDeleted{WebhookID: id, At: now.UTC()}}, nil
	case IssueBotReplyURL:
		if m, ok := s.Members[c.BotID]; !ok || m.Type != MemberBot {
			return nil, domain.Wrapf(ErrMemberNotFound, "bot %s is not in the room", c.BotID)
		}
		return []Event{BotReplyURLIssued{ReplyID: c.ReplyID, BotID: c.BotID, TokenHash: c.TokenHash, ExpiresAt: c.ExpiresAt, At: now.UTC()}}, nil
	case PostWebhookMessage:
		if r, isReply := s.BotReplies[c.WebhookID]; isReply {
			m, member := s.Members[r.BotID]
			switch {
			case r.TokenHash != c.TokenHash:
				return nil, domain.Wrapf(ErrWebhookURL, "the URL is invalid")
			case !member:
				return nil, domain.Wrapf(ErrWebhookGone, "the bot is no longer in the room")
			case !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt):
				return nil, domain.Wrapf(ErrWebhookGone, "the short-lived URL expired")
			}
			if err := s.checkContent(c.Content); err != nil {
				return nil, err
			}
			return []Event{MessagePosted{MessageID: c.MessageID, SenderID: m.ID, SenderType: MemberBot, SenderName: m.FullName, SenderEmail: m.Email,
				Content: c.Content, At: now.UTC()}}, nil
		}
		w, ok := s.Webhooks[c.WebhookID]
		switch {
		case !ok:
			return nil, domain.Wrapf(ErrWebhookURL, "the webhook URL is invalid")
		case w.Deleted && (w.TokenHash == c.TokenHash || slices.Contains(w.OldTokens, c.TokenHash)):
			return nil, domain.Wrapf(ErrWebhookGone, "the webhook was deleted")
		case w.Deleted || w.TokenHash != c.TokenHash && !slices.Contains(w.OldTokens, c.TokenHash):
			return nil, domain.Wrapf(ErrWebhookURL, "the webhook URL is invalid")
		case w.TokenHash != c.TokenHash:
			return nil, domain.Wrapf(ErrWebhookGone, "the webhook URL was regenerated")
		}
		if err := s.checkContent(c.Content); err != nil {
			return nil, err
		}
		return []Event{MessagePosted{MessageID: c.MessageID, SenderID: w.ID, SenderType: MemberWebhook, SenderName: w.Name + " (Webhook)", Content: c.Content, At: now.UTC()}}, nil
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown room command %T", c)
}

// checkContent applies the message rules of guide §11.4–11.5.
func (s State) checkContent(content string) error {
	switch {
	case strings.TrimSpace(content) == "":
		return domain.Wrapf(ErrMessage, "Content is required")
	case len(content) >= MaxMessageBytes:
		return domain.Wrapf(ErrTooLarge, "Content is %d bytes; a message must be under %d", len(content), MaxMessageBytes)
	case (strings.Contains(content, "@All") || strings.Contains(content, "@Present")) && len(s.Members) > MaxCalloutMembers:
		return domain.Wrapf(ErrMessage, "@All and @Present work only in rooms of %d members or fewer; this room has %d", MaxCalloutMembers, len(s.Members))
	}
	return nil
}

// mentionedBots lists, in id order, the bot members whose e-mail address the content @mentions.
func (s State) mentionedBots(content string) []string {
	var out []string
	for id, m := range s.Members {
		if m.Type == MemberBot && m.Email != "" && strings.Contains(strings.ToLower(content), "@"+strings.ToLower(m.Email)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// admin checks that a member is a room administrator.
func (s State) admin(memberID string) error {
	if m, ok := s.Members[memberID]; !ok || m.Role != RoleAdministrator {
		return domain.Wrapf(ErrNotAdmin, "%s is not an administrator of the room", memberID)
	}
	return nil
}

// Evolve applies an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Created:
		s = State{AccountID: e.AccountID, Name: e.Name, CreatedBy: e.CreatedBy, ClientRequestToken: e.ClientRequestToken,
			Exists: true, CreatedAt: e.At, UpdatedAt: e.At, Members: map[string]Member{}}
	case Renamed:
		s.Name, s.UpdatedAt = e.Name, e.At
	case Deleted:
		s.Deleted, s.UpdatedAt = true, e.At
	case MemberAdded:
		s.Members[e.MemberID] = Member{ID: e.MemberID, Type: e.MemberType, Email: e.Email, FullName: e.FullName, Role: e.Role, InvitedBy: e.InvitedBy, UpdatedAt: e.At}
	case MemberRoleChanged:
		m := s.Members[e.MemberID]
		m.Role, m.UpdatedAt = e.Role, e.At
		s.Members[e.MemberID] = m
	case MemberRemoved:
		delete(s.Members, e.MemberID)
		for k, r := range s.BotReplies {
			if r.BotID == e.MemberID {
				delete(s.BotReplies, k) // a removed bot's reply URLs stop working
			}
		}
	case MessagePosted:
		if s.Redacted == nil {
			s.Redacted = map[string]bool{}
		}
		s.Redacted[e.MessageID] = false
	case MessageRedacted:
		if s.Redacted != nil {
			s.Redacted[e.MessageID] = true
		}
	case WebhookCreated:
		if s.Webhooks == nil {
			s.Webhooks = map[string]*Webhook{}
		}
		s.Webhooks[e.WebhookID] = &Webhook{ID: e.WebhookID, Name: e.Name, TokenHash: e.TokenHash}
	case WebhookRegenerated:
		if w, ok := s.Webhooks[e.WebhookID]; ok {
			w.OldTokens, w.TokenHash = append(w.OldTokens, w.TokenHash), e.TokenHash
		}
	case WebhookDeleted:
		if w, ok := s.Webhooks[e.WebhookID]; ok {
			w.Deleted = true
		}
	case BotReplyURLIssued:
		if s.BotReplies == nil {
			s.BotReplies = map[string]BotReply{}
		}
		s.BotReplies[e.ReplyID] = BotReply{BotID: e.BotID, TokenHash: e.TokenHash, ExpiresAt: e.ExpiresAt}
	}
	return s
}
