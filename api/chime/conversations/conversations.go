// Package conversations is the slice of Chime's 1:1 and group conversations (domain/chime/
// conversation): the members' use cases on the client API (create, list, read a page of messages
// newest first, post, edit; deleting is refused per guide §4.9) and the admin API's
// RedactConversationMessage.
//
// A conversation is visible to its members only: to anyone else it does not exist (404). A 1:1
// conversation's id is derived from its two members (DirectID), so creating it again, from either
// side, answers the one that exists. Message text is sealed before it is decided, under the data key
// of the sender's account for the conversation and the UTC day (architecture §7); every mutation
// answers from the decided state when the read model is late (usecase.Run).
package conversations

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimeconversations"
)

// Conversations is the aggregate's command path.
type Conversations = usecase.Aggregate[conversation.State, conversation.Command, conversation.Event]

// Decided is what a conversation command decided.
type Decided = usecase.Decided[conversation.State, conversation.Event]

// Store reads the conversations read model (chimeconversations.Store implements it).
type Store interface {
	GetConversation(ctx context.Context, id, userID string) (chimeconversations.Conversation, error)
	ListConversations(ctx context.Context, userID, token string, limit int) ([]chimeconversations.Conversation, string, error)
	ListMessages(ctx context.Context, id, token string, limit int) ([]chimeconversations.Message, string, error)
}

// Users reads what the accounts read model says of a user of any account (chimeaccounts.Store
// implements it).
type Users interface {
	CredentialByUser(ctx context.Context, userID string) (chimeaccounts.Credential, error)
	GetUserAnyTenant(ctx context.Context, accountID, userID string) (chimeaccounts.User, error)
}

// Keys seals and opens message text (infra/datakeys implements it); text whose key was destroyed
// opens as an error matching domain.ErrShredded. ShredMessage destroys one message key for good (the
// ciphertext left in the log then opens for no one); shredding it again changes nothing.
type Keys interface {
	Seal(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (keyID string, sealed []byte, err error)
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
	ShredMessage(ctx context.Context, keyID string) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Conversations Conversations
	Store         Store
	Users         Users
	Keys          Keys
	// Accounts answers the own-account check of RedactConversationMessage.
	Accounts usecase.AccountPeeker
	// Now is the clock of the data keys' day (default time.Now).
	Now func() time.Time
	// Blobs deletes the files of attachments whose keys a redaction shredded (nil: the retention
	// purge's sweep does).
	Blobs BlobSweeper
	// Retention says what a conversation's retention hides (api/chime/retention.Service implements
	// it; nil: nothing is hidden before the purge destroys it).
	Retention Retention
}

// Retention is the instant before which the messages of a conversation between members of these
// accounts are hidden (ok false: none are).
type Retention interface {
	ConversationHideBefore(ctx context.Context, accounts []string) (time.Time, bool, error)
}

// HideBefore is the instant before which a conversation's messages are hidden now (zero: none).
func (s *Service) HideBefore(ctx context.Context, c chimeconversations.Conversation) (time.Time, error) {
	if s.d.Retention == nil {
		return time.Time{}, nil
	}
	accounts := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		accounts = append(accounts, m.AccountID)
	}
	before, ok, err := s.d.Retention.ConversationHideBefore(ctx, accounts)
	if !ok {
		return time.Time{}, err
	}
	return before, err
}

// BlobSweeper deletes the stored files of one message's attachments whose keys are gone, and reports
// only the errors of those files (infra/blobstore).
type BlobSweeper interface {
	SweepMessage(ctx context.Context, messageID string) (int64, error)
}

// Service runs the conversation use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Limits of the client API's lists.
const (
	MaxPage     = 100
	DefaultPage = 50
	// MaxMemberIDs bounds the ids one request names.
	MaxMemberIDs = conversation.MaxMembers
)

var directNamespace = uuid.MustParse("0b7c1e24-93d5-4a8f-b6e2-5c1d9f3a7e80")

// DirectID is the id of the 1:1 conversation of two users, the same from either side.
func DirectID(a, b string) string {
	pair := []string{a, b}
	slices.Sort(pair)
	return uuid.NewSHA1(directNamespace, []byte(pair[0]+"/"+pair[1])).String()
}

