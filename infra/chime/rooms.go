package chime

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// RoomDecider is the room aggregate for the command path.
var RoomDecider = eventstore.Decider[room.State, room.Command, room.Event]{
	Initial: room.Initial, Evolve: room.Evolve, Decide: room.Decide, Decode: room.Decode,
	Type: func(e room.Event) string { return e.EventType() },
}

// ErrRoomsNeedEnterprise refuses rooms in Team accounts (the API's rooms are an Enterprise feature).
var ErrRoomsNeedEnterprise = &domain.Error{Kind: domain.KindInvalid, Msg: "chat rooms are available in Enterprise accounts"}

// roomNamespace derives a room's id from (account, client request token), so a CreateRoom the SDK
// sends again after a 5xx finds the room the first attempt made.
var roomNamespace = uuid.MustParse("6f1d3c52-57a1-4e38-9b8e-2b1d6f7c0a11")

func roomID(accountID, token string) string {
	if token == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(roomNamespace, []byte(accountID+"/"+token)).String()
}

// enterpriseAccount checks that the account is the tenant's and an Enterprise account.
func (s *Service) enterpriseAccount(ctx context.Context, awsAccountID, accountID string) error {
	a, err := s.GetAccount(ctx, awsAccountID, accountID)
	if err != nil {
		return err
	}
	if a.AccountType == account.TypeTeam {
		return domain.Wrapf(ErrRoomsNeedEnterprise, "account %s is a Team account: chat rooms are available in Enterprise accounts (claim a domain first)", accountID)
	}
	return nil
}

// CreateRoom creates a chat room; createdBy is the caller's identity.
func (s *Service) CreateRoom(ctx context.Context, awsAccountID, accountID, name, clientRequestToken, createdBy string) (chimerooms.Room, error) {
	if err := s.enterpriseAccount(ctx, awsAccountID, accountID); err != nil {
		return chimerooms.Room{}, err
	}
	id := roomID(accountID, clientRequestToken)
	res, err := s.rooms.Execute(ctx, room.StreamName(id), room.Create{AccountID: accountID, Name: name, CreatedBy: createdBy, ClientRequestToken: clientRequestToken})
	if err != nil {
		return chimerooms.Room{}, err
	}
	if !s.waitRM(ctx, s.roomsRM, res.Position) {
		st := res.State
		return chimerooms.Room{RoomID: id, AccountID: st.AccountID, Name: st.Name, CreatedBy: st.CreatedBy, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}, nil
	}
	return s.roomsRead.GetRoom(ctx, accountID, id)
}

// GetRoom returns one room.
func (s *Service) GetRoom(ctx context.Context, awsAccountID, accountID, roomID string) (chimerooms.Room, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimerooms.Room{}, err
	}
	return s.roomsRead.GetRoom(ctx, accountID, roomID)
}

// ListRooms returns a page of an account's rooms, those of one member when memberID is set.
func (s *Service) ListRooms(ctx context.Context, awsAccountID, accountID, memberID, token string, limit int) ([]chimerooms.Room, string, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return nil, "", err
	}
	return s.roomsRead.ListRooms(ctx, accountID, memberID, token, limit)
}

func (s *Service) execRoom(ctx context.Context, awsAccountID, accountID, roomID string, cmd room.Command) (uint64, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return 0, err
	}
	if _, err := uuid.Parse(roomID); err != nil {
		return 0, domain.Wrapf(room.ErrNotFound, "Room %s does not exist in account %s", roomID, accountID)
	}
	res, err := s.rooms.Execute(ctx, room.StreamName(roomID), cmd)
	if err != nil {
		return 0, err
	}
	s.waitRM(ctx, s.roomsRM, res.Position)
	return res.Position, nil
}

// UpdateRoom renames a room.
func (s *Service) UpdateRoom(ctx context.Context, awsAccountID, accountID, roomID, name string) (chimerooms.Room, error) {
	if _, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.Rename{AccountID: accountID, Name: name}); err != nil {
		return chimerooms.Room{}, err
	}
	return s.roomsRead.GetRoom(ctx, accountID, roomID)
}

