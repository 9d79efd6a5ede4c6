package messaging

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// Input bounds (Belfry's: the guide gives none for text).
const (
	// MaxText bounds a message's text (bytes of UTF-8).
	MaxText = 10_000
	// MaxFileName bounds an attachment's name (characters).
	MaxFileName = 255
	maxToken    = 512
	maxID       = 64
)

// Routes are the slice's routes on the client API (under /client/v1).
func (s *Service) Routes() []clientapi.Route {
	h := handlers{s}
	const c = "/wickr/conversations"
	return []clientapi.Route{
		{Method: http.MethodPost, Path: c, Handler: h.session(h.create)},
		{Method: http.MethodGet, Path: c, Handler: h.session(h.list)},
		{Method: http.MethodGet, Path: c + "/:conversationId", Handler: h.session(h.get)},
		{Method: http.MethodPost, Path: c + "/:conversationId/members", Handler: h.session(h.addMembers)},
		{Method: http.MethodDelete, Path: c + "/:conversationId/members/me", Handler: h.session(h.leave)},
		{Method: http.MethodPost, Path: c + "/:conversationId/members/remove", Handler: h.session(h.moderate(Moderation.Remove))},
		{Method: http.MethodPost, Path: c + "/:conversationId/moderators", Handler: h.session(h.moderate(Moderation.Promote))},
		{Method: http.MethodPost, Path: c + "/:conversationId/messages", Handler: h.session(h.post)},
		{Method: http.MethodGet, Path: c + "/:conversationId/messages", Handler: h.session(h.messages)},
		{Method: http.MethodPost, Path: c + "/:conversationId/read", Handler: h.session(h.read)},
		h.downloadRoute(),
		h.previewRoute(),
	}
}

type handlers struct{ s *Service }

// fail answers an error in the client API's shape (wickrproto.ClientError).
func fail(c echo.Context, err error) error { return wickrproto.ClientError(c, err) }

func (h handlers) session(fn func(c echo.Context, me Caller) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || len(tok) > maxToken {
			return clientapi.Unauthorized(c, "a Bearer session token is required")
		}
		me, err := h.s.d.Sessions.Authenticate(c.Request().Context(), tok)
		if err != nil {
			return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
		}
		return fn(c, me)
	}
}

// text checks one member: required or not, at most max bytes, valid UTF-8 without NUL.
func text(field, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return wickr.Invalid(field, "is required")
	case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
		return wickr.Invalid(field, "must be text without NUL characters")
	case len(v) > max:
		return wickr.Invalid(field, "must be at most %d bytes", max)
	}
	return nil
}

func bind(c echo.Context, in any) error {
	if err := c.Bind(in); err != nil {
		return awsproto.BadRequest("the body must be a JSON object of the documented members")
	}
	return nil
}

func conversationID(c echo.Context) (string, error) {
	id := c.Param("conversationId")
	return id, text("conversationId", id, true, maxID)
}

// memberIn is one member of a request: a user of a network, or a guest by username.
type memberIn struct{ NetworkId, UserId, GuestUsername string }