// candidate reads what the accounts say of a prospective member (unknown: AccountID "").
func (s *Service) candidate(ctx context.Context, userID string) (conversation.Candidate, error) {
	c := conversation.Candidate{UserID: userID}
	if _, err := uuid.Parse(userID); err != nil {
		return c, nil
	}
	cred, err := s.d.Users.CredentialByUser(ctx, userID)
	if domain.KindOf(err) == domain.KindForbidden || domain.KindOf(err) == domain.KindNotFound {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	u, err := s.d.Users.GetUserAnyTenant(ctx, cred.AccountID, userID)
	if domain.KindOf(err) == domain.KindNotFound {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	return conversation.Candidate{UserID: userID, AccountID: u.AccountID, Email: u.Email, FullName: u.Username,
		Registered: u.RegistrationStatus == account.RegistrationRegistered || u.RegistrationStatus == account.RegistrationSuspended,
		Suspended:  u.RegistrationStatus == account.RegistrationSuspended}, nil
}

// CreateConversation creates a conversation of the signed-in user with memberIDs; kind "" is
// Direct for one other member and Group otherwise. created is false when the pair's 1:1
// conversation existed.
func (s *Service) CreateConversation(ctx context.Context, u chimeaccounts.User, kind, name string, memberIDs []string) (c chimeconversations.Conversation, created bool, err error) {
	if len(memberIDs) == 0 || len(memberIDs) > MaxMemberIDs {
		return c, false, domain.Wrapf(conversation.ErrInvalid, "MemberIds must list 1 to %d users", MaxMemberIDs)
	}
	if kind == "" {
		kind = conversation.KindGroup
		if len(memberIDs) == 1 && strings.TrimSpace(name) == "" {
			kind = conversation.KindDirect
		}
	}
	self, err := s.candidate(ctx, u.UserID)
	if err != nil {
		return c, false, err
	}
	others := make([]conversation.Candidate, len(memberIDs))
	for i, id := range memberIDs {
		if others[i], err = s.candidate(ctx, id); err != nil {
			return c, false, err
		}
	}
	id := uuid.NewString()
	if kind == conversation.KindDirect {
		id = DirectID(u.UserID, memberIDs[0])
	}
	cmd := s.d.Conversations.Command(conversation.StreamName(id), conversation.Create{Kind: kind, Name: name, Creator: self, Others: others})
	d, fresh, err := cmd.Do(ctx)
	if err != nil {
		return c, false, err
	}
	if fresh {
		if c, err = s.d.Store.GetConversation(ctx, id, u.UserID); err == nil {
			return c, len(d.Events) > 0, nil
		}
	}
	return fromState(id, d.State), len(d.Events) > 0, nil
}

// fromState is a conversation as a command left it (LastSeq unknown: 0).
func fromState(id string, st conversation.State) chimeconversations.Conversation {
	c := chimeconversations.Conversation{ConversationID: id, Kind: st.Kind, Name: st.Name, CreatedBy: st.CreatedBy, CreatedAt: st.CreatedAt}
	for _, m := range st.Members {
		c.Members = append(c.Members, chimeconversations.Member{UserID: m.UserID, AccountID: m.AccountID, Email: m.Email, FullName: m.FullName})
	}
	slices.SortFunc(c.Members, func(a, b chimeconversations.Member) int { return strings.Compare(a.UserID, b.UserID) })
	return c
}

// GetConversation returns one of the user's conversations.
func (s *Service) GetConversation(ctx context.Context, u chimeaccounts.User, id string) (chimeconversations.Conversation, error) {
	return s.d.Store.GetConversation(ctx, id, u.UserID)
}

// ListConversations returns a page of the user's conversations, the latest active first.
func (s *Service) ListConversations(ctx context.Context, u chimeaccounts.User, token string, limit int) ([]chimeconversations.Conversation, string, error) {
	return s.d.Store.ListConversations(ctx, u.UserID, token, limit)
}

// AddMembers adds users to one of the user's group conversations.
func (s *Service) AddMembers(ctx context.Context, u chimeaccounts.User, id string, memberIDs []string) error {
	if len(memberIDs) == 0 || len(memberIDs) > MaxMemberIDs {
		return domain.Wrapf(conversation.ErrInvalid, "MemberIds must list 1 to %d users", MaxMemberIDs)
	}
	cands := make([]conversation.Candidate, len(memberIDs))
	for i, mid := range memberIDs {
		var err error
		if cands[i], err = s.candidate(ctx, mid); err != nil {
			return err
		}
	}
	return s.exec(ctx, id, conversation.AddMembers{By: u.UserID, Members: cands})
}

// Leave makes the user leave a group conversation; only the user may take themself out.
func (s *Service) Leave(ctx context.Context, u chimeaccounts.User, id, memberID string) error {
	if memberID != u.UserID {
		return domain.Errorf(domain.KindForbidden, "you may remove only yourself (%s) from a conversation", u.UserID)
	}
	return s.exec(ctx, id, conversation.Leave{UserID: u.UserID})
}

// exec runs a command on an existing conversation (a stream never created is NotFound, as to a non-member).
func (s *Service) exec(ctx context.Context, id string, cmd conversation.Command) error {
	if _, err := uuid.Parse(id); err != nil {
		return domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist or you are not a member", id)
	}
	return usecase.Exec(ctx, s.d.Conversations.Command(conversation.StreamName(id), cmd))
}

// RedactConversationMessage removes a message's content for an administrator of the sender's
// account (guide §4.9) and shreds the keys of every version of its text and of its attachment, whose
// file is then deleted, so the ciphertext left in the log opens for no one; again is a no-op (and
// finishes a shredding a failure interrupted). A damaged key of the conversation (one that does not
// open) fails nothing: the key store shreds past it and logs it (Keys.ShredMessage), and the
// message's content opens for no one all the same. The error reports only this redaction's work: a
// key of the message that could not be shredded (the others are shredded all the same), or a file of
// its attachment that could not be removed — never another message's file (the retention purge's
// sweep retries and reports those).
func (s *Service) RedactConversationMessage(ctx context.Context, awsAccountID, accountID, id, messageID, by string) error {
	if _, err := uuid.Parse(id); err != nil {
		return domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist", id)
	}
	cmd := conversation.RedactMessage{AccountID: accountID, MessageID: messageID, By: by}
	var keyIDs []string // read while the command path holds the conversation's state
	c := s.d.Conversations.Decision(conversation.StreamName(id), func(st conversation.State, now time.Time) ([]conversation.Event, error) {
		keyIDs = st.Messages[messageID].KeyIDs
		return conversation.Decide(st, cmd, now)
	}).After(usecase.Owner(s.d.Accounts, awsAccountID, accountID))
	err := usecase.Exec(ctx, c)
	if errors.Is(err, conversation.ErrNotFound) {
		return domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist", id)
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keyIDs { // every version of the text, the edits' included, and the attachment
		errs = append(errs, s.d.Keys.ShredMessage(ctx, k))
	}
	if s.d.Blobs != nil && len(keyIDs) > 1 {
		_, err = s.d.Blobs.SweepMessage(ctx, messageID)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
