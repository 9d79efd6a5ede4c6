package room

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// MessagePosted records a message; the sender's name is as of posting.
type MessagePosted struct {
	MessageID   string `json:"messageId"`
	SenderID    string `json:"senderId"`
	SenderType  string `json:"senderType"`
	SenderName  string `json:"senderName"`
	SenderEmail string `json:"senderEmail,omitempty"`
	// KeyID and Sealed are the content encrypted under a data key (architecture §7): events never
	// hold message text.
	KeyID  string `json:"keyId"`
	Sealed []byte `json:"sealed"`
	// MentionedBots are the bots of the room the message @mentions (by their e-mail address); each
	// gets a Mention event (guide §11.3).
	MentionedBots []string `json:"mentionedBots,omitempty"`
	// Attachment is the file a member posted with the message, if any (its bytes are in the blob
	// store).
	Attachment *Attachment `json:"attachment,omitempty"`
	At         time.Time   `json:"at"`
}

// Attachment names the file posted with a message (attachment.Ref).
type Attachment = attachment.Ref

// MaxAttachmentBytes bounds an attachment (attachment.MaxBytes: 50 MB).
const MaxAttachmentBytes = attachment.MaxBytes

// checkAttachment applies the attachment rules (nil: no attachment).
func checkAttachment(a *Attachment) error { return attachment.Check(a, ErrInvalid, ErrInvalid) }

