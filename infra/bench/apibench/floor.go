package apibench

import (
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

// startFloor serves the floor on loopback: a plain echo handler that reads one user row with pgx,
// GET /users/:id. It returns the server's base URL and a function that stops it.
func startFloor(pool *pgxpool.Pool) (baseURL string, stop func() error, err error) {
	floor := echo.New()
	floor.HideBanner, floor.HidePort = true, true
	floor.GET("/users/:id", func(c echo.Context) error {
		var email, lic string
		if err := pool.QueryRow(c.Request().Context(), "SELECT email, license_type FROM rm.chime_users WHERE user_id = $1", c.Param("id")).Scan(&email, &lic); err != nil {
			return c.NoContent(http.StatusNotFound)
		}
		return c.JSON(http.StatusOK, map[string]string{"UserId": c.Param("id"), "PrimaryEmail": email, "LicenseType": lic})
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	floorSrv := &http.Server{Handler: floor}
	go func() { _ = floorSrv.Serve(lis) }()
	return "http://" + lis.Addr().String(), floorSrv.Close, nil
}
