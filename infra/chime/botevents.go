package chime

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/botdelivery"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// botEventBody is the payload of guide §11.3: Invite carries a persistent reply URL, Mention a
// short-lived one (2 minutes) and the message; Remove carries neither. The sender of a membership
// change made through the admin API is the caller's ARN (SenderIdType "IamArn"); an e-mail address is
// sent as "EmailId".
func botEventBody(ev sideeffects.BotEvent, replyURL, message string) ([]byte, error) {
	idType := "EmailId"
	if strings.HasPrefix(ev.SenderID, "arn:") {
		idType = "IamArn"
	}
	body := map[string]any{
		"Sender":         map[string]string{"SenderId": ev.SenderID, "SenderIdType": idType},
		"Discussion":     map[string]string{"DiscussionId": ev.RoomID, "DiscussionType": "Room"},
		"EventType":      ev.EventType,
		"EventTimestamp": ev.At.UTC().Format(botdelivery.Timestamp),
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
func (s *Service) issueReplyURL(ctx context.Context, bot chimeaccounts.Bot, ev sideeffects.BotEvent) (string, error) {
	if ev.EventType != "Invite" && ev.EventType != "Mention" {
		return "", nil
	}
	token, replyID := securityToken(), uuid.NewString()
	cmd := room.IssueBotReplyURL{AccountID: bot.AccountID, ReplyID: replyID, BotID: bot.BotID, TokenHash: hashToken(token)}
	if ev.EventType == "Mention" {
		cmd.ExpiresAt = s.now().Add(room.ShortLivedURL)
	}
	res, err := s.rooms.Execute(ctx, room.StreamName(ev.RoomID), cmd)
	if err != nil {
		return "", err
	}
	s.waitRM(ctx, s.roomsRM, res.Position) // the URL works as soon as the bot has it
	return s.webhookURL(replyID, token), nil
}

// DeliverBotEvent sends an event to the bot's HTTPS endpoint or Lambda function, signed with its
// current security token, retrying twice (200 ms, then 400 ms) after a timeout, a connection error
// or a 5xx; each attempt is signed with a fresh timestamp. A bot that is disabled or has no events
// configuration gets nothing. An event that still fails is dropped, as the guide says, and counted
// in belfry_bot_events_dropped_total. Only a failure to read the bot is returned (and redelivered).
func (s *Service) DeliverBotEvent(ctx context.Context, ev sideeffects.BotEvent) error {
	bot, err := s.store.BotByID(ctx, ev.BotID)
	if errors.Is(err, chimeaccounts.ErrBotNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if bot.Disabled || !bot.HasEvents {
		return nil
	}
	replyURL, err := s.issueReplyURL(ctx, bot, ev)
	if domain.KindOf(err) != 0 {
		return nil // the bot left the room (or the room is gone) since: nothing to send
	}
	if err != nil {
		return err
	}
	var message string
	if ev.EventType == "Mention" {
		pt, err := s.keys.Open(ctx, ev.KeyID, ev.Sealed)
		if errors.Is(err, datakeys.ErrDestroyed) {
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
	return s.bots.Deliver(ctx, botdelivery.Target{BotID: bot.BotID, RoomID: ev.RoomID, EventType: ev.EventType,
		LambdaARN: deref(bot.LambdaARN), HTTPSEndpoint: deref(bot.HTTPSEndpoint), SecurityToken: bot.SecurityToken}, body)
}
