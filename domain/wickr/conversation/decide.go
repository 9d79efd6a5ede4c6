package conversation

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Command is the sealed set of conversation commands.
type Command interface{ isConversationCommand() }

// Create starts a conversation: a direct message (ConversationID = DirectID of By and the one
// member), a group or a room (Title required). Creating an existing direct message again is a no-op.
type Create struct {
	ConversationID, Kind, Title string
	By                          Participant
	Members                     []Participant
	Policy                      Policy
}

// AddMembers adds members to a group (any member adds) or a room (its moderators add).
type AddMembers struct {
	By      Participant
	Members []Participant
	Policy  Policy
}

// Leave removes a member from a group or room.
type Leave struct{ Member Participant }

// RemoveAfterReset takes a user out of a room after its password reset (guide §21.6: a reset removes
// the user from every room, and it must be re-invited). Only a membership that began at or before
// ResetAt (the PasswordReset's time) ends, so that a late or repeated run of the reset's saga never
// undoes an invitation made since; a user that is no longer a member, or joined since, or a
// conversation that is not a room, records nothing, which makes the command idempotent.
type RemoveAfterReset struct {
	Member  Participant
	ResetAt time.Time
}

// Post posts a message sealed under its own key; Ttl and Bor are seconds (0: none). ForwardedFrom,
// when set, names the message it forwards (its content is what the sender sealed: the server never
// reads the source's); the sender's security group must let its users forward (CheckForward).
type Post struct {
	MessageID     string
	Sender        Participant
	KeyID         string
	Sealed        []byte
	TTL, BOR      int64
	Attachment    *Attachment
	ForwardedFrom *MessageRef
	Policy        Policy
}

// MarkRead records Reader's read of messages; SendReceipt is the reader's client's choice (§6).
type MarkRead struct {
	Reader      Participant
	MessageIDs  []string
	SendReceipt bool
	Policy      Policy
}

// Destroy records the destruction of the named messages whose deadline has passed, once their keys
// are destroyed; others are skipped.
type Destroy struct{ MessageIDs []string }

func (Create) isConversationCommand()           {}
func (AddMembers) isConversationCommand()       {}
func (Leave) isConversationCommand()            {}
func (RemoveAfterReset) isConversationCommand() {}
func (Post) isConversationCommand()             {}
func (MarkRead) isConversationCommand()         {}
func (Destroy) isConversationCommand()          {}

// Decide applies a command at now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	now = now.UTC()
	if c, ok := c.(Create); ok {
		return decideCreate(s, c, now)
	}
	if !s.Live() {
		return nil, domain.Wrapf(ErrNotFound, "conversation not found")
	}
	if by, ok := caller(c); ok && !s.Member(by) {
		return nil, domain.Wrapf(ErrNotMember, "conversation not found") // as if it did not exist
	}
	switch c := c.(type) {
	case AddMembers:
		return decideAdd(s, c, now)
	case Leave:
		if s.Kind == KindDirect {
			return nil, domain.Wrapf(ErrDirect, "a member cannot leave a direct message")
		}
		return leaving(s, MemberLeft{Member: c.Member, At: now}), nil
	case RemoveAfterReset:
		joined, ok := s.Joined[c.Member.Key()]
		if s.Kind != KindRoom || !ok || joined.After(c.ResetAt) {
			return nil, nil
		}
		return leaving(s, MemberLeft{Member: c.Member, Reason: LeftPasswordReset, At: now}), nil
	case Promote:
		return decidePromote(s, c, now)
	case Remove:
		return decideRemove(s, c, now)
	case Post:
		return decidePost(s, c, now)
	case MarkRead:
		return decideRead(s, c, now)
	case Destroy:
		return decideDestroy(s, c, now), nil
	}
	return nil, fmt.Errorf("conversation: unknown command %T", c)
}

// caller is the member that sends c, for the commands a member sends (not Create, RemoveAfterReset
// or Destroy): Decide answers one that is not a member as if the conversation did not exist.
func caller(c Command) (Participant, bool) {
	switch c := c.(type) {
	case AddMembers:
		return c.By, true
	case Leave:
		return c.Member, true
	case Promote:
		return c.By, true
	case Remove:
		return c.By, true
	case Post:
		return c.Sender, true
	case MarkRead:
		return c.Reader, true
	}
	return Participant{}, false
}

