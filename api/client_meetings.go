package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// ClientMeetings is what the client API's meeting scheduling needs (what the calendar add-ins do:
// schedule a meeting with the organiser's PIN and produce the invite). Meetings are visible to the
// members of the organiser's account.
type ClientMeetings interface {
	ScheduleMeeting(ctx context.Context, organizer chimeaccounts.User, title string, startsAt time.Time) (chimemeetings.Meeting, error)
	MyMeetings(ctx context.Context, u chimeaccounts.User) ([]chimemeetings.Meeting, error)
	GetMeeting(ctx context.Context, u chimeaccounts.User, id string) (chimemeetings.Meeting, error)
	StartMeeting(ctx context.Context, by chimeaccounts.User, id string) (chimemeetings.Meeting, error)
	CancelMeeting(ctx context.Context, by chimeaccounts.User, id string) error
}

// AdminMeetings is the console's view of an account's meetings.
type AdminMeetings interface {
	ListMeetings(ctx context.Context, awsAccountID, accountID, organizerID string) ([]chimemeetings.Meeting, error)
}

type wireMeeting struct {
	MeetingId        string
	Title            string
	OrganizerId      string
	StartsAt         string
	MeetingPIN       string
	Status           string
	DisabledReason   string `json:",omitempty"`
	InviteRecipients []string
	InviteText       string
}

func toWireMeeting(m chimemeetings.Meeting) wireMeeting {
	return wireMeeting{MeetingId: m.MeetingID, Title: m.Title, OrganizerId: m.OrganizerID, StartsAt: awsproto.Timestamp(m.StartsAt),
		MeetingPIN: m.PIN, Status: m.Status, DisabledReason: m.DisabledReason,
		InviteRecipients: []string{meeting.InviteAddress, meeting.PINAddress(m.PIN)},
		InviteText: "Join the Amazon Chime meeting: " + m.Title + "\nMeeting PIN: " + m.PIN +
			"\nTo have Chime call you at meeting time, keep " + meeting.InviteAddress + " and " + meeting.PINAddress(m.PIN) + " on the invitation.",
	}
}

func wireMeetings(list []chimemeetings.Meeting) []wireMeeting {
	out := make([]wireMeeting, len(list))
	for i, m := range list {
		out[i] = toWireMeeting(m)
	}
	return out
}

func mountClientMeetings(g *echo.Group, auth ClientAuth, svc ClientMeetings) {
	g.POST("/meetings", clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		var in struct{ Title, StartsAt string }
		if err := c.Bind(&in); err != nil {
			return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with Title and StartsAt"))
		}
		at, err := time.Parse(time.RFC3339, in.StartsAt)
		if err != nil {
			return awsproto.ClientError(c, awsproto.BadRequest("StartsAt must be an RFC 3339 time such as 2026-12-01T15:00:00Z"))
		}
		m, err := svc.ScheduleMeeting(c.Request().Context(), u, in.Title, at)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusCreated, map[string]any{"Meeting": toWireMeeting(m)})
	}))
	g.GET("/meetings", clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		list, err := svc.MyMeetings(c.Request().Context(), u)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"Meetings": wireMeetings(list)})
	}))
	g.GET("/meetings/:id", clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		m, err := svc.GetMeeting(c.Request().Context(), u, c.Param("id"))
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"Meeting": toWireMeeting(m)})
	}))
	g.POST("/meetings/:id/start", clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		m, err := svc.StartMeeting(c.Request().Context(), u, c.Param("id"))
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"Meeting": toWireMeeting(m)})
	}))
	g.DELETE("/meetings/:id", clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
		if err := svc.CancelMeeting(c.Request().Context(), u, c.Param("id")); err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.NoContent(http.StatusNoContent)
	}))
}

func meetingOps(svc AdminMeetings) []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "ListMeetings", Method: http.MethodGet, Path: "/console/accounts/:accountId/meetings", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			list, err := svc.ListMeetings(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("organizer-id"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"Meetings": wireMeetings(list)}, nil
		}},
	}
}
