// Package conversation models a Chime chat conversation between users, beside the rooms: a 1:1
// (Direct) conversation between two users or a Group conversation (guide §1.2, §4.7, §4.9).
//
// Invariants:
//   - The stream "chime.conversation-<id>" holds one conversation. A Direct conversation's id is
//     derived by the caller from its two members, so there is one per pair: creating it again finds
//     it (no event). A Group conversation's id is random.
//   - Members are users of any account of the installation (a conversation may span accounts,
//     guide §4.7.1) who are registered and not suspended when they join; each is a member once. A
//     Direct conversation has exactly its two members for ever; a Group holds 2 to MaxMembers, any
//     member may add users and each member may leave (not the last one).
//   - Only members post, and only to a conversation they are in; a message is 1 byte to under
//     MaxMessageBytes (4 KB, as the guide's chat messages) of text that is not only blanks.
//   - The sender may edit a message (the earlier text stays sealed in the log: Chime keeps every
//     message); nobody deletes one — guide §4.9: end users cannot delete what they sent, an
//     administrator of the sender's account redacts it (RedactMessage), which removes its content
//     for ever and is a no-op the second time; a redacted message can no longer be edited.
//   - A message may carry one attachment (at most MaxAttachmentBytes); its content key is one of
//     the message's KeyIDs, so a redaction shreds it with the text.
//   - Events carry message text only sealed under a data key (KeyID, Sealed; architecture §7), and
//     an attachment only by reference (its bytes encrypted in the blob store, its name sealed).
package conversation

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// Stable names and limits.
const (
	StreamPrefix      = "chime.conversation-"
	TypeCreated       = "chime.conversation.created.v1"
	TypeMemberAdded   = "chime.conversation.member_added.v1"
	TypeMemberLeft    = "chime.conversation.member_left.v1"
	TypeMessagePosted = "chime.conversation.message_posted.v1"
	TypeMessageEdited = "chime.conversation.message_edited.v1"
	TypeRedacted      = "chime.conversation.message_redacted.v1"
	// KindDirect is a 1:1 conversation; KindGroup a group conversation.
	KindDirect = "Direct"
	KindGroup  = "Group"
	// MaxMessageBytes bounds a message: under 4 KB, as the guide's chat messages (§11.5).
	MaxMessageBytes = 4096
	// MaxMembers bounds a group conversation (the guide gives no figure; larger groups are rooms,
	// up to 10,000 members).
	MaxMembers = 100
	// MaxName bounds a group conversation's optional name.
	MaxName = 256
)

// Sentinels.
var (
	ErrNotFound      = &domain.Error{Kind: domain.KindNotFound, Msg: "conversation not found"}
	ErrInvalid       = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid conversation request"}
	ErrMemberUnknown = &domain.Error{Kind: domain.KindNotFound, Msg: "no such user"}
	ErrCannotJoin    = &domain.Error{Kind: domain.KindInvalid, Msg: "this user cannot join a conversation"}
	ErrAlreadyMember = &domain.Error{Kind: domain.KindConflict, Msg: "already a member"}
	ErrFull          = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the conversation is full"}
	ErrDirectFixed   = &domain.Error{Kind: domain.KindUnprocessable, Msg: "a 1:1 conversation keeps its two members"}
	ErrMessage       = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid message"}
	ErrTooLarge      = &domain.Error{Kind: domain.KindInvalid, Msg: "the message is too large"}
	ErrNoMessage     = &domain.Error{Kind: domain.KindNotFound, Msg: "message not found"}
	ErrNotSender     = &domain.Error{Kind: domain.KindForbidden, Msg: "only the sender may edit a message"}
	ErrRedacted      = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the message was redacted"}
	// ErrNoDelete is an end user deleting a message: guide §4.9.
	ErrNoDelete = &domain.Error{Kind: domain.KindForbidden,
		Msg: "Amazon Chime keeps every chat message and does not let users delete what they sent; ask an administrator of your account to redact it (RedactConversationMessage)"}
	// ErrOtherAccount is a redaction of a message sent from another account (guide §4.9: the message
	// must belong to the administrator's account).
	ErrOtherAccount = &domain.Error{Kind: domain.KindNotFound, Msg: "the message does not belong to the account"}
)

// StreamName is the stream of one conversation.
func StreamName(id string) string { return StreamPrefix + id }

// Candidate is what the accounts say of a prospective member.
type Candidate struct {
	UserID, AccountID, Email, FullName string
	// Registered is false for a user who has not accepted an invitation (or is unknown: AccountID "").
	Registered, Suspended bool
}

