package rooms

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ErrBotDisabled refuses a message that @mentions a disabled bot (guide §11.2: the user gets an error).
var ErrBotDisabled = &domain.Error{Kind: domain.KindInvalid, Msg: "the bot is disabled"}

// Messages runs the members' room use cases on the client API (messages, room webhooks) and takes
// the posts to incoming-webhook URLs. A member acts on the rooms of its own account only.
type Messages struct {
	d           Deps
	webhookRate webhookLimiter
}

// NewMessages returns the members' room use cases.
func NewMessages(d Deps) *Messages { return &Messages{d: d.withDefaults()} }

// webhookURL is the URL of an incoming webhook or of a bot's reply URL; only the token's hash is stored.
func (d Deps) webhookURL(id, token string) string {
	return d.PublicURL() + "/incomingwebhooks/" + id + "?token=" + url.QueryEscape(token)
}

// seal encrypts a message for the room under the account's data key of the day (architecture §7).
func (d Deps) seal(ctx context.Context, accountID, roomID, text string) (room.Content, error) {
	keyID, sealed, err := d.Keys.Seal(ctx, accountID, "room/"+roomID, d.Now(), []byte(text))
	if err != nil {
		return room.Content{}, err
	}
	return room.Content{Text: text, KeyID: keyID, Sealed: sealed}, nil
}

// refused answers the refusal the room would decide for cmd (its content not sealed yet), before
// anything is sealed: every seal stores a message key (and, the first of the day, a day key), so a
// post refused after sealing — a non-member's, a forged or stale webhook URL's, an oversized one —
// would leave keys behind, and a flood of them would fill the key tables. The repository's cached
// state answers; a refusal is confirmed on the stream's latest state (a member added by another
// process is not refused). The command decides again on the state it appends to.
func (d Deps) refused(ctx context.Context, roomID string, cmd room.Command) error {
	stream := room.StreamName(roomID)
	check := func(st room.State) error {
		_, err := room.Decide(st, cmd, d.Now())
		return err
	}
	err := d.Rooms.Repo.Inspect(ctx, stream, false, check)
	if err != nil && domain.KindOf(err) != 0 {
		err = d.Rooms.Repo.Inspect(ctx, stream, true, check)
	}
	return err
}

// PostRoomMessage posts a signed-in member's message to a room of the member's account; it answers
// with the posted event.
func (m *Messages) PostRoomMessage(ctx context.Context, u chimeaccounts.User, roomID, content string) (chimerooms.Message, error) {
	return m.PostRoomAttachment(ctx, u, roomID, uuid.NewString(), content, nil)
}

// AttachmentAccess checks that the user is a member of a room of the user's account and returns the
// account's retention cutoff for rooms (zero: nothing hidden): older attachments are hidden too.
func (m *Messages) AttachmentAccess(ctx context.Context, u chimeaccounts.User, roomID string) (time.Time, error) {
	if _, err := m.d.Store.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return time.Time{}, err
	}
	if _, err := m.d.Store.GetMembership(ctx, roomID, u.UserID); err != nil {
		if errors.Is(err, room.ErrMemberNotFound) {
			return time.Time{}, domain.Wrapf(room.ErrNotMember, "only members of the room may read its attachments")
		}
		return time.Time{}, err
	}
	return m.d.hideBefore(ctx, u.AccountID)
}

// PostRoomAttachment posts a member's message with the id messageID and an attachment (nil: none).
func (m *Messages) PostRoomAttachment(ctx context.Context, u chimeaccounts.User, roomID, messageID, content string, att *room.Attachment) (chimerooms.Message, error) {
	if _, err := m.d.Store.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return chimerooms.Message{}, err
	}
	cmd := room.PostMessage{AccountID: u.AccountID, MessageID: messageID, SenderID: u.UserID, Content: room.Content{Text: content}, Attachment: att}
	if err := m.d.refused(ctx, roomID, cmd); err != nil {
		return chimerooms.Message{}, err
	}
	// After the room's refusals: a non-member learns nothing of the room's bots.
	if err := m.checkMentionedBots(ctx, roomID, content); err != nil {
		return chimerooms.Message{}, err
	}
	sealed, err := m.d.seal(ctx, u.AccountID, roomID, content)
	if err != nil {
		return chimerooms.Message{}, err
	}
	cmd.Content = sealed
	c := m.d.Rooms.Command(room.StreamName(roomID), cmd)
	return usecase.Run(ctx, c, nil, func(d RoomDecided) (chimerooms.Message, error) {
		e := d.Events[0].(room.MessagePosted)
		return chimerooms.Message{RoomID: roomID, MessageID: e.MessageID, SenderID: e.SenderID, SenderType: e.SenderType, SenderName: e.SenderName,
			Content: content, KeyID: e.KeyID, CreatedAt: e.At}, nil
	})
}

