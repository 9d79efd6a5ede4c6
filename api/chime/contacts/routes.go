package contacts

import (
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// maxEmail bounds the e-mail address of an Add (RFC 5321's path limit).
const maxEmail = 254

// ClientRoutes are the slice's routes on the client API (under /client/v1), each behind the session
// check of auth.
func (s *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	h := handlers{s}
	route := func(method, path string, fn func(echo.Context, chimeaccounts.User) error) clientapi.Route {
		return clientapi.Route{Method: method, Path: path, Handler: clientapi.WithSession(auth, fn)}
	}
	return []clientapi.Route{
		route(http.MethodGet, "/contacts", h.list),
		route(http.MethodPost, "/contacts", h.add),
		route(http.MethodDelete, "/contacts/:userId", h.remove),
		route(http.MethodGet, "/contacts.csv", h.export),
		route(http.MethodPut, "/contacts/:userId/delegate", func(c echo.Context, u chimeaccounts.User) error { return h.delegate(c, u, true) }),
		route(http.MethodDelete, "/contacts/:userId/delegate", func(c echo.Context, u chimeaccounts.User) error { return h.delegate(c, u, false) }),
		route(http.MethodGet, "/delegates", h.delegates),
	}
}

func (h handlers) delegate(c echo.Context, u chimeaccounts.User, on bool) error {
	id := c.Param("userId")
	if len(id) > 64 || !utf8.ValidString(id) {
		return awsproto.ClientError(c, awsproto.BadRequest("userId must be at most 64 characters of UTF-8"))
	}
	if err := h.s.SetDelegate(c.Request().Context(), u, id, on); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) delegates(c echo.Context, u chimeaccounts.User) error {
	list, err := h.s.Delegates(c.Request().Context(), u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Delegates": toWire(list)})
}

type handlers struct{ s *Service }

type wireContact struct {
	UserId, AccountId, Name, Email string
	PhoneNumber                    *string `json:",omitempty"`
}

func toWire(list []Contact) []wireContact {
	out := make([]wireContact, len(list))
	for i, c := range list {
		out[i] = wireContact{UserId: c.UserID, AccountId: c.AccountID, Name: c.Name, Email: c.Email, PhoneNumber: c.PhoneNumber}
	}
	return out
}

func (h handlers) list(c echo.Context, u chimeaccounts.User) error {
	list, err := h.s.List(c.Request().Context(), u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Contacts": toWire(list)})
}

func (h handlers) add(c echo.Context, u chimeaccounts.User) error {
	var in struct{ UserId, Email string }
	if err := c.Bind(&in); err != nil {
		return awsproto.ClientError(c, awsproto.BadRequest("the body must be a JSON object with UserId or Email"))
	}
	switch {
	case (in.UserId == "") == (in.Email == ""):
		return awsproto.ClientError(c, awsproto.BadRequest("give exactly one of UserId and Email"))
	case len(in.Email) > maxEmail || !utf8.ValidString(in.Email):
		return awsproto.ClientError(c, awsproto.BadRequest("Email must be a valid address of at most 254 bytes"))
	case len(in.UserId) > 64:
		return awsproto.ClientError(c, awsproto.BadRequest("UserId must be at most 64 characters"))
	}
	list, err := h.s.Add(c.Request().Context(), u, in.UserId, in.Email)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"Contacts": toWire(list)})
}

func (h handlers) remove(c echo.Context, u chimeaccounts.User) error {
	if err := h.s.Remove(c.Request().Context(), u, c.Param("userId")); err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// export answers the list as CSV: Name, Email, Phone Number (the Business Calling number, when the
// contact has one).
func (h handlers) export(c echo.Context, u chimeaccounts.User) error {
	list, err := h.s.List(c.Request().Context(), u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	rows := make([][]string, len(list))
	for i, ct := range list {
		phone := ""
		if ct.PhoneNumber != nil {
			phone = *ct.PhoneNumber
		}
		rows[i] = []string{ct.Name, ct.Email, phone}
	}
	return clientapi.CSV(c, "contacts.csv", []string{"Name", "Email", "Phone Number"}, rows)
}
