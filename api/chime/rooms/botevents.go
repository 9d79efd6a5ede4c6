package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// BotEvent is one event for a bot (guide §11.3), as the side-effect relay queued it: Invite when the
// bot joins a room, Mention when a message @mentions it (its content sealed as in the event), Remove
// when it leaves one.
type BotEvent struct {
	BotID, RoomID, EventType, SenderID string
	KeyID                              string
	Sealed                             []byte
	At                                 time.Time
}

// BotTarget is where one bot event goes and what signs it.
type BotTarget struct {
	BotID, RoomID, EventType string // for the log of a dropped event
	LambdaARN, HTTPSEndpoint string // the Lambda function when set, else the endpoint
	SecurityToken            string
}

// BotTransport sends a bot event, signed with the bot's security token, with the guide's retries; an
// event that still fails is dropped and counted, and only the end of ctx is returned
// (infra/botdelivery implements it).
type BotTransport interface {
	Deliver(ctx context.Context, to BotTarget, body []byte) error
}

// BotEvents delivers bot events and issues the bots' reply URLs.
type BotEvents struct{ d Deps }

// NewBotEvents returns the delivery of bot events.
func NewBotEvents(d Deps) *BotEvents { return &BotEvents{d: d.withDefaults()} }

// botEventBody is the payload of guide §11.3: Invite carries a persistent reply URL, Mention a
// short-lived one (2 minutes) and the message; Remove carries neither. The sender of a membership
// change made through the admin API is the caller's ARN (SenderIdType "IamArn"); an e-mail address is
// sent as "EmailId".
func botEventBody(ev BotEvent, replyURL, message string) ([]byte, error) {
	idType := "EmailId"
	if strings.HasPrefix(ev.SenderID, "arn:") {
		idType = "IamArn"
	}
	body := map[string]any{
		"Sender":         map[string]string{"SenderId": ev.SenderID, "SenderIdType": idType},
		"Discussion":     map[string]string{"DiscussionId": ev.RoomID, "DiscussionType": "Room"},
		"EventType":      ev.EventType,
		"EventTimestamp": awsproto.Timestamp(ev.At), // the Chime-Request-Timestamp format
	}
	switch ev.EventType {
	case "Invite":
		body["InboundHttpsEndpoint"] = map[string]string{"EndpointType": "Persistent", "Url": replyURL}
	case "Mention":
		body["InboundHttpsEndpoint"] = map[string]string{"EndpointType": "ShortLived", "Url": replyURL}
		body["Message"] = message
	}
	return json.Marshal(body)
}

// issueReplyURL records a fresh reply URL for the bot in the room (its token's hash first) and
// returns it; a redelivered event gets a new one.
func (b *BotEvents) issueReplyURL(ctx context.Context, bot chimeaccounts.Bot, ev BotEvent) (string, error) {
	if ev.EventType != "Invite" && ev.EventType != "Mention" {
		return "", nil
	}
	token, replyID := usecase.RandomToken(), uuid.NewString()
	cmd := room.IssueBotReplyURL{AccountID: bot.AccountID, ReplyID: replyID, BotID: bot.BotID, TokenHash: usecase.HashToken(token)}
	if ev.EventType == "Mention" {
		cmd.ExpiresAt = b.d.Now().Add(room.ShortLivedURL)
	}
	// The wait makes the URL work as soon as the bot has it.
	if err := usecase.Exec(ctx, b.d.Rooms.Command(room.StreamName(ev.RoomID), cmd)); err != nil {
		return "", err
	}
	return b.d.webhookURL(replyID, token), nil
}

// DeliverBotEvent sends an event to the bot's HTTPS endpoint or Lambda function, signed with its
// current security token, retrying twice (200 ms, then 400 ms) after a timeout, a connection error
// or a 5xx; each attempt is signed with a fresh timestamp. A bot that is disabled or has no events
// configuration gets nothing. An event that still fails is dropped, as the guide says, and counted
// in belfry_bot_events_dropped_total. Only a failure to read the bot is returned (and redelivered).
func (b *BotEvents) DeliverBotEvent(ctx context.Context, ev BotEvent) error {
	bot, err := b.d.Directory.BotByID(ctx, ev.BotID)
	if errors.Is(err, chimeaccounts.ErrBotNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if bot.Disabled || !bot.HasEvents {
		return nil
	}
	replyURL, err := b.issueReplyURL(ctx, bot, ev)
	if domain.KindOf(err) != 0 {
		return nil // the bot left the room (or the room is gone) since: nothing to send
	}
	if err != nil {
		return err
	}
	var message string
	if ev.EventType == "Mention" {
		pt, err := b.d.Keys.Open(ctx, ev.KeyID, ev.Sealed)
		if errors.Is(err, domain.ErrShredded) {
			return nil // the message is gone (retention): nothing to send
		}
		if err != nil {
			return err
		}
		message = string(pt)
	}
	body, err := botEventBody(ev, replyURL, message)
	if err != nil {
		return err
	}
	return b.d.Bots.Deliver(ctx, BotTarget{BotID: bot.BotID, RoomID: ev.RoomID, EventType: ev.EventType,
		LambdaARN: awsproto.Deref(bot.LambdaARN), HTTPSEndpoint: awsproto.Deref(bot.HTTPSEndpoint), SecurityToken: bot.SecurityToken}, body)
}
