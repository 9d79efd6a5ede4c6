package rooms

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

type wireMessage struct {
	MessageId, SenderId, SenderType, SenderName, Content, CreatedTimestamp string
	Redacted                                                               bool
}

func toWireMessage(m chimerooms.Message) wireMessage {
	return wireMessage{MessageId: m.MessageID, SenderId: m.SenderID, SenderType: m.SenderType, SenderName: m.SenderName,
		Content: m.Content, CreatedTimestamp: awsproto.Timestamp(m.CreatedAt), Redacted: m.Redacted}
}

func webhook(c echo.Context, w room.WebhookURL, status int) error {
	return c.JSON(status, map[string]any{"Webhook": map[string]string{"WebhookId": w.ID, "Name": w.Name, "Url": w.URL}})
}

// ClientRoutes are the members' room routes on the client API (under /client/v1), each behind the
// session check of auth.
func (m *Messages) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	h := memberHandlers{m}
	route := func(method, path string, fn func(echo.Context, chimeaccounts.User) error) clientapi.Route {
		return clientapi.Route{Method: method, Path: path, Handler: clientapi.WithSession(auth, fn)}
	}
	return []clientapi.Route{
		route(http.MethodPost, "/rooms/:roomId/messages", h.postMessage),
		route(http.MethodGet, "/rooms/:roomId/messages", h.listMessages),
		route(http.MethodGet, "/rooms/:roomId/members.csv", h.exportMembers),
		route(http.MethodPost, "/rooms/:roomId/webhooks", h.createWebhook),
		route(http.MethodPost, "/rooms/:roomId/webhooks/:id/regenerate", h.regenerateWebhook),
		route(http.MethodDelete, "/rooms/:roomId/webhooks/:id", h.deleteWebhook),
	}
}

// WebhookRoutes serve POST /incomingwebhooks/{id}?token= with the error contract of guide §11.5:
// 403 invalid URL, 404 regenerated or deleted, 413 for 4 KB or more, 400 for @All/@Present in a room
// of more than 50, 429 past 1 message per second, 503 when the service fails. CORS is off.
func (m *Messages) WebhookRoutes() []clientapi.Route {
	return []clientapi.Route{{Method: http.MethodPost, Path: "/incomingwebhooks/:id", Handler: memberHandlers{m}.postToWebhook}}
}

// memberHandlers are the client API's room handlers.
type memberHandlers struct{ m *Messages }

func (h memberHandlers) postMessage(c echo.Context, u chimeaccounts.User) error {
	var in struct{ Content string }
	if err := c.Bind(&in); err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Content"))
	}
	msg, err := h.m.PostRoomMessage(c.Request().Context(), u, c.Param("roomId"), in.Content)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Message": toWireMessage(msg)})
}

func (h memberHandlers) listMessages(c echo.Context, u chimeaccounts.User) error {
	list, err := h.m.ListRoomMessages(c.Request().Context(), u, c.Param("roomId"), 100)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	out := make([]wireMessage, len(list))
	for i, msg := range list {
		out[i] = toWireMessage(msg)
	}
	return c.JSON(http.StatusOK, map[string]any{"Messages": out})
}

// exportMembers answers the room's member list as CSV (name, e-mail address, role), named after the room.
func (h memberHandlers) exportMembers(c echo.Context, u chimeaccounts.User) error {
	r, list, err := h.m.ExportRoomMembers(c.Request().Context(), u, c.Param("roomId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	rows := make([][]string, len(list))
	for i, m := range list {
		rows[i] = []string{m.FullName, m.Email, m.Role}
	}
	return clientapi.CSV(c, r.Name+" members.csv", []string{"Name", "Email", "Role"}, rows)
}

func (h memberHandlers) createWebhook(c echo.Context, u chimeaccounts.User) error {
	var in struct{ Name string }
	if err := c.Bind(&in); err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Name"))
	}
	w, err := h.m.CreateRoomWebhook(c.Request().Context(), u, c.Param("roomId"), in.Name)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return webhook(c, w, http.StatusCreated)
}

func (h memberHandlers) regenerateWebhook(c echo.Context, u chimeaccounts.User) error {
	w, err := h.m.RegenerateRoomWebhook(c.Request().Context(), u, c.Param("roomId"), c.Param("id"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return webhook(c, w, http.StatusOK)
}

func (h memberHandlers) deleteWebhook(c echo.Context, u chimeaccounts.User) error {
	if err := h.m.DeleteRoomWebhook(c.Request().Context(), u, c.Param("roomId"), c.Param("id")); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// postToWebhook answers a post to an incoming-webhook URL (see WebhookRoutes).
func (h memberHandlers) postToWebhook(c echo.Context) error {
	// GuardClient has validated the path, the query and the body, and bounded the body.
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
	if err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": "could not read the body"})
	}
	var in struct{ Content *string }
	if json.Unmarshal(body, &in) != nil || in.Content == nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": `the body must be {"Content": "..."}`})
	}
	id, err := h.m.PostWebhookMessage(c.Request().Context(), c.Param("id"), c.QueryParam("token"), *in.Content)
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
}
