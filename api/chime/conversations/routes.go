package conversations

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimeconversations"
)

type wireMember struct{ UserId, AccountId, Email, FullName string }

type wireConversation struct {
	ConversationId, Type, Name, CreatedBy, CreatedTimestamp string
	Members                                                 []wireMember
}

type wireMessage struct {
	MessageId, ConversationId, SenderId, SenderName, Content, CreatedTimestamp string
	EditedTimestamp                                                            string `json:",omitempty"`
	Redacted                                                                   bool
}

func toWireConversation(c chimeconversations.Conversation) wireConversation {
	w := wireConversation{ConversationId: c.ConversationID, Type: c.Kind, Name: c.Name, CreatedBy: c.CreatedBy,
		CreatedTimestamp: awsproto.Timestamp(c.CreatedAt), Members: []wireMember{}}
	for _, m := range c.Members {
		w.Members = append(w.Members, wireMember{UserId: m.UserID, AccountId: m.AccountID, Email: m.Email, FullName: m.FullName})
	}
	return w
}

func toWireMessage(m chimeconversations.Message) wireMessage {
	w := wireMessage{MessageId: m.MessageID, ConversationId: m.ConversationID, SenderId: m.SenderID, SenderName: m.SenderName,
		Content: m.Content, Redacted: m.Redacted}
	if !m.CreatedAt.IsZero() {
		w.CreatedTimestamp = awsproto.Timestamp(m.CreatedAt)
	}
	if m.EditedAt != nil {
		w.EditedTimestamp = awsproto.Timestamp(*m.EditedAt)
	}
	return w
}

// ClientRoutes are the members' conversation routes on the client API (under /client/v1), each
// behind the session check of auth.
func (s *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	h := handlers{s}
	route := func(method, path string, fn func(echo.Context, chimeaccounts.User) error) clientapi.Route {
		return clientapi.Route{Method: method, Path: path, Handler: clientapi.WithSession(auth, fn)}
	}
	const one = "/conversations/:conversationId"
	return []clientapi.Route{
		route(http.MethodPost, "/conversations", h.create),
		route(http.MethodGet, "/conversations", h.list),
		route(http.MethodGet, one, h.get),
		route(http.MethodPost, one+"/members", h.addMembers),
		route(http.MethodDelete, one+"/members/:memberId", h.leave),
		route(http.MethodPost, one+"/messages", h.post),
		route(http.MethodGet, one+"/messages", h.listMessages),
		route(http.MethodPut, one+"/messages/:messageId", h.edit),
		route(http.MethodDelete, one+"/messages/:messageId", h.deleteMessage),
	}
}

type handlers struct{ s *Service }

// decode reads a JSON object body into v; a malformed body or a member of the wrong type is a 400
// naming it.
func decode(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body) // bounded and validated by awsproto.GuardClient
	if err != nil {
		return awsproto.BadRequest("could not read the request body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return awsproto.BadRequest(fmt.Sprintf("member %q must be a %s", te.Field, te.Type))
		}
		return awsproto.BadRequest("the request body must be a JSON object: " + err.Error())
	}
	return nil
}

// page reads max-results (1–MaxPage, default DefaultPage) and next-token.
func page(c echo.Context) (int, string, error) {
	limit := DefaultPage
	if v := c.QueryParam("max-results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			return 0, "", awsproto.BadRequest(fmt.Sprintf("query parameter \"max-results\" must be 1 to %d", MaxPage))
		}
		limit = n
	}
	return limit, c.QueryParam("next-token"), nil
}

func (h handlers) create(c echo.Context, u chimeaccounts.User) error {
	var in struct {
		MemberIds  []string
		Name, Type string
	}
	if err := decode(c, &in); err != nil {
		return awsproto.ClientError(c, err)
	}
	conv, created, err := h.s.CreateConversation(c.Request().Context(), u, in.Type, in.Name, in.MemberIds)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"Conversation": toWireConversation(conv)})
}

func (h handlers) list(c echo.Context, u chimeaccounts.User) error {
	limit, token, err := page(c)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	list, next, err := h.s.ListConversations(c.Request().Context(), u, token, limit)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	out := make([]wireConversation, len(list))
	for i, conv := range list {
		out[i] = toWireConversation(conv)
	}
	return c.JSON(http.StatusOK, map[string]any{"Conversations": out, "NextToken": next})
}

func (h handlers) get(c echo.Context, u chimeaccounts.User) error {
	conv, err := h.s.GetConversation(c.Request().Context(), u, c.Param("conversationId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Conversation": toWireConversation(conv)})
}

func (h handlers) addMembers(c echo.Context, u chimeaccounts.User) error {
	var in struct{ MemberIds []string }
	if err := decode(c, &in); err != nil {
		return awsproto.ClientError(c, err)
	}
	if err := h.s.AddMembers(c.Request().Context(), u, c.Param("conversationId"), in.MemberIds); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) leave(c echo.Context, u chimeaccounts.User) error {
	if err := h.s.Leave(c.Request().Context(), u, c.Param("conversationId"), c.Param("memberId")); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) post(c echo.Context, u chimeaccounts.User) error {
	var in struct{ Content string }
	if err := decode(c, &in); err != nil {
		return awsproto.ClientError(c, err)
	}
	msg, err := h.s.PostMessage(c.Request().Context(), u, c.Param("conversationId"), in.Content)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Message": toWireMessage(msg)})
}

func (h handlers) listMessages(c echo.Context, u chimeaccounts.User) error {
	limit, token, err := page(c)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	list, next, err := h.s.ListMessages(c.Request().Context(), u, c.Param("conversationId"), token, limit)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	out := make([]wireMessage, len(list))
	for i, m := range list {
		out[i] = toWireMessage(m)
	}
	return c.JSON(http.StatusOK, map[string]any{"Messages": out, "NextToken": next})
}

func (h handlers) edit(c echo.Context, u chimeaccounts.User) error {
	var in struct{ Content string }
	if err := decode(c, &in); err != nil {
		return awsproto.ClientError(c, err)
	}
	msg, err := h.s.EditMessage(c.Request().Context(), u, c.Param("conversationId"), c.Param("messageId"), in.Content)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Message": toWireMessage(msg)})
}

func (h handlers) deleteMessage(c echo.Context, u chimeaccounts.User) error {
	if err := h.s.DeleteMessage(c.Request().Context(), u, c.Param("conversationId"), c.Param("messageId")); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// Operations are the slice's admin API route table: RedactConversationMessage.
func (s *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{{Name: "RedactConversationMessage", Method: http.MethodPost,
		Path: "/accounts/:accountId/conversations/:conversationId/messages/:messageId", Query: "redact",
		Fn: func(k *awsproto.Call) (int, any, error) {
			err := s.RedactConversationMessage(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("conversationId"), k.Param("messageId"), k.Caller.ARN())
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, nil, nil
		}}}
}
