package conversation

import (
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Room moderation. A room has moderators: its creator first; a moderator makes another member one
// (Promote) and takes members out (Remove); only moderators add members. A guest is never a
// moderator (it is an outside party). A room never loses its last moderator while a user of a
// network is left in it: when the last moderator leaves — by itself, taken out by its password reset
// (§21.6) or by another moderator — the member that has been in the room longest becomes one
// (ModeratorAdded with reason lastModeratorLeft, in the same decision), so every room can still be
// managed. Rooms whose moderators all left before moderators were recorded keep none. Guests created
// rooms before then: such a room's first moderator is a user of its first members, never its
// creator (Created.FirstModerator).

// Reasons of ModeratorAdded and MemberLeft.
const (
	// PromotedLastLeft is the reason of a moderator chosen because the last one left.
	PromotedLastLeft = "lastModeratorLeft"
	// LeftRemoved is the reason of a member a moderator took out of a room.
	LeftRemoved = "removed"
)

// Promote makes Member, a user of a network among the room's members, a moderator; By must be one.
// Promoting a moderator again records nothing.
type Promote struct{ By, Member Participant }

// Remove takes Member out of a room; By must be a moderator, and not Member (a member leaves with
// Leave). Removing a participant that is not a member records nothing.
type Remove struct{ By, Member Participant }

func (Promote) isConversationCommand() {}
func (Remove) isConversationCommand()  {}

// FirstModerator is a room's first moderator: its creator, or, for a room a guest created (before
// guests were refused rooms), the user of its first members that would succeed a moderator leaving
// (they all joined together: the first by key). None for a direct message or a group.
func (e Created) FirstModerator() (Participant, bool) {
	if e.Kind != KindRoom {
		return Participant{}, false
	}
	if !e.CreatedBy.Guest() {
		return e.CreatedBy, true
	}
	var first Participant
	for _, m := range e.Members {
		if !m.Guest() && (first == Participant{} || m.Key() < first.Key()) {
			first = m
		}
	}
	return first, first != Participant{}
}

// Moderator reports whether p moderates the room.
func (s State) Moderator(p Participant) bool { return s.Moderators[p.Key()] }

func decidePromote(s State, c Promote, now time.Time) ([]Event, error) {
	switch {
	case s.Kind != KindRoom:
		return nil, domain.Wrapf(ErrNotRoom, "only rooms have moderators")
	case !s.Moderator(c.By):
		return nil, domain.Wrapf(ErrNotModerator, "only a moderator of the room names moderators")
	case !s.Member(c.Member):
		return nil, wickr.FieldErr(ErrNotInRoom, "Member", "not a member of the room")
	case c.Member.Guest():
		return nil, wickr.FieldErr(ErrGuestModerator, "Member", "a guest user cannot moderate a room")
	case s.Moderator(c.Member):
		return nil, nil
	}
	return []Event{ModeratorAdded{Member: *Ref(c.Member), By: Ref(c.By), At: now}}, nil
}

func decideRemove(s State, c Remove, now time.Time) ([]Event, error) {
	switch {
	case s.Kind != KindRoom:
		return nil, domain.Wrapf(ErrNotRoom, "only a room's moderators take members out; leave a group instead")
	case !s.Moderator(c.By):
		return nil, domain.Wrapf(ErrNotModerator, "only a moderator of the room takes members out")
	case c.By == c.Member:
		return nil, wickr.FieldErr(ErrRemoveSelf, "Member", "to leave the room, leave it")
	case !s.Member(c.Member):
		return nil, nil
	}
	return leaving(s, MemberLeft{Member: c.Member, Reason: LeftRemoved, By: Ref(c.By), At: now}), nil
}

// leaving is left (one member leaving) and, when it takes the room's last moderator, the member that
// becomes one.
func leaving(s State, left MemberLeft) []Event {
	evs := []Event{left}
	if next, ok := successor(s, left.Member); ok {
		evs = append(evs, ModeratorAdded{Member: *Ref(next), Reason: PromotedLastLeft, At: left.At})
	}
	return evs
}

// successor is the member that becomes a moderator when gone leaves: only when gone is the room's
// last moderator; the user of a network that joined first (then by key), if any is left.
func successor(s State, gone Participant) (Participant, bool) {
	if s.Kind != KindRoom || !s.Moderator(gone) || len(s.Moderators) > 1 {
		return Participant{}, false
	}
	var keys []string
	for k, m := range s.Members {
		if k != gone.Key() && !m.Guest() {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return Participant{}, false
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := s.Joined[a].Compare(s.Joined[b]); c != 0 {
			return c
		}
		if a < b {
			return -1
		}
		return 1
	})
	return s.Members[keys[0]], true
}
