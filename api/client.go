package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/chime/wire"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ClientAuth is what the end-user client API needs: registration from an invitation, sign-in and
// session checks. It is not SigV4: end users hold a password and then a bearer session token.
type ClientAuth interface {
	Register(ctx context.Context, token, password, displayName string) (chimeaccounts.User, error)
	// SignIn checks a password; sourceIP is the caller's address (failures are throttled per e-mail
	// address and per source).
	SignIn(ctx context.Context, email, password, sourceIP string) (token, userID, accountID string, err error)
	Authenticate(ctx context.Context, token string) (chimeaccounts.User, error)
}

func mountClient(e *echo.Echo, svc ClientAuth, routes []clientapi.Route) {
	g := e.Group("/client/v1", awsproto.GuardClient(awsproto.MaxClientBodyBytes))
	g.POST("/registrations", func(c echo.Context) error {
		var in struct{ Token, Password, DisplayName string }
		if err := c.Bind(&in); err != nil || in.Token == "" {
			return awsproto.ClientError(c, awsproto.BadRequest("Token and Password are required"))
		}
		u, err := svc.Register(c.Request().Context(), in.Token, in.Password, in.DisplayName)
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusCreated, map[string]any{"User": wire.ToUser(u)})
	})
	g.POST("/sessions", func(c echo.Context) error {
		var in struct{ Email, Password string }
		if err := c.Bind(&in); err != nil || in.Email == "" {
			return awsproto.ClientError(c, awsproto.BadRequest("Email and Password are required"))
		}
		tok, uid, aid, err := svc.SignIn(c.Request().Context(), in.Email, in.Password, c.RealIP())
		if err != nil {
			return awsproto.ClientError(c, err)
		}
		return c.JSON(http.StatusCreated, map[string]string{"SessionToken": tok, "UserId": uid, "AccountId": aid})
	})
	g.GET("/me", clientapi.WithSession(svc, func(c echo.Context, u chimeaccounts.User) error {
		return c.JSON(http.StatusOK, map[string]any{"User": wire.ToUser(u)})
	}))
	for _, r := range routes {
		g.Add(r.Method, r.Path, r.Handler)
	}
}