// BotReplyURLIssued records the hash of a URL a bot may post to the room with: persistent (sent with
// Invite) or short-lived (sent with Mention, valid until ExpiresAt).
type BotReplyURLIssued struct {
	ReplyID   string    `json:"replyId"`
	BotID     string    `json:"botId"`
	TokenHash string    `json:"tokenHash"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (BotReplyURLIssued) EventType() string { return TypeBotReplyURL }

// MessageRedacted records that an administrator removed a message's content (guide §4.9).
type MessageRedacted struct {
	MessageID string    `json:"messageId"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// WebhookCreated records a room webhook and the hash of its URL token.
type WebhookCreated struct {
	WebhookID string    `json:"webhookId"`
	Name      string    `json:"name"`
	TokenHash string    `json:"tokenHash"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// WebhookRegenerated records a new URL token; the old one stops working.
type WebhookRegenerated struct {
	WebhookID string    `json:"webhookId"`
	TokenHash string    `json:"tokenHash"`
	At        time.Time `json:"at"`
}

// WebhookDeleted records a webhook's deletion.
type WebhookDeleted struct {
	WebhookID string    `json:"webhookId"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (WebhookCreated) EventType() string { return TypeWebhookAdded }

// EventType implements Event.
func (WebhookRegenerated) EventType() string { return TypeWebhookNewURL }

// EventType implements Event.
func (WebhookDeleted) EventType() string { return TypeWebhookGone }

// EventType implements Event.
func (MessagePosted) EventType() string { return TypeMessagePosted }

// EventType implements Event.
func (MessageRedacted) EventType() string { return TypeRedacted }

// BotReply is a URL a bot may post to the room with; a zero ExpiresAt never expires.
type BotReply struct {
	BotID, TokenHash string
	ExpiresAt        time.Time
}

// ErrWebhookThrottled is a post past a webhook's rate of one message per second (guide §11.5: 429).
var ErrWebhookThrottled = errors.New("the webhook's rate limit of 1 message per second was exceeded")

// WebhookURL is an incoming webhook as its creator sees it; URL carries the token and is shown only
// when the webhook is created or its URL regenerated.
type WebhookURL struct{ ID, Name, URL string }

// Webhook is an incoming webhook of the room; OldTokens are the hashes of its regenerated URLs.
type Webhook struct {
	ID, Name, TokenHash string
	OldTokens           []string
	Deleted             bool
}

func (s State) liveWebhooks() int {
	n := 0
	for _, w := range s.Webhooks {
		if !w.Deleted {
			n++
		}
	}
	return n
}

// PostMessage posts a member's message, with an attachment or without.
type PostMessage struct {
	AccountID, MessageID, SenderID string
	Content                        Content
	Attachment                     *Attachment
}

// Content is a message's text, for the rules, and the same text sealed under a data key, for the event.
type Content struct {
	Text   string
	KeyID  string
	Sealed []byte
}

// RedactMessage removes a message's content. HiddenBefore is the account's retention cutoff for
// rooms (zero: no retention): an older message is hidden from every API, so it is not found.
type RedactMessage struct {
	AccountID, MessageID, By string
	HiddenBefore             time.Time
}

// Posted is what the room keeps of a message: when, the key its content is sealed under and its
// attachment's key (both shredded when it is redacted), whether it was redacted.
type Posted struct {
	At                   time.Time
	KeyID, AttachmentKey string
	Redacted             bool
}

// CreateWebhook adds a webhook; By must be a room administrator.
type CreateWebhook struct{ AccountID, WebhookID, Name, TokenHash, By string }

// RegenerateWebhook gives a webhook a new URL token.
type RegenerateWebhook struct{ AccountID, WebhookID, TokenHash, By string }

// DeleteWebhook deletes a webhook.
type DeleteWebhook struct{ AccountID, WebhookID, By string }

// IssueBotReplyURL records a reply URL for a bot in the room (zero ExpiresAt: persistent).
type IssueBotReplyURL struct {
	AccountID, ReplyID, BotID, TokenHash string
	ExpiresAt                            time.Time
}

// PostWebhookMessage posts through a webhook URL (its token's hash); WebhookID may be a bot's id, for
// the reply URLs of its events.
type PostWebhookMessage struct {
	AccountID, WebhookID, TokenHash, MessageID string
	Content                                    Content
}

func (c PostMessage) account() string        { return c.AccountID }
func (c RedactMessage) account() string      { return c.AccountID }
func (c CreateWebhook) account() string      { return c.AccountID }
func (c RegenerateWebhook) account() string  { return c.AccountID }
func (c DeleteWebhook) account() string      { return c.AccountID }
func (c PostWebhookMessage) account() string { return c.AccountID }
func (c IssueBotReplyURL) account() string   { return c.AccountID }

// decideMessage decides the message, webhook and bot-reply commands.
func decideMessage(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case PostMessage:
		return s.decidePost(c, now)
	case RedactMessage:
		m, ok := s.Messages[c.MessageID]
		if !ok {
			return nil, domain.Wrapf(ErrNoMessage, "message %s is not in the room", c.MessageID)
		}
		if m.At.Before(c.HiddenBefore) {
			return nil, domain.Wrapf(ErrNoMessage, "message %s is past the account's chat retention: it is hidden or purged", c.MessageID)
		}
		if m.Redacted {
			return nil, nil
		}
		return []Event{MessageRedacted{MessageID: c.MessageID, By: c.By, At: now.UTC()}}, nil
	case CreateWebhook:
		return s.decideCreateWebhook(c, now)
	case RegenerateWebhook:
		return s.decideWebhookChange(c.By, c.WebhookID, WebhookRegenerated{WebhookID: c.WebhookID, TokenHash: c.TokenHash, At: now.UTC()})
	case DeleteWebhook:
		return s.decideWebhookChange(c.By, c.WebhookID, WebhookDeleted{WebhookID: c.WebhookID, At: now.UTC()})
	case IssueBotReplyURL:
		if m, ok := s.Members[c.BotID]; !ok || m.Type != MemberBot {
			return nil, domain.Wrapf(ErrMemberNotFound, "bot %s is not in the room", c.BotID)
		}
		return []Event{BotReplyURLIssued{ReplyID: c.ReplyID, BotID: c.BotID, TokenHash: c.TokenHash, ExpiresAt: c.ExpiresAt, At: now.UTC()}}, nil
	case PostWebhookMessage:
		if r, isReply := s.BotReplies[c.WebhookID]; isReply {
			return s.decideBotReply(r, c, now)
		}
		return s.decideWebhookPost(c, now)
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown room command %T", c)
}

// decidePost decides a member's message.
func (s State) decidePost(c PostMessage, now time.Time) ([]Event, error) {
	m, ok := s.Members[c.SenderID]
	if !ok {
		return nil, domain.Wrapf(ErrNotMember, "%s is not a member of the room", c.SenderID)
	}
	if err := s.checkContent(c.Content.Text); err != nil {
		return nil, err
	}
	if err := checkAttachment(c.Attachment); err != nil {
		return nil, err
	}
	name := m.FullName
	if name == "" {
		name = m.Email
	}
	return []Event{MessagePosted{MessageID: c.MessageID, SenderID: c.SenderID, SenderType: m.Type, SenderName: name, SenderEmail: m.Email,
		KeyID: c.Content.KeyID, Sealed: c.Content.Sealed, MentionedBots: s.mentionedBots(c.Content.Text), Attachment: c.Attachment, At: now.UTC()}}, nil
}

// decideCreateWebhook decides a new webhook: an administrator's, named, within MaxWebhooks.
func (s State) decideCreateWebhook(c CreateWebhook, now time.Time) ([]Event, error) {
	if err := s.admin(c.By); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(c.Name)
	if name == "" || len(name) > MaxWebhookName {
		return nil, domain.Wrapf(ErrInvalid, "Name must be 1 to %d characters", MaxWebhookName)
	}
	if s.liveWebhooks() >= MaxWebhooks {
		return nil, domain.Wrapf(ErrWebhookLimit, "the room already has %d webhooks", MaxWebhooks)
	}
	return []Event{WebhookCreated{WebhookID: c.WebhookID, Name: name, TokenHash: c.TokenHash, By: c.By, At: now.UTC()}}, nil
}

// decideWebhookChange decides an administrator's change e (regeneration or deletion) to a live webhook.
func (s State) decideWebhookChange(by, id string, e Event) ([]Event, error) {
	if err := s.admin(by); err != nil {
		return nil, err
	}
	if w, ok := s.Webhooks[id]; !ok || w.Deleted {
		return nil, domain.Wrapf(ErrNotFound, "webhook %s is not in the room", id)
	}
	return []Event{e}, nil
}

// decideBotReply decides a bot's post to one of its reply URLs: the token must match, the bot must
// still be in the room, a short-lived URL must not have expired.
func (s State) decideBotReply(r BotReply, c PostWebhookMessage, now time.Time) ([]Event, error) {
	m, member := s.Members[r.BotID]
	switch {
	case r.TokenHash != c.TokenHash:
		return nil, domain.Wrapf(ErrWebhookURL, "the URL is invalid")
	case !member:
		return nil, domain.Wrapf(ErrWebhookGone, "the bot is no longer in the room")
	case !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt):
		return nil, domain.Wrapf(ErrWebhookGone, "the short-lived URL expired")
	}
	if err := s.checkContent(c.Content.Text); err != nil {
		return nil, err
	}
	return []Event{MessagePosted{MessageID: c.MessageID, SenderID: m.ID, SenderType: MemberBot, SenderName: m.FullName, SenderEmail: m.Email,
		KeyID: c.Content.KeyID, Sealed: c.Content.Sealed, At: now.UTC()}}, nil
}

// decideWebhookPost decides a post to an incoming webhook: a deleted or regenerated URL is gone
// (404), any other unknown token invalid (403).
func (s State) decideWebhookPost(c PostWebhookMessage, now time.Time) ([]Event, error) {
	w, ok := s.Webhooks[c.WebhookID]
	switch {
	case !ok:
		return nil, domain.Wrapf(ErrWebhookURL, "the webhook URL is invalid")
	case w.Deleted && (w.TokenHash == c.TokenHash || slices.Contains(w.OldTokens, c.TokenHash)):
		return nil, domain.Wrapf(ErrWebhookGone, "the webhook was deleted")
	case w.Deleted || w.TokenHash != c.TokenHash && !slices.Contains(w.OldTokens, c.TokenHash):
		return nil, domain.Wrapf(ErrWebhookURL, "the webhook URL is invalid")
	case w.TokenHash != c.TokenHash:
		return nil, domain.Wrapf(ErrWebhookGone, "the webhook URL was regenerated")
	}
	if err := s.checkContent(c.Content.Text); err != nil {
		return nil, err
	}
	return []Event{MessagePosted{MessageID: c.MessageID, SenderID: w.ID, SenderType: MemberWebhook, SenderName: w.Name + " (Webhook)",
		KeyID: c.Content.KeyID, Sealed: c.Content.Sealed, At: now.UTC()}}, nil
}

// checkContent applies the message rules of guide §11.4–11.5.
func (s State) checkContent(content string) error {
	switch {
	case strings.TrimSpace(content) == "":
		return domain.Wrapf(ErrMessage, "Content is required")
	case len(content) >= MaxMessageBytes:
		return domain.Wrapf(ErrTooLarge, "Content is %d bytes; a message must be under %d", len(content), MaxMessageBytes)
	case (strings.Contains(content, "@All") || strings.Contains(content, "@Present")) && len(s.Members) > MaxCalloutMembers:
		return domain.Wrapf(ErrMessage, "@All and @Present work only in rooms of %d members or fewer; this room has %d", MaxCalloutMembers, len(s.Members))
	}
	return nil
}

// mentionedBots lists, in id order, the bot members whose e-mail address the content @mentions.
func (s State) mentionedBots(content string) []string {
	var out []string
	for id, m := range s.Members {
		if m.Type == MemberBot && m.Email != "" && strings.Contains(strings.ToLower(content), "@"+strings.ToLower(m.Email)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// admin checks that a member is a room administrator.
func (s State) admin(memberID string) error {
	if m, ok := s.Members[memberID]; !ok || m.Role != RoleAdministrator {
		return domain.Wrapf(ErrNotAdmin, "%s is not an administrator of the room", memberID)
	}
	return nil
}

// evolveMessage applies the message, webhook and bot-reply events.
func evolveMessage(s *State, e Event) {
	switch e := e.(type) {
	case MessagePosted:
		if s.Messages == nil {
			s.Messages = map[string]Posted{}
		}
		p := Posted{At: e.At, KeyID: e.KeyID}
		if e.Attachment != nil {
			p.AttachmentKey = e.Attachment.KeyID
		}
		s.Messages[e.MessageID] = p
	case MessageRedacted:
		if m, ok := s.Messages[e.MessageID]; ok {
			m.Redacted = true
			s.Messages[e.MessageID] = m
		}
	case WebhookCreated:
		if s.Webhooks == nil {
			s.Webhooks = map[string]*Webhook{}
		}
		s.Webhooks[e.WebhookID] = &Webhook{ID: e.WebhookID, Name: e.Name, TokenHash: e.TokenHash}
	case WebhookRegenerated:
		if w, ok := s.Webhooks[e.WebhookID]; ok {
			w.OldTokens, w.TokenHash = append(w.OldTokens, w.TokenHash), e.TokenHash
		}
	case WebhookDeleted:
		if w, ok := s.Webhooks[e.WebhookID]; ok {
			w.Deleted = true
		}
	case BotReplyURLIssued:
		if s.BotReplies == nil {
			s.BotReplies = map[string]BotReply{}
		}
		s.BotReplies[e.ReplyID] = BotReply{BotID: e.BotID, TokenHash: e.TokenHash, ExpiresAt: e.ExpiresAt}
	}
}