// DeleteRoom deletes a room and its memberships.
func (s *Service) DeleteRoom(ctx context.Context, awsAccountID, accountID, roomID, by string) error {
	_, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.Delete{AccountID: accountID, By: by})
	return err
}

// candidate states what the account says of a prospective member: a user (by user id) or a bot
// (by bot id).
func (s *Service) candidate(ctx context.Context, awsAccountID, accountID, memberID string) (room.Candidate, error) {
	u, err := s.store.GetUser(ctx, awsAccountID, accountID, memberID)
	if err == nil {
		return room.Candidate{ID: memberID, Type: room.MemberUser, Email: u.Email, FullName: u.Username,
			Suspended: u.RegistrationStatus == account.RegistrationSuspended}, nil
	}
	if !errors.Is(err, chimeaccounts.ErrUserNotFound) {
		return room.Candidate{}, err
	}
	b, err := s.store.GetBot(ctx, awsAccountID, accountID, memberID)
	if errors.Is(err, chimeaccounts.ErrBotNotFound) {
		return room.Candidate{ID: memberID}, nil
	}
	if err != nil {
		return room.Candidate{}, err
	}
	hasTarget := b.HasEvents && (strings.TrimSpace(deref(b.HTTPSEndpoint)) != "" || strings.TrimSpace(deref(b.LambdaARN)) != "")
	return room.Candidate{ID: memberID, Type: room.MemberBot, Email: b.Email, FullName: b.DisplayName, Disabled: b.Disabled, HasEvents: hasTarget}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// CreateRoomMembership adds a user or bot to a room.
func (s *Service) CreateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role, invitedBy string) (chimerooms.Membership, error) {
	c, err := s.candidate(ctx, awsAccountID, accountID, memberID)
	if err != nil {
		return chimerooms.Membership{}, err
	}
	if _, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.AddMember{AccountID: accountID, Member: c, Role: role, InvitedBy: invitedBy}); err != nil {
		return chimerooms.Membership{}, err
	}
	return s.roomsRead.GetMembership(ctx, roomID, memberID)
}

// BatchCreateRoomMembership adds up to room.MaxBatch members; it returns one error per refused item
// (nil for the ones added).
func (s *Service) BatchCreateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID string, items []room.MembershipItem, invitedBy string) ([]error, error) {
	if len(items) > room.MaxBatch {
		return nil, domain.Wrapf(room.ErrInvalid, "MembershipItemList has %d items; at most %d are allowed", len(items), room.MaxBatch)
	}
	if _, err := s.GetRoom(ctx, awsAccountID, accountID, roomID); err != nil {
		return nil, err
	}
	out := make([]error, len(items))
	for i, it := range items {
		_, err := s.CreateRoomMembership(ctx, awsAccountID, accountID, roomID, it.MemberID, it.Role, invitedBy)
		if err != nil && domain.KindOf(err) == 0 {
			return nil, err
		}
		out[i] = err
	}
	return out, nil
}

// ListRoomMemberships returns a page of a room's memberships.
func (s *Service) ListRoomMemberships(ctx context.Context, awsAccountID, accountID, roomID, token string, limit int) ([]chimerooms.Membership, string, error) {
	if _, err := s.GetRoom(ctx, awsAccountID, accountID, roomID); err != nil {
		return nil, "", err
	}
	return s.roomsRead.ListMemberships(ctx, roomID, token, limit)
}

// UpdateRoomMembership changes a member's role.
func (s *Service) UpdateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role string) (chimerooms.Membership, error) {
	if _, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.ChangeRole{AccountID: accountID, MemberID: memberID, Role: role}); err != nil {
		return chimerooms.Membership{}, err
	}
	return s.roomsRead.GetMembership(ctx, roomID, memberID)
}

// DeleteRoomMembership removes a member (a bot receives a Remove event).
func (s *Service) DeleteRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, by string) error {
	_, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.RemoveMember{AccountID: accountID, MemberID: memberID, By: by})
	return err
}

