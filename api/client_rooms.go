package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ClientRooms is what the client API's room messages need: members post to and read the rooms of
// their account.
type ClientRooms interface {
	PostRoomMessage(ctx context.Context, u chimeaccounts.User, roomID, content string) (chimerooms.Message, error)
	ListRoomMessages(ctx context.Context, u chimeaccounts.User, roomID string, limit int) ([]chimerooms.Message, error)
	CreateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, name string) (room.WebhookURL, error)
	RegenerateRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) (room.WebhookURL, error)
	DeleteRoomWebhook(ctx context.Context, u chimeaccounts.User, roomID, webhookID string) error
}

// IncomingWebhooks takes the messages posted to incoming-webhook URLs.
type IncomingWebhooks interface {
	PostWebhookMessage(ctx context.Context, webhookID, token, content string) (string, error)
}

type wireMessage struct {
	MessageId, SenderId, SenderType, SenderName, Content, CreatedTimestamp string
	Redacted                                                               bool
}

func toWireMessage(m chimerooms.Message) wireMessage {
	return wireMessage{MessageId: m.MessageID, SenderId: m.SenderID, SenderType: m.SenderType, SenderName: m.SenderName,
		Content: m.Content, CreatedTimestamp: awsproto.Timestamp(m.CreatedAt), Redacted: m.Redacted}
}

func mountClientRooms(g *echo.Group, auth ClientAuth, svc ClientRooms) {
	g.POST("/rooms/:roomId/messages", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		var in struct{ Content string }
		if err := c.Bind(&in); err != nil {
			return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Content"))
		}
		m, err := svc.PostRoomMessage(c.Request().Context(), u, c.Param("roomId"), in.Content)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusCreated, map[string]any{"Message": toWireMessage(m)})
	}))
	g.GET("/rooms/:roomId/messages", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		list, err := svc.ListRoomMessages(c.Request().Context(), u, c.Param("roomId"), 100)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		out := make([]wireMessage, len(list))
		for i, m := range list {
			out[i] = toWireMessage(m)
		}
		return c.JSON(http.StatusOK, map[string]any{"Messages": out})
	}))
	webhook := func(c echo.Context, w room.WebhookURL, status int) error {
		return c.JSON(status, map[string]any{"Webhook": map[string]string{"WebhookId": w.ID, "Name": w.Name, "Url": w.URL}})
	}
	g.POST("/rooms/:roomId/webhooks", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		var in struct{ Name string }
		if err := c.Bind(&in); err != nil {
			return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Name"))
		}
		w, err := svc.CreateRoomWebhook(c.Request().Context(), u, c.Param("roomId"), in.Name)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return webhook(c, w, http.StatusCreated)
	}))
	g.POST("/rooms/:roomId/webhooks/:id/regenerate", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		w, err := svc.RegenerateRoomWebhook(c.Request().Context(), u, c.Param("roomId"), c.Param("id"))
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return webhook(c, w, http.StatusOK)
	}))
	g.DELETE("/rooms/:roomId/webhooks/:id", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		if err := svc.DeleteRoomWebhook(c.Request().Context(), u, c.Param("roomId"), c.Param("id")); err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.NoContent(http.StatusNoContent)
	}))
}

// mountIncomingWebhooks serves POST /incomingwebhooks/{id}?token= with the error contract of guide
// §11.5: 403 invalid URL, 404 regenerated or deleted, 413 for 4 KB or more, 400 for @All/@Present in
// a room of more than 50, 429 past 1 message per second, 503 when the service fails. CORS is off.
func mountIncomingWebhooks(e *echo.Echo, svc IncomingWebhooks) {
	e.POST("/incomingwebhooks/:id", func(c echo.Context) error {
		// guardClient has validated the path, the query and the body, and bounded the body.
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": "could not read the body"})
		}
		var in struct{ Content *string }
		if json.Unmarshal(body, &in) != nil || in.Content == nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": `the body must be {"Content": "..."}`})
		}
		id, err := svc.PostWebhookMessage(c.Request().Context(), c.Param("id"), c.QueryParam("token"), *in.Content)
		if err == nil {
			return c.JSON(http.StatusOK, map[string]string{"MessageId": id})
		}
		status, code := http.StatusServiceUnavailable, "ServiceUnavailable"
		switch {
		case errors.Is(err, room.ErrWebhookThrottled):
			status, code = http.StatusTooManyRequests, "Throttled"
		case errors.Is(err, room.ErrTooLarge):
			status, code = http.StatusRequestEntityTooLarge, "PayloadTooLarge"
		case errors.Is(err, room.ErrWebhookGone):
			status, code = http.StatusNotFound, "NotFound"
		case errors.Is(err, room.ErrWebhookURL):
			status, code = http.StatusForbidden, "Forbidden"
		case domain.KindOf(err) == domain.KindInvalid:
			status, code = http.StatusBadRequest, "BadRequest"
		}
		msg := err.Error()
		if status == http.StatusServiceUnavailable {
			msg = "the service is unavailable; try again"
		}
		return c.JSON(status, map[string]string{"Code": code, "Message": msg})
	}, awsproto.GuardClient(awsproto.MaxClientBodyBytes))
}