func (c Candidate) check() error {
	switch {
	case c.AccountID == "":
		return domain.Wrapf(ErrMemberUnknown, "MemberIds: user %s does not exist", c.UserID)
	case c.Suspended:
		return domain.Wrapf(ErrCannotJoin, "MemberIds: user %s is suspended", c.UserID)
	case !c.Registered:
		return domain.Wrapf(ErrCannotJoin, "MemberIds: user %s has not registered", c.UserID)
	}
	return nil
}

// Member is one member as of joining.
type Member struct {
	UserID    string `json:"userId"`
	AccountID string `json:"accountId"`
	Email     string `json:"email"`
	FullName  string `json:"fullName,omitempty"`
}

func (c Candidate) member() Member {
	return Member{UserID: c.UserID, AccountID: c.AccountID, Email: c.Email, FullName: c.FullName}
}

// Name is how a member shows as a sender.
func (m Member) Name() string {
	if m.FullName != "" {
		return m.FullName
	}
	return m.Email
}

// Event is the sealed set of conversation events.
type Event interface{ EventType() string }

// Created records a new conversation and its first members (the creator first).
type Created struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name,omitempty"`
	CreatedBy string    `json:"createdBy"`
	Members   []Member  `json:"members"`
	At        time.Time `json:"at"`
}

