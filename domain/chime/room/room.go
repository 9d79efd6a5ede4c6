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
	MessageID  string    `json:"messageId"`
	SenderID   string    `json:"senderId"`
	SenderType string    `json:"senderType"`
	SenderName string    `json:"senderName"`
	Content    string    `json:"content"`
	At         time.Time `json:"at"`
}

// MessageRedacted records that an administrator removed a message's content (guide §4.9).
type MessageRedacted struct {
	MessageID string    `json:"messageId"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

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

func (c Create) account() string        { return c.AccountID }
func (c Rename) account() string        { return c.AccountID }
func (c Delete) account() string        { return c.AccountID }
func (c AddMember) account() string     { return c.AccountID }
func (c ChangeRole) account() string    { return c.AccountID }
func (c RemoveMember) account() string  { return c.AccountID }
func (c PostMessage) account() string   { return c.AccountID }
func (c RedactMessage) account() string { return c.AccountID }

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
		switch {
		case strings.TrimSpace(c.Content) == "":
			return nil, domain.Wrapf(ErrMessage, "Content is required")
		case len(c.Content) >= MaxMessageBytes:
			return nil, domain.Wrapf(ErrMessage, "Content is %d bytes; a message must be under %d", len(c.Content), MaxMessageBytes)
		case (strings.Contains(c.Content, "@All") || strings.Contains(c.Content, "@Present")) && len(s.Members) > MaxCalloutMembers:
			return nil, domain.Wrapf(ErrMessage, "@All and @Present work only in rooms of %d members or fewer; this room has %d", MaxCalloutMembers, len(s.Members))
		}
		name := m.FullName
		if name == "" {
			name = m.Email
		}
		return []Event{MessagePosted{MessageID: c.MessageID, SenderID: c.SenderID, SenderType: m.Type, SenderName: name, Content: c.Content, At: now.UTC()}}, nil
	case RedactMessage:
		redacted, ok := s.Redacted[c.MessageID]
		if !ok {
			return nil, domain.Wrapf(ErrNoMessage, "message %s is not in the room", c.MessageID)
		}
		if redacted {
			return nil, nil
		}
		return []Event{MessageRedacted{MessageID: c.MessageID, By: c.By, At: now.UTC()}}, nil
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown room command %T", c)
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
	case MessagePosted:
		if s.Redacted == nil {
			s.Redacted = map[string]bool{}
		}
		s.Redacted[e.MessageID] = false
	case MessageRedacted:
		if s.Redacted != nil {
			s.Redacted[e.MessageID] = true
		}
	}
	return s
}
