package messaging

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// MaxList bounds a page of conversations or messages.
const MaxList = 100

// View is a conversation as the API answers it.
type View struct {
	wickrconversations.Conversation
	Members []conversation.Participant
	// Moderators are a room's moderators (none for a direct message or a group).
	Moderators []conversation.Participant
}

// Create starts a conversation of the caller with members: a direct message (the one per pair:
// starting it again answers the existing one), a group or a room.
func (s *Service) Create(ctx context.Context, me Caller, kind, title string, members []conversation.Participant) (View, error) {
	for i, m := range members {
		if err := s.checkGuest(ctx, i, m); err != nil {
			return View{}, err
		}
	}
	id := uuid.NewString()
	if kind == conversation.KindDirect && len(members) == 1 {
		id = conversation.DirectID(me.Participant(), members[0])
	}
	p, err := s.policy(ctx, append([]conversation.Participant{me.Participant()}, members...))
	if err != nil {
		return View{}, err
	}
	cmd := conversation.Create{ConversationID: id, Kind: kind, Title: title, By: me.Participant(), Members: members, Policy: p}
	if err := usecase.Exec(ctx, s.d.Conversations.Command(conversation.StreamName(id), cmd)); err != nil {
		return View{}, err
	}
	return s.Get(ctx, me, id)
}

func (s *Service) checkGuest(ctx context.Context, i int, m conversation.Participant) error {
	if !m.Guest() {
		return nil
	}
	ok, err := s.guestExists(ctx, m.GuestHash)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Wrapf(conversation.ErrUnknown, "Members[%d]: no guest user has this username", i)
	}
	return nil
}

// member checks that the caller belongs to the conversation: NotFound when it does not exist, and
// when the caller is not a member (conversation.ErrNotMember, in the words the read model answers a
// made-up id with: to a non-member the conversation does not exist).
func (s *Service) member(ctx context.Context, me Caller, id string) (wickrconversations.Conversation, error) {
	c, err := s.d.Store.Conversation(ctx, id)
	if err != nil {
		return c, err
	}
	ok, err := s.d.Store.IsMember(ctx, id, me.Participant().Key())
	if err == nil && !ok {
		err = domain.Wrapf(conversation.ErrNotMember, "conversation %s not found", id)
	}
	return c, err
}

// Get returns a conversation and its members to one of its members.
func (s *Service) Get(ctx context.Context, me Caller, id string) (View, error) {
	c, err := s.member(ctx, me, id)
	if err != nil {
		return View{}, err
	}
	ms, err := s.d.Store.Members(ctx, id)
	if err != nil {
		return View{}, err
	}
	v := View{Conversation: c, Members: make([]conversation.Participant, len(ms))}
	for i, m := range ms {
		v.Members[i] = m.Participant()
		if m.Moderator {
			v.Moderators = append(v.Moderators, m.Participant())
		}
	}
	return v, nil
}

// List returns the caller's conversations after the cursor (a conversation id; "" from the first).
func (s *Service) List(ctx context.Context, me Caller, after string, limit int) ([]wickrconversations.Conversation, string, error) {
	list, err := s.d.Store.ForMember(ctx, me.Participant().Key(), after, limit)
	if err != nil || len(list) < limit {
		return list, "", err
	}
	return list, list[len(list)-1].ID, nil
}

// AddMembers adds members to a group (any member) or a room (its moderators).
func (s *Service) AddMembers(ctx context.Context, me Caller, id string, members []conversation.Participant) (View, error) {
	for i, m := range members {
		if err := s.checkGuest(ctx, i, m); err != nil {
			return View{}, err
		}
	}
	existing, err := s.d.Store.Members(ctx, id)
	if err != nil {
		return View{}, err
	}
	all := append([]conversation.Participant{me.Participant()}, members...)
	for _, m := range existing {
		all = append(all, m.Participant())
	}
	p, err := s.policy(ctx, all)
	if err != nil {
		return View{}, err
	}
	cmd := conversation.AddMembers{By: me.Participant(), Members: members, Policy: p}
	if err := usecase.Exec(ctx, s.d.Conversations.Command(conversation.StreamName(id), cmd)); err != nil {
		return View{}, err
	}
	return s.Get(ctx, me, id)
}

// Leave takes the caller out of a group or room.
func (s *Service) Leave(ctx context.Context, me Caller, id string) error {
	return usecase.Exec(ctx, s.d.Conversations.Command(conversation.StreamName(id), conversation.Leave{Member: me.Participant()}))
}

// ParseKey turns a participant key (Participant.Key) back into the participant.
func ParseKey(key string) conversation.Participant {
	if h, ok := strings.CutPrefix(key, "g:"); ok {
		return conversation.Participant{GuestHash: h}
	}
	net, user, _ := strings.Cut(strings.TrimPrefix(key, "u:"), ":")
	return conversation.Participant{NetworkID: net, UserID: user}
}
