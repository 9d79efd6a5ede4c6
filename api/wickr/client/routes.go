package client

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
)

// Input bounds of the client API (characters).
const (
	MaxToken     = 512
	MaxEmail     = 320
	MaxAppID     = 256
	MaxCompanyID = 128
)

// DeviceTypes are the operating systems a device may report (the model's BasicDeviceObject.type).
var DeviceTypes = []string{"MacOSX", "Windows", "Linux", "iOS", "Android"}

// Routes are the slice's routes on the client API (under /client/v1).
func (s *Service) Routes() []clientapi.Route {
	h := handlers{s}
	return []clientapi.Route{
		{Method: http.MethodPost, Path: "/wickr/registrations", Handler: h.register},
		{Method: http.MethodPost, Path: "/wickr/sessions", Handler: h.signIn},
		{Method: http.MethodDelete, Path: "/wickr/sessions/current", Handler: h.withSession(h.signOut)},
		{Method: http.MethodGet, Path: "/wickr/me", Handler: h.withSession(h.me)},
		{Method: http.MethodPost, Path: "/wickr/sso/authorizations", Handler: h.startSSO},
		{Method: http.MethodPost, Path: "/wickr/guests/registrations", Handler: h.registerGuest},
		{Method: http.MethodPost, Path: "/wickr/guests/sessions", Handler: h.signInGuest},
		{Method: http.MethodPost, Path: "/wickr/password-resets", Handler: h.requestReset},
		{Method: http.MethodPost, Path: "/wickr/password-resets/confirm", Handler: h.confirmReset},
	}
}

// CallbackRoutes are the routes at the root: the networks' SSO redirect URI (api/wickr/sso
// RedirectURL), where the provider sends the browser back with the code.
func (s *Service) CallbackRoutes() []clientapi.Route {
	return []clientapi.Route{{Method: http.MethodGet, Path: "/wickr/networks/:networkId/oidc/callback", Handler: handlers{s}.callback}}
}

type handlers struct{ s *Service }

// fail answers an error in the client API's shape (wickrproto.ClientError).
func fail(c echo.Context, err error) error { return wickrproto.ClientError(c, err) }

// text checks one member: required or not, at most max characters.
func text(field, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return wickr.Invalid(field, "is required")
	case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
		return wickr.Invalid(field, "must be text without NUL characters")
	case utf8.RuneCountInString(v) > max:
		return wickr.Invalid(field, "must be at most %d characters", max)
	}
	return nil
}

func device(appID, typ string) (Device, error) {
	if err := text("AppId", appID, true, MaxAppID); err != nil {
		return Device{}, err
	}
	if !slices.Contains(DeviceTypes, typ) {
		return Device{}, wickr.Invalid("DeviceType", "must be one of %s", strings.Join(DeviceTypes, ", "))
	}
	return Device{AppID: appID, Type: typ}, nil
}

func bind(c echo.Context, in any) error {
	if err := c.Bind(in); err != nil {
		return awsproto.BadRequest("the body must be a JSON object")
	}
	return nil
}

func (h handlers) register(c echo.Context) error {
	var in struct{ Token, Password, AppId, DeviceType string }
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	dev, err := device(in.AppId, in.DeviceType)
	for _, e := range []error{text("Token", in.Token, true, MaxToken), text("Password", in.Password, true, MaxPassword), err} {
		if e != nil {
			return fail(c, e)
		}
	}
	out, err := h.s.Register(c.Request().Context(), in.Token, in.Password, dev)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, signedIn(out))
}

func signedIn(s SignedIn) map[string]string {
	if s.GuestHash != "" {
		return map[string]string{"SessionToken": s.Token, "GuestHash": s.GuestHash}
	}
	return map[string]string{"SessionToken": s.Token, "NetworkId": s.NetworkID, "UserId": s.UserID}
}

// guestInput reads a guest registration or sign-in: {Email, Password, AppId, DeviceType}.
func guestInput(c echo.Context) (email, password string, dev Device, err error) {
	var in struct{ Email, Password, AppId, DeviceType string }
	if err := bind(c, &in); err != nil {
		return "", "", Device{}, err
	}
	dev, err = device(in.AppId, in.DeviceType)
	for _, e := range []error{text("Email", in.Email, true, MaxEmail), text("Password", in.Password, true, MaxPassword), err} {
		if e != nil {
			return "", "", Device{}, e
		}
	}
	return in.Email, in.Password, dev, nil
}

func (h handlers) registerGuest(c echo.Context) error {
	email, password, dev, err := guestInput(c)
	if err != nil {
		return fail(c, err)
	}
	out, err := guests{h.s}.register(c.Request().Context(), email, password, dev)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, signedIn(out))
}

