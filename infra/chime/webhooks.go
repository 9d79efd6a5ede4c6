package chime

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// webhookLimiter allows one post per webhook per second (in this process).
type webhookLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *webhookLimiter) allow(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[id]; ok && now.Sub(t) < time.Second {
		return false
	}
	if len(l.last) >= 10_000 {
		// Entries older than a second decide nothing any more (short-lived reply URLs come and go).
		for k, t := range l.last {
			if now.Sub(t) >= time.Second {
				delete(l.last, k)
			}
		}
	}
	l.last[id] = now
	return true
}

func (s *Service) webhookURL(id, token string) string {
	return s.publicURL() + "/incomingwebhooks/" + id + "?token=" + url.QueryEscape(token)
}

func (s *Service) execRoomAsMember(ctx context.Context, u chimeaccounts.User, roomID string, cmd room.Command) error {
	if _, err := s.roomsRead.GetRoom(ctx, u.AccountID, roomID); err != nil {
		return err
	}
	res, err := s.rooms.Execute(ctx, room.StreamName(roomID), cmd)
	if err != nil {
		return err
	}
	s.waitRM(ctx, s.roomsRM, res.Position)
	return nil
}

// CreateRoomWebhook adds an incoming webhook to a room; the user must administer the room.
func (s *Service) CreateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, name string) (room.WebhookURL, error) {
	id, token := uuid.NewString(), securityToken()
	cmd := room.CreateWebhook{AccountID: u.AccountID, WebhookID: id, Name: name, TokenHash: hashToken(token), By: u.UserID}
	if err := s.execRoomAsMember(ctx, u, roomID, cmd); err != nil {
		return room.WebhookURL{}, err
	}
	return room.WebhookURL{ID: id, Name: name, URL: s.webhookURL(id, token)}, nil
}

// RegenerateRoomWebhook gives a webhook a new URL; the old one answers 404 from then on.
func (s *Service) RegenerateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) (room.WebhookURL, error) {
	token := securityToken()
	if err := s.execRoomAsMember(ctx, u, roomID, room.RegenerateWebhook{AccountID: u.AccountID, WebhookID: webhookID, TokenHash: hashToken(token), By: u.UserID}); err != nil {
		return room.WebhookURL{}, err
	}
	return room.WebhookURL{ID: webhookID, URL: s.webhookURL(webhookID, token)}, nil
}

// DeleteRoomWebhook deletes a webhook; its URL answers 404 from then on.
func (s *Service) DeleteRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) error {
	return s.execRoomAsMember(ctx, u, roomID, room.DeleteWebhook{AccountID: u.AccountID, WebhookID: webhookID, By: u.UserID})
}

// PostWebhookMessage posts a message through a webhook URL (guide §11.4–11.5).
func (s *Service) PostWebhookMessage(ctx context.Context, webhookID, token, content string) (string, error) {
	roomID, accountID, err := s.roomsRead.WebhookRoom(ctx, webhookID)
	if err != nil {
		return "", err
	}
	sealed, err := s.seal(ctx, accountID, roomID, content)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	cmd := room.PostWebhookMessage{AccountID: accountID, WebhookID: webhookID, TokenHash: hashToken(token), MessageID: id, Content: sealed}
	// The rate is spent only by a post the room accepts: a forged or stale URL gets its 403 or 404.
	res, err := s.rooms.ExecuteFunc(ctx, room.StreamName(roomID), func(st room.State, now time.Time) ([]room.Event, error) {
		evs, err := room.Decide(st, cmd, now)
		if err != nil {
			return nil, err
		}
		if !s.webhookRate.allow(webhookID, time.Now()) {
			return nil, room.ErrWebhookThrottled
		}
		return evs, nil
	})
	if err != nil {
		return "", err
	}
	s.waitRM(ctx, s.roomsRM, res.Position)
	return id, nil
}
