package messaging

import (
	"context"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// Moderation is a room's moderation by its moderators (conversation.Promote and Remove): naming
// moderators and taking members out. A room's creator is its first moderator, and a room keeps one
// while a user is left in it (the member in it longest takes over from the last to leave).
type Moderation struct{ s *Service }

// Moderate returns the slice's room moderation.
func Moderate(s *Service) Moderation { return Moderation{s} }

// Promote makes member, a user among the room's members, a moderator; the caller must be one.
func (m Moderation) Promote(ctx context.Context, me Caller, id string, member conversation.Participant) (View, error) {
	cmd := conversation.Promote{By: me.Participant(), Member: member}
	if err := usecase.Exec(ctx, m.s.d.Conversations.Command(conversation.StreamName(id), cmd)); err != nil {
		return View{}, err
	}
	return m.s.Get(ctx, me, id)
}

// Remove takes member out of the room; the caller must be a moderator (and leaves the room itself
// with Leave).
func (m Moderation) Remove(ctx context.Context, me Caller, id string, member conversation.Participant) (View, error) {
	cmd := conversation.Remove{By: me.Participant(), Member: member}
	if err := usecase.Exec(ctx, m.s.d.Conversations.Command(conversation.StreamName(id), cmd)); err != nil {
		return View{}, err
	}
	return m.s.Get(ctx, me, id)
}
