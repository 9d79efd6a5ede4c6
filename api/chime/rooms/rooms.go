// Package rooms is the slice of chat rooms: the admin API's room and room-membership operations and
// the redaction of messages (Service), the members' messages and room webhooks on the client API and
// the posts to incoming-webhook URLs (Messages), and the delivery of bot events with the bots' reply
// URLs (BotEvents). The three share one Deps; a member is a user or a bot of the room's account.
//
// Every mutation answers from the decided state when the rooms read model is late (usecase.Run):
// CreateRoom and UpdateRoom with the room as the command left it, Create/UpdateRoomMembership with the
// membership, a posted message with its event. Message content is sealed under the account's data
// key of the day before it is decided (architecture §7); the log never holds it in clear.
package rooms

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ErrRoomsNeedEnterprise refuses rooms in Team accounts (the API's rooms are an Enterprise feature).
var ErrRoomsNeedEnterprise = &domain.Error{Kind: domain.KindInvalid, Msg: "chat rooms are available in Enterprise accounts"}

// Rooms is the room aggregate's command path.
type Rooms = usecase.Aggregate[room.State, room.Command, room.Event]

// RoomDecided is what a room command decided.
type RoomDecided = usecase.Decided[room.State, room.Event]

// Store reads the rooms read model (chimerooms.Store implements it); callers check the account.
type Store interface {
	GetRoom(ctx context.Context, accountID, roomID string) (chimerooms.Room, error)
	ListRooms(ctx context.Context, accountID, memberID, token string, limit int) ([]chimerooms.Room, string, error)
	GetMembership(ctx context.Context, roomID, memberID string) (chimerooms.Membership, error)
	ListMemberships(ctx context.Context, roomID, token string, limit int) ([]chimerooms.Membership, string, error)
	ListMessages(ctx context.Context, roomID string, since time.Time, limit int) ([]chimerooms.Message, error)
	WebhookRoom(ctx context.Context, webhookID string) (roomID, accountID string, err error)
	BotMembers(ctx context.Context, roomID string) ([]chimerooms.Membership, error)
}

// Directory reads what the accounts read model says of an account, its users and its bots
// (chimeaccounts.Store implements it).
type Directory interface {
	Get(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error)
	GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error)
	GetBot(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error)
	BotByID(ctx context.Context, botID string) (chimeaccounts.Bot, error)
}