func (h handlers) signInGuest(c echo.Context) error {
	email, password, dev, err := guestInput(c)
	if err != nil {
		return fail(c, err)
	}
	out, err := guests{h.s}.signIn(c.Request().Context(), email, password, dev, c.RealIP())
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, signedIn(out))
}

func (h handlers) signIn(c echo.Context) error {
	var in struct{ Email, Password, NetworkId, AppId, DeviceType string }
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	dev, err := device(in.AppId, in.DeviceType)
	for _, e := range []error{text("Email", in.Email, true, MaxEmail), text("Password", in.Password, true, MaxPassword),
		text("NetworkId", in.NetworkId, false, 8), err} {
		if e != nil {
			return fail(c, e)
		}
	}
	if in.NetworkId != "" {
		if err := wickr.ValidNetworkID("NetworkId", in.NetworkId); err != nil {
			return fail(c, err)
		}
	}
	out, err := h.s.SignIn(c.Request().Context(), in.Email, in.Password, in.NetworkId, dev, c.RealIP())
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, signedIn(out))
}

// withSession runs fn for a request with an open session (bearer token), and answers 401 otherwise.
func (h handlers) withSession(fn func(c echo.Context, me Me, token string) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || len(tok) > MaxToken {
			return clientapi.Unauthorized(c, "a Bearer session token is required")
		}
		me, err := h.s.Authenticate(c.Request().Context(), tok)
		if err != nil {
			return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
		}
		return fn(c, me, tok)
	}
}

func (h handlers) me(c echo.Context, me Me, _ string) error {
	if me.GuestHash != "" {
		return c.JSON(http.StatusOK, map[string]any{"Guest": map[string]any{"Username": me.Username, "GuestHash": me.GuestHash, "AppId": me.AppID}})
	}
	return c.JSON(http.StatusOK, map[string]any{"User": map[string]any{"NetworkId": me.NetworkID, "UserId": me.UserID,
		"Username": me.Username, "SecurityGroupId": me.GroupID, "AppId": me.AppID, "SSO": me.SSO},
		"DataRetentionNotice": me.DataRetention})
}

func (h handlers) signOut(c echo.Context, _ Me, tok string) error {
	if err := h.s.SignOut(c.Request().Context(), tok); err != nil {
		return fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) startSSO(c echo.Context) error {
	var in struct{ CompanyId, AppId, DeviceType string }
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	dev, err := device(in.AppId, in.DeviceType)
	for _, e := range []error{text("CompanyId", in.CompanyId, true, MaxCompanyID), err} {
		if e != nil {
			return fail(c, e)
		}
	}
	url, state, err := h.s.StartSSO(c.Request().Context(), in.CompanyId, dev)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"AuthorizationUrl": url, "State": state})
}

func (h handlers) callback(c echo.Context) error {
	if e := c.QueryParam("error"); e != "" {
		return fail(c, h.s.ProviderRefused(c.Param("networkId"), c.QueryParam("state"), e))
	}
	code, state := c.QueryParam("code"), c.QueryParam("state")
	for _, e := range []error{text("code", code, true, 4096), text("state", state, true, MaxToken), wickr.ValidNetworkID("networkId", c.Param("networkId"))} {
		if e != nil {
			return fail(c, e)
		}
	}
	out, err := h.s.FinishSSO(c.Request().Context(), c.Param("networkId"), code, state)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, signedIn(out))
}

// resetAccepted is the one answer to a password-reset request, whoever the address is.
const resetAccepted = "If the address is that of an active user of a network that signs in with a password, a reset link valid 24 hours " +
	"is on its way to it. A password reset is a full account reset. Users of a network with single sign-on reset their password at their identity provider."

// requestReset answers 202 and resetAccepted to every request it takes (Resets.Request).
func (h handlers) requestReset(c echo.Context) error {
	var in struct{ Email, NetworkId string }
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	for _, e := range []error{text("Email", in.Email, true, MaxEmail), text("NetworkId", in.NetworkId, false, 8)} {
		if e != nil {
			return fail(c, e)
		}
	}
	if in.NetworkId != "" {
		if err := wickr.ValidNetworkID("NetworkId", in.NetworkId); err != nil {
			return fail(c, err)
		}
	}
	if err := PasswordResets(h.s).Request(c.Request().Context(), in.Email, in.NetworkId, c.RealIP()); err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"Message": resetAccepted})
}

func (h handlers) confirmReset(c echo.Context) error {
	var in struct{ Token, Password string }
	if err := bind(c, &in); err != nil {
		return fail(c, err)
	}
	for _, e := range []error{text("Token", in.Token, true, MaxToken), text("Password", in.Password, true, MaxPassword)} {
		if e != nil {
			return fail(c, e)
		}
	}
	networkID, userID, err := PasswordResets(h.s).Confirm(c.Request().Context(), in.Token, in.Password)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"NetworkId": networkID, "UserId": userID})
}
