package chime

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// botRetryDelays are the waits before the two retries of guide §11.2.4 (200 ms, then 400 ms).
var botRetryDelays = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}

// botTimestamp is the Chime-Request-Timestamp format: ISO 8601 UTC with milliseconds.
const botTimestamp = "2006-01-02T15:04:05.000Z"

// BotSignature is the Chime-Signature of a bot event: base64(HMAC-SHA256(securityToken, timestamp|body)).
func BotSignature(securityToken, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(securityToken))
	mac.Write([]byte(timestamp + "|"))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

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
		"EventTimestamp": ev.At.UTC().Format(botTimestamp),
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

// errRetryable marks a failed attempt the guide retries (timeout, connection error, 5xx).
var errRetryable = errors.New("retryable")

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
	attempt := func() error {
		ts := s.now().UTC().Format(botTimestamp)
		sig := BotSignature(bot.SecurityToken, ts, body)
		if bot.LambdaARN != nil && *bot.LambdaARN != "" {
			cc, _ := json.Marshal(map[string]string{"Chime-Signature": sig, "Chime-Request-Timestamp": ts})
			if err := s.lambda.Invoke(ctx, *bot.LambdaARN, body, base64.StdEncoding.EncodeToString(cc), false); err != nil {
				return fmt.Errorf("%w: %v", errRetryable, err)
			}
			return nil
		}
		return s.postBotEvent(ctx, deref(bot.HTTPSEndpoint), ts, sig, body)
	}
	err = attempt()
	for i := 0; err != nil && errors.Is(err, errRetryable) && i < len(botRetryDelays); i++ {
		select {
		case <-time.After(botRetryDelays[i]):
		case <-ctx.Done():
			return ctx.Err()
		}
		err = attempt()
	}
	if err != nil {
		s.botDropped.Inc()
		s.log.Warn("bot event dropped", "bot", bot.BotID, "room", ev.RoomID, "event", ev.EventType, "err", err)
	}
	return nil
}

func (s *Service) postBotEvent(ctx context.Context, endpoint, ts, sig string, body []byte) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Chime-Signature", sig)
	req.Header.Set("Chime-Request-Timestamp", ts)
	resp, err := s.botHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errRetryable, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: the endpoint answered %d", errRetryable, resp.StatusCode)
	}
	return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
}