// Keys seals and opens message content under the account's data keys (infra/datakeys implements
// it); content whose key was destroyed opens as an error matching domain.ErrShredded. ShredMessage
// destroys one message's key for good (a key id it does not know: nothing); DestroyScope every key
// of a room.
type Keys interface {
	Seal(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (keyID string, sealed []byte, err error)
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
	Warm(ctx context.Context, keyIDs []string) error
	ShredMessage(ctx context.Context, keyID string) error
	DestroyScope(ctx context.Context, tenant, scope string) error
}

// Retention says which of an account's messages are hidden now (api/chime/retention implements
// it): those sent before the returned instant, when ok.
type Retention interface {
	HideBefore(ctx context.Context, accountID string, c retention.Class) (before time.Time, ok bool, err error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Rooms Rooms
	// Accounts answers the own-account check.
	Accounts  usecase.AccountPeeker
	Store     Store
	Directory Directory
	Keys      Keys
	// Retention hides what fell out of the account's retention (nil: nothing is hidden).
	Retention Retention
	// Logger reports work a mutation left to the retention purge (default slog.Default()).
	Logger *slog.Logger
	// Bots delivers bot events (BotEvents only).
	Bots BotTransport
	// PublicURL is the base of the URLs handed out (incoming webhooks, bot reply URLs), e.g.
	// http://127.0.0.1:8080 (the default).
	PublicURL func() string
	// Now is the clock of the data keys' day and of short-lived reply URLs (default time.Now).
	Now func() time.Time
	// Blobs deletes the files of attachments whose keys a redaction shredded (nil: the retention
	// purge's sweep does).
	Blobs BlobSweeper
}

// BlobSweeper deletes the stored files of one message's attachments whose keys are gone, and reports
// only the errors of those files (infra/blobstore).
type BlobSweeper interface {
	SweepMessage(ctx context.Context, messageID string) (int64, error)
}

func (d Deps) withDefaults() Deps {
	if d.PublicURL == nil {
		d.PublicURL = func() string { return "http://127.0.0.1:8080" }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return d
}

// hideBefore is the account's retention cutoff for rooms (zero: nothing hidden).
func (d Deps) hideBefore(ctx context.Context, accountID string) (time.Time, error) {
	if d.Retention == nil {
		return time.Time{}, nil
	}
	before, ok, err := d.Retention.HideBefore(ctx, accountID, retention.Rooms)
	if err != nil || !ok {
		return time.Time{}, err
	}
	return before, nil
}

// Service runs the admin API's room use cases.
type Service struct{ d Deps }

// New returns the admin room use cases.
func New(d Deps) *Service { return &Service{d: d.withDefaults()} }

// roomNamespace derives a room's id from (account, client request token), so a CreateRoom the SDK
// sends again after a 5xx finds the room the first attempt made.
var roomNamespace = uuid.MustParse("6f1d3c52-57a1-4e38-9b8e-2b1d6f7c0a11")

func roomID(accountID, token string) string {
	if token == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(roomNamespace, []byte(accountID+"/"+token)).String()
}

// roomFromState is the room as a command decided it.
func roomFromState(id string, st room.State) chimerooms.Room {
	return chimerooms.Room{RoomID: id, AccountID: st.AccountID, Name: st.Name, CreatedBy: st.CreatedBy, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}
}

// membershipFromState is a membership as a command decided it.
func membershipFromState(roomID string, m room.Member) chimerooms.Membership {
	return chimerooms.Membership{RoomID: roomID, MemberID: m.ID, MemberType: m.Type, Email: m.Email, FullName: m.FullName, Role: m.Role,
		InvitedBy: m.InvitedBy, UpdatedAt: m.UpdatedAt}
}

// enterpriseAccount checks that the account is the tenant's and an Enterprise account.
func (s *Service) enterpriseAccount(ctx context.Context, awsAccountID, accountID string) error {
	a, err := s.d.Directory.Get(ctx, awsAccountID, accountID)
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
	c := s.d.Rooms.Command(room.StreamName(id), room.Create{AccountID: accountID, Name: name, CreatedBy: createdBy, ClientRequestToken: clientRequestToken})
	return usecase.Run(ctx, c, func(ctx context.Context) (chimerooms.Room, error) {
		return s.d.Store.GetRoom(ctx, accountID, id)
	}, func(d RoomDecided) (chimerooms.Room, error) { return roomFromState(id, d.State), nil })
}

// GetRoom returns one room.
func (s *Service) GetRoom(ctx context.Context, awsAccountID, accountID, roomID string) (chimerooms.Room, error) {
	if err := usecase.OwnAccount(ctx, s.d.Accounts, awsAccountID, accountID); err != nil {
		return chimerooms.Room{}, err
	}
	return s.d.Store.GetRoom(ctx, accountID, roomID)
}

// ListRooms returns a page of an account's rooms, those of one member when memberID is set.
func (s *Service) ListRooms(ctx context.Context, awsAccountID, accountID, memberID, token string, limit int) ([]chimerooms.Room, string, error) {
	if err := usecase.OwnAccount(ctx, s.d.Accounts, awsAccountID, accountID); err != nil {
		return nil, "", err
	}
	return s.d.Store.ListRooms(ctx, accountID, memberID, token, limit)
}

// command prepares a command on a room of the caller's account: the account must be the caller's,
// and a room id that is not a UUID is NotFound.
func (s *Service) command(awsAccountID, accountID, roomID string, cmd room.Command) usecase.Command[room.State, room.Event] {
	return s.d.Rooms.Command(room.StreamName(roomID), cmd).After(s.ownRoom(awsAccountID, accountID, roomID))
}

// ownRoom is the check of command.
func (s *Service) ownRoom(awsAccountID, accountID, roomID string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := usecase.OwnAccount(ctx, s.d.Accounts, awsAccountID, accountID); err != nil {
			return err
		}
		if _, err := uuid.Parse(roomID); err != nil {
			return domain.Wrapf(room.ErrNotFound, "Room %s does not exist in account %s", roomID, accountID)
		}
		return nil
	}
}

// UpdateRoom renames a room.
func (s *Service) UpdateRoom(ctx context.Context, awsAccountID, accountID, roomID, name string) (chimerooms.Room, error) {
	c := s.command(awsAccountID, accountID, roomID, room.Rename{AccountID: accountID, Name: name})
	return usecase.Run(ctx, c, func(ctx context.Context) (chimerooms.Room, error) {
		return s.d.Store.GetRoom(ctx, accountID, roomID)
	}, func(d RoomDecided) (chimerooms.Room, error) { return roomFromState(roomID, d.State), nil })
}

// DeleteRoom deletes a room, its memberships and its messages (guide §4.8: permanently): every key
// of the room is destroyed. A destruction that fails is left to the retention purge, which destroys
// the keys of every deleted room.
func (s *Service) DeleteRoom(ctx context.Context, awsAccountID, accountID, roomID, by string) error {
	if err := usecase.Exec(ctx, s.command(awsAccountID, accountID, roomID, room.Delete{AccountID: accountID, By: by})); err != nil {
		return err
	}
	if err := s.d.Keys.DestroyScope(ctx, accountID, "room/"+roomID); err != nil {
		s.d.Logger.Warn("destroying a deleted room's keys failed; the retention purge will", "room", roomID, "err", err)
	}
	return nil
}

// candidate states what the account says of a prospective member: a user (by user id) or a bot
// (by bot id).
func (s *Service) candidate(ctx context.Context, awsAccountID, accountID, memberID string) (room.Candidate, error) {
	u, err := s.d.Directory.GetUser(ctx, awsAccountID, accountID, memberID)
	if err == nil {
		return room.Candidate{ID: memberID, Type: room.MemberUser, Email: u.Email, FullName: u.Username,
			Suspended: u.RegistrationStatus == account.RegistrationSuspended}, nil
	}
	if !errors.Is(err, chimeaccounts.ErrUserNotFound) {
		return room.Candidate{}, err
	}
	b, err := s.d.Directory.GetBot(ctx, awsAccountID, accountID, memberID)
	if errors.Is(err, chimeaccounts.ErrBotNotFound) {
		return room.Candidate{ID: memberID}, nil
	}
	if err != nil {
		return room.Candidate{}, err
	}
	hasTarget := b.HasEvents && (strings.TrimSpace(awsproto.Deref(b.HTTPSEndpoint)) != "" || strings.TrimSpace(awsproto.Deref(b.LambdaARN)) != "")
	return room.Candidate{ID: memberID, Type: room.MemberBot, Email: b.Email, FullName: b.DisplayName, Disabled: b.Disabled, HasEvents: hasTarget}, nil
}

// runMembership runs a membership command and answers with the membership: read back once the read
// model caught up, as decided when it is late.
func (s *Service) runMembership(ctx context.Context, c usecase.Command[room.State, room.Event], roomID, memberID string) (chimerooms.Membership, error) {
	read := func(ctx context.Context) (chimerooms.Membership, error) {
		return s.d.Store.GetMembership(ctx, roomID, memberID)
	}
	return usecase.Run(ctx, c, read, func(d RoomDecided) (chimerooms.Membership, error) {
		m, ok := d.State.Members[memberID]
		if !ok {
			return read(ctx)
		}
		return membershipFromState(roomID, m), nil
	})
}

// CreateRoomMembership adds a user or bot to a room.
func (s *Service) CreateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role, invitedBy string) (chimerooms.Membership, error) {
	c, err := s.candidate(ctx, awsAccountID, accountID, memberID)
	if err != nil {
		return chimerooms.Membership{}, err
	}
	cmd := s.command(awsAccountID, accountID, roomID, room.AddMember{AccountID: accountID, Member: c, Role: role, InvitedBy: invitedBy})
	return s.runMembership(ctx, cmd, roomID, memberID)
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
	return s.d.Store.ListMemberships(ctx, roomID, token, limit)
}

// UpdateRoomMembership changes a member's role.
func (s *Service) UpdateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role string) (chimerooms.Membership, error) {
	cmd := s.command(awsAccountID, accountID, roomID, room.ChangeRole{AccountID: accountID, MemberID: memberID, Role: role})
	return s.runMembership(ctx, cmd, roomID, memberID)
}

