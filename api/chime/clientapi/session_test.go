package clientapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type authFunc func(ctx context.Context, token string) (chimeaccounts.User, error)

func (f authFunc) Authenticate(ctx context.Context, token string) (chimeaccounts.User, error) {
	return f(ctx, token)
}

// TestASessionCheckThatFailsIsNotASignOut: a refused session is 401 (sign in again); a check that
// could not be made (the database unreachable) is a 5xx the client retries, not a 401 that would
// send every signed-in client back to its sign-in page during an outage.
func TestASessionCheckThatFailsIsNotASignOut(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{domain.Errorf(domain.KindForbidden, "the session is not valid"), http.StatusUnauthorized},
		{errors.New("dial tcp 127.0.0.1:5432: connection refused"), http.StatusInternalServerError},
	} {
		h := clientapi.WithSession(authFunc(func(context.Context, string) (chimeaccounts.User, error) { return chimeaccounts.User{}, tc.err }),
			func(c echo.Context, _ chimeaccounts.User) error { return c.NoContent(http.StatusOK) })
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		if err := h(echo.New().NewContext(req, rec)); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.want {
			t.Fatalf("%v: %d, want %d", tc.err, rec.Code, tc.want)
		}
	}
}
