package meetings

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ChatKeys open and destroy a meeting chat's key (infra/datakeys implements it).
type ChatKeys interface {
	Sealer
	OpenSealed(ctx context.Context, sealed domain.Sealed) ([]byte, error)
	DestroySubject(ctx context.Context, tenant, subject string) error
}

// ChatMessage is a meeting chat message as its attendees read it.
type ChatMessage struct {
	MessageId, UserId, Content string
	SentAt                     time.Time
}

// errNotInMeeting is what anyone outside a meeting's live roster, or anyone once it ended, gets: a
// meeting's chat exists for its attendees while it lasts.
func errNotInMeeting(id string) error {
	return domain.Wrapf(meeting.ErrNotFound, "you are not in meeting %s, or it is not in progress: its chat is for its attendees while it lasts", id)
}

// account returns the account of a meeting in progress (a value field of the loaded state: the
// roster's map is read only under the stream's lock, in a decision).
func (s *Service) account(ctx context.Context, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	m, _, err := s.d.Meetings.Repo.Load(ctx, meeting.StreamName(id))
	if err != nil {
		return "", err
	}
	if m.Status != meeting.StatusStarted {
		return "", errNotInMeeting(id)
	}
	return m.AccountID, nil
}

// PostChat sends text to the chat of a meeting u attends; the text is sealed under the meeting's
// chat key, destroyed when the meeting ends (DestroyChat).
func (s *Service) PostChat(ctx context.Context, u chimeaccounts.User, id, text string) (ChatMessage, error) {
	if err := meeting.CheckChatText(text); err != nil {
		return ChatMessage{}, err
	}
	accountID, err := s.account(ctx, id)
	if err != nil {
		return ChatMessage{}, err
	}
	sealed, err := s.d.Chat.SealFor(ctx, accountID, meeting.ChatSubject(id), []byte(text))
	if err != nil {
		return ChatMessage{}, err
	}
	mid := uuid.NewString()
	// The decision checks the roster under the stream's lock.
	d, err := s.d.Meetings.Repo.Execute(ctx, meeting.StreamName(id), meeting.PostChat{AccountID: accountID, UserID: u.UserID, MessageID: mid, Text: sealed})
	if errors.Is(err, meeting.ErrNotAttendee) || errors.Is(err, meeting.ErrNotOpen) {
		return ChatMessage{}, errNotInMeeting(id)
	}
	if err != nil {
		return ChatMessage{}, err
	}
	msg := ChatMessage{MessageId: mid, UserId: u.UserID, Content: text, SentAt: d.State.UpdatedAt}
	if s.d.Pusher != nil {
		s.d.Pusher.ChatPosted(id, msg)
	}
	return msg, nil
}

// ChatPusher pushes a meeting's new chat message to its attendees' live connections (api/chime/media
// implements it over the signalling sessions); it must not block.
type ChatPusher interface {
	ChatPosted(meetingID string, m ChatMessage)
}

// Chat lists the chat of a meeting u attends, oldest first.
func (s *Service) Chat(ctx context.Context, u chimeaccounts.User, id string) ([]ChatMessage, error) {
	if _, err := s.account(ctx, id); err != nil {
		return nil, err
	}
	// The roster is read in a decision (under the stream's lock) that appends nothing; the chat's
	// entries are never changed once appended, so the slice is safe to read afterwards.
	var chat []meeting.ChatMessage
	_, err := s.d.Meetings.Repo.ExecuteFunc(ctx, meeting.StreamName(id), func(m meeting.State, _ time.Time) ([]meeting.Event, error) {
		if m.Status != meeting.StatusStarted || !m.InRoster(u.UserID) {
			return nil, errNotInMeeting(id)
		}
		chat = m.Chat
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ChatMessage, 0, len(chat))
	for _, c := range chat {
		pt, err := s.d.Chat.OpenSealed(ctx, c.Text)
		if err != nil {
			return nil, err
		}
		out = append(out, ChatMessage{MessageId: c.MessageID, UserId: c.UserID, Content: string(pt), SentAt: c.At})
	}
	return out, nil
}

// DestroyChat destroys the key of an ended meeting's chat (the side effect of its end): the sealed
// texts in the log open no more. Idempotent.
func (s *Service) DestroyChat(ctx context.Context, meetingID string) error {
	m, err := s.d.Meetings.Repo.Peek(ctx, meeting.StreamName(meetingID))
	if err != nil {
		return err
	}
	if m.AccountID == "" {
		return nil // no such meeting: nothing was sealed
	}
	return s.d.Chat.DestroySubject(ctx, m.AccountID, meeting.ChatSubject(meetingID))
}

func (h handlers) postChat(c echo.Context, u chimeaccounts.User) error {
	var in struct{ Content string }
	if err := c.Bind(&in); err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Content"))
	}
	msg, err := h.svc.PostChat(c.Request().Context(), u, c.Param("id"), in.Content)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Message": msg})
}

func (h handlers) chat(c echo.Context, u chimeaccounts.User) error {
	list, err := h.svc.Chat(c.Request().Context(), u, c.Param("id"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Messages": list})
}