// DeleteRoomMembership removes a member (a bot receives a Remove event).
func (s *Service) DeleteRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, by string) error {
	return usecase.Exec(ctx, s.command(awsAccountID, accountID, roomID, room.RemoveMember{AccountID: accountID, MemberID: memberID, By: by}))
}

// RedactRoomMessage removes a message's content (guide §4.9: the message must belong to the
// administrator's account) and shreds the message's key and its attachment's (whose file is then
// deleted), so the ciphertext left in the log opens for no one; redacting it again changes nothing
// (and finishes a shredding a failure interrupted). A message past the account's retention is not
// found. A damaged key of the room (one that does not open) fails nothing: the key store shreds past
// it and logs it (Keys.ShredMessage), and the message's content opens for no one all the same. The
// error reports only this redaction's work: a key of the message that could not be shredded (the
// other is shredded all the same), or a file of its attachment that could not be removed — never
// another message's file (the retention purge's sweep retries and reports those).
func (s *Service) RedactRoomMessage(ctx context.Context, awsAccountID, accountID, roomID, messageID, by string) error {
	hidden, err := s.d.hideBefore(ctx, accountID)
	if err != nil {
		return err
	}
	cmd := room.RedactMessage{AccountID: accountID, MessageID: messageID, By: by, HiddenBefore: hidden}
	var posted room.Posted // read while the command path holds the room's state
	c := s.d.Rooms.Decision(room.StreamName(roomID), func(st room.State, now time.Time) ([]room.Event, error) {
		posted = st.Messages[messageID]
		return room.Decide(st, cmd, now)
	}).After(s.ownRoom(awsAccountID, accountID, roomID))
	if err := usecase.Exec(ctx, c); err != nil {
		return err
	}
	err = s.d.Keys.ShredMessage(ctx, posted.KeyID)
	if posted.AttachmentKey == "" {
		return err
	}
	errs := []error{err, s.d.Keys.ShredMessage(ctx, posted.AttachmentKey)}
	if s.d.Blobs != nil {
		_, serr := s.d.Blobs.SweepMessage(ctx, messageID)
		errs = append(errs, serr)
	}
	return errors.Join(errs...)
}