func participants(in []memberIn) ([]conversation.Participant, error) {
	if len(in) > conversation.MaxMembers {
		return nil, wickr.Invalid("Members", "at most %d members", conversation.MaxMembers)
	}
	out := make([]conversation.Participant, len(in))
	for i, m := range in {
		p, err := participant(fmt.Sprintf("Members[%d].", i), m)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// participant checks one member named in a request; f prefixes its fields ("Members[0].").
func participant(f string, m memberIn) (conversation.Participant, error) {
	if m.GuestUsername != "" {
		u, err := wickr.NormalizeUsername(f+"GuestUsername", m.GuestUsername)
		if err != nil {
			return conversation.Participant{}, err
		}
		return conversation.Participant{GuestHash: wickr.UsernameHash(u)}, nil
	}
	if err := wickr.ValidNetworkID(f+"NetworkId", m.NetworkId); err != nil {
		return conversation.Participant{}, err
	}
	if err := wickr.ValidNumericID(f+"UserId", m.UserId); err != nil {
		return conversation.Participant{}, err
	}
	return conversation.Participant{NetworkID: m.NetworkId, UserID: m.UserId}, nil
}

func (h handlers) create(c echo.Context, me Caller) error {
	var in struct {
		Kind, Title string
		Members     []memberIn
	}
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	if err := text("Title", in.Title, false, 4*conversation.MaxTitle); err != nil {
		return fail(c, err)
	}
	members, err := participants(in.Members)
	if err != nil {
		return fail(c, err)
	}
	v, err := h.s.Create(c.Request().Context(), me, in.Kind, in.Title, members)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Conversation": viewWire(v)})
}

func (h handlers) list(c echo.Context, me Caller) error {
	after := c.QueryParam("NextToken")
	if err := text("NextToken", after, false, maxID); err != nil {
		return fail(c, err)
	}
	limit, err := maxResults(c)
	if err != nil {
		return fail(c, err)
	}
	list, next, err := h.s.List(c.Request().Context(), me, after, limit)
	if err != nil {
		return fail(c, err)
	}
	out := make([]map[string]any, len(list))
	for i, cv := range list {
		out[i] = convWire(cv)
	}
	return c.JSON(http.StatusOK, map[string]any{"Conversations": out, "NextToken": next})
}

func maxResults(c echo.Context) (int, error) {
	v := c.QueryParam("MaxResults")
	if v == "" {
		return MaxList, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxList {
		return 0, wickr.Invalid("MaxResults", "must be 1 to %d", MaxList)
	}
	return n, nil
}

func (h handlers) get(c echo.Context, me Caller) error {
	id, err := conversationID(c)
	if err != nil {
		return fail(c, err)
	}
	v, err := h.s.Get(c.Request().Context(), me, id)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Conversation": viewWire(v)})
}

func (h handlers) addMembers(c echo.Context, me Caller) error {
	var in struct{ Members []memberIn }
	id, err := conversationID(c)
	if err == nil {
		err = bind(c, &in)
	}
	if err != nil {
		return fail(c, err)
	}
	members, err := participants(in.Members)
	if err != nil {
		return fail(c, err)
	}
	v, err := h.s.AddMembers(c.Request().Context(), me, id, members)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Conversation": viewWire(v)})
}

func (h handlers) leave(c echo.Context, me Caller) error {
	id, err := conversationID(c)
	if err == nil {
		err = h.s.Leave(c.Request().Context(), me, id)
	}
	if err != nil {
		return fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// moderate is a moderator's action on one member named by {"Member": {...}}; it answers the room.
func (h handlers) moderate(act func(Moderation, context.Context, Caller, string, conversation.Participant) (View, error)) func(echo.Context, Caller) error {
	return func(c echo.Context, me Caller) error {
		var in struct{ Member *memberIn }
		id, err := conversationID(c)
		if err == nil {
			err = bind(c, &in)
		}
		if err == nil && in.Member == nil {
			err = wickr.Invalid("Member", "is required")
		}
		var p conversation.Participant
		if err == nil {
			p, err = participant("Member.", *in.Member)
		}
		if err != nil {
			return fail(c, err)
		}
		v, err := act(Moderate(h.s), c.Request().Context(), me, id, p)
		if err != nil {
			return fail(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"Conversation": viewWire(v)})
	}
}

func participantWire(p conversation.Participant) map[string]string {
	if p.Guest() {
		return map[string]string{"GuestHash": p.GuestHash}
	}
	return map[string]string{"NetworkId": p.NetworkID, "UserId": p.UserID}
}

func convWire(cv wickrconversations.Conversation) map[string]any {
	out := map[string]any{"ConversationId": cv.ID, "Kind": cv.Kind, "Title": cv.Title, "CreatedBy": participantWire(ParseKey(cv.CreatedBy)),
		"CreatedAt": cv.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !cv.LastMessageAt.IsZero() {
		out["LastMessageAt"] = cv.LastMessageAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func viewWire(v View) map[string]any {
	out := convWire(v.Conversation)
	ms := make([]map[string]string, len(v.Members))
	for i, m := range v.Members {
		ms[i] = participantWire(m)
	}
	out["Members"] = ms
	if v.Kind == conversation.KindRoom {
		mods := make([]map[string]string, len(v.Moderators))
		for i, m := range v.Moderators {
			mods[i] = participantWire(m)
		}
		out["Moderators"] = mods
	}
	return out
}