// ListRoomMessages returns a room's newest messages to one of its members.
func (m *Messages) ListRoomMessages(ctx context.Context, u chimeaccounts.User, roomID string, limit int) ([]chimerooms.Message, error) {
	if _, err := m.d.Store.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return nil, err
	}
	if _, err := m.d.Store.GetMembership(ctx, roomID, u.UserID); err != nil {
		if errors.Is(err, room.ErrMemberNotFound) {
			return nil, domain.Wrapf(room.ErrNotMember, "only members of the room may read its messages")
		}
		return nil, err
	}
	since, err := m.d.hideBefore(ctx, u.AccountID)
	if err != nil {
		return nil, err
	}
	list, err := m.d.Store.ListMessages(ctx, roomID, since, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, msg := range list {
		if msg.Sealed != nil {
			ids = append(ids, msg.KeyID)
		}
	}
	if err := m.d.Keys.Warm(ctx, ids); err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Sealed == nil {
			continue // redacted
		}
		pt, err := m.d.Keys.Open(ctx, list[i].KeyID, list[i].Sealed)
		switch {
		case errors.Is(err, domain.ErrShredded):
			list[i].Redacted = true // its key was destroyed (retention, redaction): the content is gone
		case err != nil:
			return nil, err
		default:
			list[i].Content = string(pt)
		}
	}
	return list, nil
}

// checkMentionedBots refuses a message that @mentions a disabled bot of the room.
func (m *Messages) checkMentionedBots(ctx context.Context, roomID, content string) error {
	if !strings.Contains(content, "@") {
		return nil
	}
	members, err := m.d.Store.BotMembers(ctx, roomID)
	if err != nil {
		return err
	}
	lower := strings.ToLower(content)
	for _, mb := range members {
		if !strings.Contains(lower, "@"+strings.ToLower(mb.Email)) {
			continue
		}
		b, err := m.d.Directory.BotByID(ctx, mb.MemberID)
		if err != nil {
			return err
		}
		if b.Disabled {
			return domain.Wrapf(ErrBotDisabled, "%s is disabled and cannot be mentioned", b.DisplayName)
		}
	}
	return nil
}

// asMember runs a member's command on a room of the member's account.
func (m *Messages) asMember(ctx context.Context, u chimeaccounts.User, roomID string, cmd room.Command) error {
	c := m.d.Rooms.Command(room.StreamName(roomID), cmd).After(func(ctx context.Context) error {
		_, err := m.d.Store.GetRoom(ctx, u.AccountID, roomID)
		return err
	})
	return usecase.Exec(ctx, c)
}

// CreateRoomWebhook adds an incoming webhook to a room; the user must administer the room.
func (m *Messages) CreateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, name string) (room.WebhookURL, error) {
	id, token := uuid.NewString(), usecase.RandomToken()
	cmd := room.CreateWebhook{AccountID: u.AccountID, WebhookID: id, Name: name, TokenHash: usecase.HashToken(token), By: u.UserID}
	if err := m.asMember(ctx, u, roomID, cmd); err != nil {
		return room.WebhookURL{}, err
	}
	return room.WebhookURL{ID: id, Name: name, URL: m.d.webhookURL(id, token)}, nil
}

// RegenerateRoomWebhook gives a webhook a new URL; the old one answers 404 from then on.
func (m *Messages) RegenerateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) (room.WebhookURL, error) {
	token := usecase.RandomToken()
	cmd := room.RegenerateWebhook{AccountID: u.AccountID, WebhookID: webhookID, TokenHash: usecase.HashToken(token), By: u.UserID}
	if err := m.asMember(ctx, u, roomID, cmd); err != nil {
		return room.WebhookURL{}, err
	}
	return room.WebhookURL{ID: webhookID, URL: m.d.webhookURL(webhookID, token)}, nil
}

// DeleteRoomWebhook deletes a webhook; its URL answers 404 from then on.
func (m *Messages) DeleteRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) error {
	return m.asMember(ctx, u, roomID, room.DeleteWebhook{AccountID: u.AccountID, WebhookID: webhookID, By: u.UserID})
}

// PostWebhookMessage posts a message through a webhook URL (guide §11.4–11.5); it answers with the
// message's id.
func (m *Messages) PostWebhookMessage(ctx context.Context, webhookID, token, content string) (string, error) {
	roomID, accountID, err := m.d.Store.WebhookRoom(ctx, webhookID)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	cmd := room.PostWebhookMessage{AccountID: accountID, WebhookID: webhookID, TokenHash: usecase.HashToken(token), MessageID: id,
		Content: room.Content{Text: content}}
	if err := m.d.refused(ctx, roomID, cmd); err != nil {
		return "", err
	}
	if !m.webhookRate.ready(webhookID, time.Now()) {
		return "", room.ErrWebhookThrottled
	}
	if cmd.Content, err = m.d.seal(ctx, accountID, roomID, content); err != nil {
		return "", err
	}
	// The rate is spent only by a post the room accepts: a forged or stale URL gets its 403 or 404.
	c := m.d.Rooms.Decision(room.StreamName(roomID), func(st room.State, now time.Time) ([]room.Event, error) {
		evs, err := room.Decide(st, cmd, now)
		if err != nil {
			return nil, err
		}
		if !m.webhookRate.allow(webhookID, time.Now()) {
			return nil, room.ErrWebhookThrottled
		}
		return evs, nil
	})
	if err := usecase.Exec(ctx, c); err != nil {
		return "", err
	}
	return id, nil
}
