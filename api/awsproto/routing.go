package awsproto

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// UnknownRouteHandler serves an unrouted admin path through the API its credential scope names
// (the first service unless the scope names another): verified, authorised as UnknownOperation,
// answered 404, audited.
func UnknownRouteHandler(services ...*Service) func(c echo.Context) error {
	return func(c echo.Context) error {
		api := services[0]
		scope := scopeField(c.Request().Header.Get("Authorization"), 3)
		for _, s := range services[1:] {
			if scope == s.service {
				api = s
			}
		}
		return api.Serve(c, unknownPathOp(c.Request().Method, c.Request().URL.Path))
	}
}

// unknownPathOp answers a path no operation serves, once the caller is authenticated.
func unknownPathOp(method, path string) Operation {
	return Operation{Name: "UnknownOperation", unauthorized: true, Fn: func(*Call) (int, any, error) {
		return 0, nil, &WireError{Status: http.StatusNotFound, Type: "UnknownOperationException", Code: "NotFound",
			Msg: "no operation at " + method + " " + path}
	}}
}

// scopeField is one field of an Authorization header's credential scope <key>/<date>/<region>/<service>/
// aws4_request: 2 is the region, 3 the service ("" for none).
func scopeField(auth string, i int) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(rest), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[i]
}

// Paged adds NextToken to a list response when there is a next page.
func Paged(resp map[string]any, next string) map[string]any {
	if next != "" {
		resp["NextToken"] = next
	}
	return resp
}

// Deref is the string a pointer holds ("" for nil): optional members of a request body.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
