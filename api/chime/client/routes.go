package client

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/chime/wire"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Routes are the slice's routes on the client API (under /client/v1): registration and sign-in,
// open to anyone, and the signed-in user's own record.
func (s *Service) Routes() []clientapi.Route {
	h := handlers{s}
	return []clientapi.Route{
		{Method: http.MethodPost, Path: "/registrations", Handler: h.register},
		{Method: http.MethodPost, Path: "/sessions", Handler: h.signIn},
		{Method: http.MethodGet, Path: "/me", Handler: clientapi.WithSession(s, h.me)},
	}
}

// handlers are the slice's handlers: the wire in and out around one use case each.
type handlers struct{ s *Service }

func (h handlers) register(c echo.Context) error {
	var in struct{ Token, Password, DisplayName string }
	if err := c.Bind(&in); err != nil || in.Token == "" {
		return awsproto.ClientError(c, awsproto.BadRequest("Token and Password are required"))
	}
	u, err := h.s.Register(c.Request().Context(), in.Token, in.Password, in.DisplayName)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"User": wire.ToUser(u)})
}

func (h handlers) signIn(c echo.Context) error {
	var in struct{ Email, Password string }
	if err := c.Bind(&in); err != nil || in.Email == "" {
		return awsproto.ClientError(c, awsproto.BadRequest("Email and Password are required"))
	}
	// No user has a longer address; the sign-in back-off keeps the address as its key, so a longer
	// one would be up to a whole body of memory per entry.
	if len(in.Email) > account.MaxEmailLength {
		return awsproto.ClientError(c, awsproto.BadRequest(fmt.Sprintf("Email must be at most %d bytes", account.MaxEmailLength)))
	}
	tok, uid, aid, err := h.s.SignIn(c.Request().Context(), in.Email, in.Password, c.RealIP())
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"SessionToken": tok, "UserId": uid, "AccountId": aid})
}

func (h handlers) me(c echo.Context, u chimeaccounts.User) error {
	u, err := h.s.d.Store.GetUserAnyTenant(c.Request().Context(), u.AccountID, u.UserID) // with the PIN
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"User": wire.ToUser(u)})
}
