// Package clientapi is what the slices with routes on the end-user client API (/client/v1) and on
// the incoming-webhook URLs share, and nothing else: the Route they declare, and the bearer session
// check (WithSession) with its 401 answer. The client API is not SigV4: end users hold a password
// and then a session token, which the client slice issues and checks (it implements Authenticator).
//
// Package api mounts the routes: the client API's under /client/v1, the webhooks' at the root, both
// behind awsproto.GuardClient (path, query and body validated and bounded before a handler runs).
package clientapi

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Route is one route: its method, its path (relative to /client/v1 for the client API) and its handler.
type Route struct {
	Method, Path string
	Handler      echo.HandlerFunc
	// MaxBody bounds the body of an upload route (0: the server's MaxUploadBytes).
	MaxBody int64
}

// Authenticator checks a bearer session token and answers with the signed-in user.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (chimeaccounts.User, error)
}

// Unauthorized answers 401 UnauthorizedClientException.
func Unauthorized(c echo.Context, msg string) error {
	c.Response().Header().Set("X-Amzn-ErrorType", "UnauthorizedClientException")
	return c.JSON(http.StatusUnauthorized, map[string]string{"Code": "Unauthorized", "Message": msg})
}

// WithSession runs fn for a request that carries a valid bearer session token, and answers 401
// otherwise.
func WithSession(auth Authenticator, fn func(c echo.Context, u chimeaccounts.User) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			return Unauthorized(c, "a Bearer session token is required")
		}
		u, err := auth.Authenticate(c.Request().Context(), tok)
		if err != nil && domain.KindOf(err) == 0 {
			// A failure to check (the database unreachable), not a refusal: a 5xx the client retries,
			// never a 401 that tells it to sign in again.
			return awsproto.ClientError(c, err)
		}
		if err != nil {
			return Unauthorized(c, awsproto.ToWire(err).Msg)
		}
		return fn(c, u)
	}
}

// ServeFile answers a download: the stored file's bytes as an attachment (never rendered inline: a
// sandbox policy and nosniff), stored by no cache, its length, and its SHA-256 as the ETag. A chunk that does not open
// cuts the body short; the Content-Length tells the client.
func ServeFile(c echo.Context, name, contentType, sha256 string, size int64, r io.Reader) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	h.Set(echo.HeaderContentDisposition, Attachment(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("ETag", `"`+sha256+`"`)
	// A message's file is destroyed by redaction, retention, expiry or burn-on-read: no cache (the
	// browser's, a proxy's) may keep a copy that outlives it.
	h.Set("Cache-Control", "private, no-store")
	c.Response().WriteHeader(http.StatusOK)
	_, err := io.Copy(c.Response(), r)
	return err
}