func decideCreate(s State, c Create, now time.Time) ([]Event, error) {
	members := dedupe(append([]Participant{c.By}, c.Members...))
	switch c.Kind {
	case KindDirect:
		if len(members) != 2 {
			return nil, wickr.FieldErr(ErrDirect, "Members", "a direct message has exactly one other member")
		}
		if c.ConversationID != DirectID(members[0], members[1]) {
			return nil, wickr.Invalid("ConversationId", "is not the direct message of the pair")
		}
		if s.Live() {
			return nil, nil // one direct message per pair
		}
		if members[0].Guest() && members[1].Guest() {
			return nil, wickr.FieldErr(ErrNotFederated, "Members", "guest users talk with users of a network, not among themselves")
		}
	case KindGroup, KindRoom:
		if c.Kind == KindRoom && c.By.Guest() {
			return nil, domain.Wrapf(ErrGuestModerator, "a guest user cannot create a room: its creator moderates it; create a group")
		}
		if err := checkTitle(c.Kind, c.Title); err != nil {
			return nil, err
		}
		if s.Live() {
			return nil, domain.Wrapf(ErrExists, "conversation %s exists", c.ConversationID)
		}
	default:
		return nil, wickr.Invalid("Kind", "must be %s, %s or %s", KindDirect, KindGroup, KindRoom)
	}
	if c.ConversationID == "" {
		return nil, wickr.Invalid("ConversationId", "is required")
	}
	if len(members) > MaxMembers {
		return nil, wickr.FieldErr(ErrTooMany, "Members", "at most %d members", MaxMembers)
	}
	if err := checkHoldsUser(members); err != nil {
		return nil, err
	}
	if !c.Policy.Known(c.By) {
		return nil, domain.Wrapf(ErrUnknown, "the creator is not an active user or a guest user")
	}
	if err := checkKnown(c.Policy, c.Members, func(m Participant) bool { return m == c.By }); err != nil {
		return nil, err
	}
	if err := checkPairs(c.Policy, nil, members); err != nil {
		return nil, err
	}
	return []Event{Created{ConversationID: c.ConversationID, Kind: c.Kind, Title: c.Title, CreatedBy: c.By, Members: members, At: now}}, nil
}

func checkTitle(kind, title string) error {
	switch {
	case kind == KindRoom && strings.TrimSpace(title) == "":
		return wickr.Invalid("Title", "is required for a room")
	case utf8.RuneCountInString(title) > MaxTitle:
		return wickr.Invalid("Title", "must be at most %d characters", MaxTitle)
	}
	return nil
}

// checkKnown checks that every member a request names (Members, in its order) is a live user or a
// guest, but those skip says join no more (the creator, a member already); a refusal names the
// member by its index in the request.
func checkKnown(p Policy, requested []Participant, skip func(Participant) bool) error {
	for i, m := range requested {
		if !skip(m) && !p.Known(m) {
			return wickr.FieldErr(ErrUnknown, fmt.Sprintf("Members[%d]", i), "is not an active user or a guest user")
		}
	}
	return nil
}

// checkPairs checks that every new participant (each known: checkKnown) reaches every existing one
// and every other new one.
func checkPairs(p Policy, existing, added []Participant) error {
	for i, a := range added {
		for _, b := range existing {
			if err := p.Reachable(a, b); err != nil {
				return err
			}
		}
		for _, b := range added[:i] {
			if err := p.Reachable(a, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHoldsUser refuses members that hold a guest but no user of a network: guests talk with users
// of a network, not among themselves (guide §15.1).
func checkHoldsUser(members []Participant) error {
	guests := 0
	for _, m := range members {
		if !m.Guest() {
			return nil
		}
		guests++
	}
	if guests > 0 {
		return wickr.FieldErr(ErrNotFederated, "Members", "guest users talk with users of a network, not among themselves")
	}
	return nil
}

func dedupe(ps []Participant) []Participant {
	seen := map[string]bool{}
	out := ps[:0:0]
	for _, p := range ps {
		if !seen[p.Key()] {
			seen[p.Key()] = true
			out = append(out, p)
		}
	}
	return out
}

func decideAdd(s State, c AddMembers, now time.Time) ([]Event, error) {
	switch {
	case s.Kind == KindDirect:
		return nil, domain.Wrapf(ErrDirect, "members cannot be added to a direct message")
	case s.Kind == KindRoom && !s.Moderator(c.By):
		return nil, domain.Wrapf(ErrNotModerator, "only the room's moderators add members")
	}
	var added []Participant
	for _, m := range dedupe(c.Members) {
		if !s.Member(m) {
			added = append(added, m)
		}
	}
	if len(added) == 0 {
		return nil, nil
	}
	if len(s.Members)+len(added) > MaxMembers {
		return nil, wickr.FieldErr(ErrTooMany, "Members", "a conversation has at most %d members", MaxMembers)
	}
	existing := make([]Participant, 0, len(s.Members))
	for _, m := range s.Members {
		existing = append(existing, m)
	}
	if err := checkHoldsUser(append(added, existing...)); err != nil {
		return nil, err
	}
	if err := checkKnown(c.Policy, c.Members, s.Member); err != nil {
		return nil, err
	}
	if err := checkPairs(c.Policy, existing, added); err != nil {
		return nil, err
	}
	return []Event{MembersAdded{Members: added, By: c.By, At: now}}, nil
}
