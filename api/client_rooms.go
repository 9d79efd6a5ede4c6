package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ClientRooms is what the client API's room messages need: members post to and read the rooms of
// their account.
type ClientRooms interface {
	PostRoomMessage(ctx context.Context, u chimeaccounts.User, roomID, content string) (chimerooms.Message, error)
	ListRoomMessages(ctx context.Context, u chimeaccounts.User, roomID string, limit int) ([]chimerooms.Message, error)
}

type wireMessage struct {
	MessageId, SenderId, SenderType, SenderName, Content, CreatedTimestamp string
	Redacted                                                               bool
}

func toWireMessage(m chimerooms.Message) wireMessage {
	return wireMessage{MessageId: m.MessageID, SenderId: m.SenderID, SenderType: m.SenderType, SenderName: m.SenderName,
		Content: m.Content, CreatedTimestamp: timestamp(m.CreatedAt), Redacted: m.Redacted}
}

func mountClientRooms(g *echo.Group, auth ClientAuth, svc ClientRooms) {
	g.POST("/rooms/:roomId/messages", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		var in struct{ Content string }
		if err := c.Bind(&in); err != nil {
			return clientError(c, BadRequest("the body must be a JSON object with Content"))
		}
		m, err := svc.PostRoomMessage(c.Request().Context(), u, c.Param("roomId"), in.Content)
		if err != nil {
			return clientError(c, err)
		}
		return c.JSON(http.StatusCreated, map[string]any{"Message": toWireMessage(m)})
	}))
	g.GET("/rooms/:roomId/messages", withSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		list, err := svc.ListRoomMessages(c.Request().Context(), u, c.Param("roomId"), 100)
		if err != nil {
			return clientError(c, err)
		}
		out := make([]wireMessage, len(list))
		for i, m := range list {
			out[i] = toWireMessage(m)
		}
		return c.JSON(http.StatusOK, map[string]any{"Messages": out})
	}))
}