// MemberAdded records a user added to a group by a member.
type MemberAdded struct {
	Member Member    `json:"member"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// MemberLeft records a member leaving a group.
type MemberLeft struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// MessagePosted records a message, sealed; the sender's name and account are as of posting.
type MessagePosted struct {
	MessageID       string `json:"messageId"`
	SenderID        string `json:"senderId"`
	SenderAccountID string `json:"senderAccountId"`
	SenderName      string `json:"senderName"`
	KeyID           string `json:"keyId"`
	Sealed          []byte `json:"sealed"`
	// Attachment is the file posted with the message, if any (its bytes are in the blob store).
	Attachment *Attachment `json:"attachment,omitempty"`
	At         time.Time   `json:"at"`
}

// Attachment names the file posted with a message (attachment.Ref).
type Attachment = attachment.Ref

// MaxAttachmentBytes bounds an attachment (attachment.MaxBytes: 50 MB).
const MaxAttachmentBytes = attachment.MaxBytes

// checkAttachment applies the attachment rules (nil: no attachment).
func checkAttachment(a *Attachment) error { return attachment.Check(a, ErrMessage, ErrTooLarge) }

// MessageEdited records the sender's new text, sealed.
type MessageEdited struct {
	MessageID string    `json:"messageId"`
	KeyID     string    `json:"keyId"`
	Sealed    []byte    `json:"sealed"`
	At        time.Time `json:"at"`
}

// MessageRedacted records that an administrator removed a message's content (guide §4.9).
type MessageRedacted struct {
	MessageID string    `json:"messageId"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (Created) EventType() string { return TypeCreated }

// EventType implements Event.
func (MemberAdded) EventType() string { return TypeMemberAdded }

// EventType implements Event.
func (MemberLeft) EventType() string { return TypeMemberLeft }

// EventType implements Event.
func (MessagePosted) EventType() string { return TypeMessagePosted }

// EventType implements Event.
func (MessageEdited) EventType() string { return TypeMessageEdited }

// EventType implements Event.
func (MessageRedacted) EventType() string { return TypeRedacted }

// Message is what the state keeps of a message: KeyIDs are the keys of every version of its text
// (posted, then each edit) and of its attachment, which a redaction shreds.
type Message struct {
	SenderID, SenderAccountID string
	Redacted                  bool
	KeyIDs                    []string
	// PostedAt is when the message was posted: its edits are sealed under that day's key, so that
	// retention, which measures a message from its posting, destroys every version of it at once.
	PostedAt time.Time
}

// State is one conversation. Evolve updates its maps in place: the command path serializes every
// use of a stream's state, and readers use the read model.
type State struct {
	Exists     bool
	Kind, Name string
	CreatedBy  string
	Members    map[string]Member
	Messages   map[string]Message
	CreatedAt  time.Time
}

// Initial is a conversation never created.
func Initial() State { return State{} }

// Command is the sealed set of conversation commands.
type Command interface{ isCommand() }

// Create creates the conversation: Creator and Others (deduplicated by the caller, without the
// creator). A Direct conversation has exactly one other member.
type Create struct {
	Kind, Name string
	Creator    Candidate
	Others     []Candidate
}

// AddMembers adds users to a group; By must be a member.
type AddMembers struct {
	By      string
	Members []Candidate
}

// Leave makes a member leave a group.
type Leave struct{ UserID string }

// PostMessage posts a member's message, with an attachment or without.
type PostMessage struct {
	MessageID, SenderID string
	Content             Content
	Attachment          *Attachment
}

// EditMessage replaces the text of the sender's own message.
type EditMessage struct {
	MessageID, By string
	Content       Content
}

// DeleteMessage is an end user deleting a message; it is always refused (guide §4.9).
type DeleteMessage struct{ MessageID, By string }

// RedactMessage is an administrator of AccountID removing a message's content.
type RedactMessage struct{ AccountID, MessageID, By string }

// Content is a message's text, for the rules, and the same text sealed under a data key, for the event.
type Content struct {
	Text   string
	KeyID  string
	Sealed []byte
}

func (Create) isCommand()        {}
func (AddMembers) isCommand()    {}
func (Leave) isCommand()         {}
func (PostMessage) isCommand()   {}
func (EditMessage) isCommand()   {}
func (DeleteMessage) isCommand() {}
func (RedactMessage) isCommand() {}

// CheckText applies the message rules: text, not only blanks, valid UTF-8 without NUL, under
// MaxMessageBytes. The error names the field Content.
func CheckText(text string) error {
	switch {
	case len(text) >= MaxMessageBytes:
		return domain.Wrapf(ErrTooLarge, "Content is %d bytes; a message must be under %d", len(text), MaxMessageBytes)
	case !utf8.ValidString(text):
		return domain.Wrapf(ErrMessage, "Content is not valid UTF-8")
	case strings.IndexByte(text, 0) >= 0:
		return domain.Wrapf(ErrMessage, "Content must not contain a NUL character")
	case strings.TrimSpace(text) == "":
		return domain.Wrapf(ErrMessage, "Content is required")
	}
	return nil
}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	if cr, ok := c.(Create); ok {
		return s.decideCreate(cr, now)
	}
	if !s.Exists {
		return nil, ErrNotFound
	}
	switch c := c.(type) {
	case AddMembers:
		return s.decideAdd(c, now)
	case Leave:
		if _, ok := s.Members[c.UserID]; !ok {
			return nil, domain.Wrapf(ErrNotFound, "you are not a member of the conversation")
		}
		if s.Kind == KindDirect {
			return nil, domain.Wrapf(ErrDirectFixed, "a 1:1 conversation cannot be left")
		}
		if len(s.Members) == 1 {
			return nil, domain.Wrapf(ErrInvalid, "the last member cannot leave the conversation")
		}
		return []Event{MemberLeft{UserID: c.UserID, At: now.UTC()}}, nil
	case PostMessage:
		m, ok := s.Members[c.SenderID]
		if !ok {
			return nil, domain.Wrapf(ErrNotFound, "you are not a member of the conversation")
		}
		if err := checkAttachment(c.Attachment); err != nil {
			return nil, err
		}
		if err := CheckText(c.Content.Text); err != nil {
			return nil, err
		}
		return []Event{MessagePosted{MessageID: c.MessageID, SenderID: m.UserID, SenderAccountID: m.AccountID, SenderName: m.Name(),
			KeyID: c.Content.KeyID, Sealed: c.Content.Sealed, Attachment: c.Attachment, At: now.UTC()}}, nil
	case EditMessage:
		return s.decideEdit(c, now)
	case DeleteMessage:
		if _, ok := s.Members[c.By]; !ok {
			return nil, domain.Wrapf(ErrNotFound, "you are not a member of the conversation")
		}
		return nil, ErrNoDelete
	case RedactMessage:
		m, ok := s.Messages[c.MessageID]
		switch {
		case !ok || m.SenderAccountID != c.AccountID:
			return nil, domain.Wrapf(ErrNoMessage, "message %s is not a message of account %s in the conversation", c.MessageID, c.AccountID)
		case m.Redacted:
			return nil, nil
		}
		return []Event{MessageRedacted{MessageID: c.MessageID, By: c.By, At: now.UTC()}}, nil
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown conversation command %T", c)
}

// decideCreate decides a new conversation (again, for a Direct one: nothing).
func (s State) decideCreate(c Create, now time.Time) ([]Event, error) {
	name := strings.TrimSpace(c.Name)
	switch {
	case c.Kind != KindDirect && c.Kind != KindGroup:
		return nil, domain.Wrapf(ErrInvalid, "Type must be Direct or Group, not %q", c.Kind)
	case c.Kind == KindDirect && len(c.Others) != 1:
		return nil, domain.Wrapf(ErrInvalid, "MemberIds: a 1:1 conversation has exactly one other member, not %d", len(c.Others))
	case c.Kind == KindDirect && name != "":
		return nil, domain.Wrapf(ErrInvalid, "Name: a 1:1 conversation has no name")
	case c.Kind == KindGroup && len(c.Others) < 1:
		return nil, domain.Wrapf(ErrInvalid, "MemberIds: a group conversation needs at least one other member")
	case len(c.Others)+1 > MaxMembers:
		return nil, domain.Wrapf(ErrFull, "MemberIds: a group conversation holds at most %d members", MaxMembers)
	case len(name) > MaxName:
		return nil, domain.Wrapf(ErrInvalid, "Name must be at most %d bytes", MaxName)
	}
	if s.Exists {
		if c.Kind == KindDirect && s.Kind == KindDirect {
			return nil, nil // the pair's conversation already exists
		}
		return nil, domain.Errorf(domain.KindConflict, "the conversation already exists")
	}
	members := []Member{c.Creator.member()}
	seen := map[string]bool{c.Creator.UserID: true}
	for _, o := range c.Others {
		if seen[o.UserID] {
			return nil, domain.Wrapf(ErrInvalid, "MemberIds: user %s is listed twice (or is you)", o.UserID)
		}
		if err := o.check(); err != nil {
			return nil, err
		}
		seen[o.UserID] = true
		members = append(members, o.member())
	}
	return []Event{Created{Kind: c.Kind, Name: name, CreatedBy: c.Creator.UserID, Members: members, At: now.UTC()}}, nil
}

// decideAdd decides new members of a group.
func (s State) decideAdd(c AddMembers, now time.Time) ([]Event, error) {
	if _, ok := s.Members[c.By]; !ok {
		return nil, domain.Wrapf(ErrNotFound, "you are not a member of the conversation")
	}
	if s.Kind == KindDirect {
		return nil, domain.Wrapf(ErrDirectFixed, "a 1:1 conversation keeps its two members; start a group conversation instead")
	}
	if len(c.Members) == 0 {
		return nil, domain.Wrapf(ErrInvalid, "MemberIds: at least one user is required")
	}
	if len(s.Members)+len(c.Members) > MaxMembers {
		return nil, domain.Wrapf(ErrFull, "MemberIds: the conversation has %d members and holds at most %d", len(s.Members), MaxMembers)
	}
	var out []Event
	seen := map[string]bool{}
	for _, m := range c.Members {
		if _, ok := s.Members[m.UserID]; ok || seen[m.UserID] {
			return nil, domain.Wrapf(ErrAlreadyMember, "MemberIds: user %s is already a member", m.UserID)
		}
		if err := m.check(); err != nil {
			return nil, err
		}
		seen[m.UserID] = true
		out = append(out, MemberAdded{Member: m.member(), By: c.By, At: now.UTC()})
	}
	return out, nil
}

// decideEdit decides the sender's edit of a live message.
func (s State) decideEdit(c EditMessage, now time.Time) ([]Event, error) {
	if _, ok := s.Members[c.By]; !ok {
		return nil, domain.Wrapf(ErrNotFound, "you are not a member of the conversation")
	}
	m, ok := s.Messages[c.MessageID]
	switch {
	case !ok:
		return nil, domain.Wrapf(ErrNoMessage, "message %s is not in the conversation", c.MessageID)
	case m.SenderID != c.By:
		return nil, domain.Wrapf(ErrNotSender, "only the sender may edit message %s", c.MessageID)
	case m.Redacted:
		return nil, domain.Wrapf(ErrRedacted, "message %s was redacted and cannot be edited", c.MessageID)
	}
	if err := CheckText(c.Content.Text); err != nil {
		return nil, err
	}
	return []Event{MessageEdited{MessageID: c.MessageID, KeyID: c.Content.KeyID, Sealed: c.Content.Sealed, At: now.UTC()}}, nil
}

// Evolve applies an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Created:
		s = State{Exists: true, Kind: e.Kind, Name: e.Name, CreatedBy: e.CreatedBy, CreatedAt: e.At,
			Members: map[string]Member{}, Messages: map[string]Message{}}
		for _, m := range e.Members {
			s.Members[m.UserID] = m
		}
	case MemberAdded:
		s.Members[e.Member.UserID] = e.Member
	case MemberLeft:
		delete(s.Members, e.UserID)
	case MessagePosted:
		keys := []string{e.KeyID}
		if e.Attachment != nil {
			keys = append(keys, e.Attachment.KeyID)
		}
		s.Messages[e.MessageID] = Message{SenderID: e.SenderID, SenderAccountID: e.SenderAccountID, KeyIDs: keys, PostedAt: e.At}
	case MessageEdited:
		m := s.Messages[e.MessageID]
		m.KeyIDs = append(m.KeyIDs[:len(m.KeyIDs):len(m.KeyIDs)], e.KeyID)
		s.Messages[e.MessageID] = m
	case MessageRedacted:
		m := s.Messages[e.MessageID]
		m.Redacted = true
		s.Messages[e.MessageID] = m
	}
	return s
}
