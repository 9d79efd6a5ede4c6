package meetings

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

type wireMeeting struct {
	MeetingId   string
	Title       string
	OrganizerId string
	StartsAt    string
	MeetingPIN  string
	Moderated   bool
	// ModeratorPasscode is shown to the organiser only.
	ModeratorPasscode string `json:",omitempty"`
	Status            string
	DisabledReason    string `json:",omitempty"`
	InviteRecipients  []string
	InviteText        string
}

// toWireMeeting is a meeting as viewer (a user id; "" for the console) sees it: the moderator
// passcode only for its organiser.
func toWireMeeting(m chimemeetings.Meeting, viewer string) wireMeeting {
	code := ""
	if viewer == m.OrganizerID {
		code = m.Passcode
	}
	return wireMeeting{MeetingId: m.MeetingID, Title: m.Title, OrganizerId: m.OrganizerID, StartsAt: awsproto.Timestamp(m.StartsAt),
		MeetingPIN: m.PIN, Moderated: m.Moderated, ModeratorPasscode: code, Status: m.Status, DisabledReason: m.DisabledReason,
		InviteRecipients: []string{meeting.InviteAddress, meeting.PINAddress(m.PIN)},
		InviteText: "Join the Amazon Chime meeting: " + m.Title + "\nMeeting PIN: " + m.PIN +
			"\nTo have Chime call you at meeting time, keep " + meeting.InviteAddress + " and " + meeting.PINAddress(m.PIN) + " on the invitation.",
	}
}

func wireMeetings(list []chimemeetings.Meeting, viewer string) []wireMeeting {
	out := make([]wireMeeting, len(list))
	for i, m := range list {
		out[i] = toWireMeeting(m, viewer)
	}
	return out
}

func oneMeeting(c echo.Context, u chimeaccounts.User, status int, m chimemeetings.Meeting, err error) error {
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(status, map[string]any{"Meeting": toWireMeeting(m, u.UserID)})
}

// Operations are the slice's route table on the admin API (the console's meeting list).
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "ListMeetings", Method: http.MethodGet, Path: "/console/accounts/:accountId/meetings", ReadOnly: true, Fn: handlers{svc}.listMeetings},
	}
}

// ClientRoutes are the slice's routes on the client API (under /client/v1), each behind the session
// check of auth.
func (svc *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	h := handlers{svc}
	route := func(method, path string, fn func(echo.Context, chimeaccounts.User) error) clientapi.Route {
		return clientapi.Route{Method: method, Path: path, Handler: clientapi.WithSession(auth, fn)}
	}
	return []clientapi.Route{
		route(http.MethodPost, "/meetings", h.schedule),
		route(http.MethodGet, "/meetings", h.mine),
		route(http.MethodGet, "/meetings/:id", h.get),
		route(http.MethodPost, "/meetings/:id/start", h.start),
		route(http.MethodDelete, "/meetings/:id", h.cancel),
		route(http.MethodPost, "/meetings/:id/chat", h.postChat),
		route(http.MethodGet, "/meetings/:id/chat", h.chat),
	}
}

// handlers are the slice's handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) listMeetings(k *awsproto.Call) (int, any, error) {
	list, err := h.svc.ListMeetings(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("organizer-id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"Meetings": wireMeetings(list, "")}, nil
}

func (h handlers) schedule(c echo.Context, u chimeaccounts.User) error {
	var in struct {
		Title, StartsAt string
		Moderated       bool
	}
	if err := c.Bind(&in); err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Title, StartsAt and optionally Moderated"))
	}
	at, err := time.Parse(time.RFC3339, in.StartsAt)
	if err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("StartsAt must be an RFC 3339 time such as 2026-12-01T15:00:00Z"))
	}
	m, err := h.svc.ScheduleMeeting(c.Request().Context(), u, in.Title, at, in.Moderated)
	return oneMeeting(c, u, http.StatusCreated, m, err)
}

func (h handlers) mine(c echo.Context, u chimeaccounts.User) error {
	list, err := h.svc.MyMeetings(c.Request().Context(), u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Meetings": wireMeetings(list, u.UserID)})
}

func (h handlers) get(c echo.Context, u chimeaccounts.User) error {
	m, err := h.svc.GetMeeting(c.Request().Context(), u, c.Param("id"))
	return oneMeeting(c, u, http.StatusOK, m, err)
}

func (h handlers) start(c echo.Context, u chimeaccounts.User) error {
	m, err := h.svc.StartMeeting(c.Request().Context(), u, c.Param("id"))
	return oneMeeting(c, u, http.StatusOK, m, err)
}

func (h handlers) cancel(c echo.Context, u chimeaccounts.User) error {
	if err := h.svc.CancelMeeting(c.Request().Context(), u, c.Param("id")); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
