// Package room models a chat room of an Enterprise account: its memberships, messages, incoming
// webhooks and bots' reply URLs (API rooms and room memberships; guide §1.2.2, §4.9, §11.2–11.5).
//
// Invariants:
//   - The stream "chime.room-<id>" holds one room; the id of a room created with a client request
//     token is derived from (account, token), so a replayed CreateRoom finds the room it made.
//   - A room holds at most MaxMembers members, each once, with role Administrator or Member.
//   - Who may join is decided by the caller from the account (Candidate): a user of the account who
//     is not suspended, or an enabled bot of the account with an events configuration (a disabled
//     bot can be removed from rooms but not added).
//   - A deleted room accepts nothing more; its id is never reused.
//   - Messages (messages.go) are posted by members, through one of the room's webhooks (at most 10,
//     managed by room administrators) or through a reply URL issued to a bot member; a message is
//     under 4 KB, and @All/@Present work only in rooms of 50 members or fewer; a member's message may
//     carry one attachment of at most MaxAttachmentBytes, by reference to the blob store. A redacted message
//     stays, without its content; a message past the account's retention (older than the command's
//     HiddenBefore) is not found. A regenerated or deleted webhook URL, an expired short-lived reply
//     URL or the reply URL of a bot no longer in the room is "gone"; a URL that never was is "invalid".
package room

import (
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
	// Messages holds every message posted: when, and whether it was redacted.
	Messages map[string]Posted
	Webhooks map[string]*Webhook
	// BotReplies are the reply URLs issued to bots, by reply id.
	BotReplies map[string]BotReply
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

// ChangeRole changes a member's role; an empty Role (UpdateRoomMembership without one) keeps it.
type ChangeRole struct{ AccountID, MemberID, Role string }

// RemoveMember removes a member.
type RemoveMember struct{ AccountID, MemberID, By string }

func (c Create) account() string       { return c.AccountID }
func (c Rename) account() string       { return c.AccountID }
func (c Delete) account() string       { return c.AccountID }
func (c AddMember) account() string    { return c.AccountID }
func (c ChangeRole) account() string   { return c.AccountID }
func (c RemoveMember) account() string { return c.AccountID }

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
		if c.Role == "" {
			return nil, nil // the role is optional: nothing to change
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
	}
	return decideMessage(s, c, now)
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
	default:
		evolveMessage(&s, e)
	}
	return s
}