// PostRoomMessage posts a signed-in member's message to a room of the member's account.
func (s *Service) PostRoomMessage(ctx context.Context, u chimeaccounts.User, roomID, content string) (chimerooms.Message, error) {
	if _, err := s.roomsRead.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return chimerooms.Message{}, err
	}
	if err := s.checkMentionedBots(ctx, roomID, content); err != nil {
		return chimerooms.Message{}, err
	}
	sealed, err := s.seal(ctx, u.AccountID, roomID, content)
	if err != nil {
		return chimerooms.Message{}, err
	}
	res, err := s.rooms.Execute(ctx, room.StreamName(roomID), room.PostMessage{AccountID: u.AccountID, MessageID: uuid.NewString(), SenderID: u.UserID, Content: sealed})
	if err != nil {
		return chimerooms.Message{}, err
	}
	s.waitRM(ctx, s.roomsRM, res.Position)
	e := res.Events[0].(room.MessagePosted)
	return chimerooms.Message{RoomID: roomID, MessageID: e.MessageID, SenderID: e.SenderID, SenderType: e.SenderType, SenderName: e.SenderName,
		Content: content, KeyID: e.KeyID, CreatedAt: e.At}, nil
}

// ListRoomMessages returns a room's newest messages to one of its members.
func (s *Service) ListRoomMessages(ctx context.Context, u chimeaccounts.User, roomID string, limit int) ([]chimerooms.Message, error) {
	if _, err := s.roomsRead.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return nil, err
	}
	if _, err := s.roomsRead.GetMembership(ctx, roomID, u.UserID); err != nil {
		if errors.Is(err, room.ErrMemberNotFound) {
			return nil, domain.Wrapf(room.ErrNotMember, "only members of the room may read its messages")
		}
		return nil, err
	}
	list, err := s.roomsRead.ListMessages(ctx, roomID, limit)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Sealed == nil {
			continue // redacted
		}
		pt, err := s.keys.Open(ctx, list[i].KeyID, list[i].Sealed)
		switch {
		case errors.Is(err, datakeys.ErrDestroyed):
			list[i].Redacted = true // its key fell out of retention: the content is gone
		case err != nil:
			return nil, err
		default:
			list[i].Content = string(pt)
		}
	}
	return list, nil
}

// seal encrypts a message for the room under the account's data key of the day (architecture §7).
func (s *Service) seal(ctx context.Context, accountID, roomID, text string) (room.Content, error) {
	keyID, sealed, err := s.keys.Seal(ctx, accountID, "room/"+roomID, s.now(), []byte(text))
	if err != nil {
		return room.Content{}, err
	}
	return room.Content{Text: text, KeyID: keyID, Sealed: sealed}, nil
}

// RedactRoomMessage removes a message's content (guide §4.9: the message must belong to the
// administrator's account); redacting it again changes nothing.
func (s *Service) RedactRoomMessage(ctx context.Context, awsAccountID, accountID, roomID, messageID, by string) error {
	_, err := s.execRoom(ctx, awsAccountID, accountID, roomID, room.RedactMessage{AccountID: accountID, MessageID: messageID, By: by})
	return err
}

// ErrBotDisabled refuses a message that @mentions a disabled bot (guide §11.2: the user gets an error).
var ErrBotDisabled = &domain.Error{Kind: domain.KindInvalid, Msg: "the bot is disabled"}

// checkMentionedBots refuses a message that @mentions a disabled bot of the room.
func (s *Service) checkMentionedBots(ctx context.Context, roomID, content string) error {
	if !strings.Contains(content, "@") {
		return nil
	}
	members, err := s.roomsRead.BotMembers(ctx, roomID)
	if err != nil {
		return err
	}
	lower := strings.ToLower(content)
	for _, m := range members {
		if !strings.Contains(lower, "@"+strings.ToLower(m.Email)) {
			continue
		}
		b, err := s.store.BotByID(ctx, m.MemberID)
		if err != nil {
			return err
		}
		if b.Disabled {
			return domain.Wrapf(ErrBotDisabled, "%s is disabled and cannot be mentioned", b.DisplayName)
		}
	}
	return nil
}
