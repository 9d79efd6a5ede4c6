package calls

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ClientRoutes are the slice's routes on the client API (under /client/v1), each behind the session
// check of auth.
func (s *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	h := handlers{s}
	route := func(method, path string, fn func(echo.Context, chimeaccounts.User) error) clientapi.Route {
		return clientapi.Route{Method: method, Path: path, Handler: clientapi.WithSession(auth, fn)}
	}
	return []clientapi.Route{
		route(http.MethodPost, "/calls", h.place),
		route(http.MethodGet, "/calls/:callId", h.get),
		route(http.MethodPost, "/calls/:callId/answer", h.answer),
		route(http.MethodDelete, "/calls/:callId", h.hangup),
	}
}

// Operations are the slice's route table on the admin API.
func (s *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateMeetingDialOut", Method: http.MethodPost, Path: "/meetings/:meetingId/dial-outs", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ FromPhoneNumber, ToPhoneNumber, JoinToken *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.FromPhoneNumber == nil || in.ToPhoneNumber == nil || in.JoinToken == nil {
				return 0, nil, awsproto.BadRequest("FromPhoneNumber, ToPhoneNumber and JoinToken are required")
			}
			id, err := s.DialOut(k.Ctx, k.AWSAccount(), k.Param("meetingId"), *in.FromPhoneNumber, *in.ToPhoneNumber, *in.JoinToken)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, map[string]any{"TransactionId": id}, nil
		}},
	}
}

type handlers struct{ s *Service }

type wireLeg struct {
	LegId, Direction, From, To, Status string
	ConnectedAt, EndedAt               *time.Time `json:",omitempty"`
	EndReason                          string     `json:",omitempty"`
}

type wireCall struct {
	CallId, Status string
	PlacedAt       time.Time
	EndedAt        *time.Time `json:",omitempty"`
	Legs           []wireLeg
}

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toWire(st call.State) wireCall {
	w := wireCall{CallId: st.Placed.ConferenceID, Status: "InProgress", PlacedAt: st.Started, EndedAt: ptr(st.Ended)}
	if !st.Ended.IsZero() {
		w.Status = "Ended"
	}
	for _, l := range st.Legs {
		status := "Ringing"
		switch {
		case !l.Ended.IsZero():
			status = "Ended"
		case !l.Connected.IsZero():
			status = "Connected"
		}
		w.Legs = append(w.Legs, wireLeg{LegId: l.LegID, Direction: l.Direction, From: l.From, To: l.To, Status: status,
			ConnectedAt: ptr(l.Connected), EndedAt: ptr(l.Ended), EndReason: l.Reason})
	}
	return w
}

func (h handlers) place(c echo.Context, u chimeaccounts.User) error {
	var in struct{ To string }
	if err := c.Bind(&in); err != nil || in.To == "" {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with To, an E.164 number"))
	}
	aws, err := h.s.awsAccount(c.Request().Context(), u.AccountID)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	st, err := h.s.Place(c.Request().Context(), u, aws, in.To)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Call": toWire(st)})
}

func (h handlers) get(c echo.Context, u chimeaccounts.User) error {
	st, err := h.s.Get(c.Request().Context(), u, c.Param("callId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Call": toWire(st)})
}

func (h handlers) answer(c echo.Context, u chimeaccounts.User) error {
	st, err := h.s.Answer(c.Request().Context(), u, c.Param("callId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Call": toWire(st)})
}

func (h handlers) hangup(c echo.Context, u chimeaccounts.User) error {
	st, err := h.s.Hangup(c.Request().Context(), u, c.Param("callId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Call": toWire(st)})
}
