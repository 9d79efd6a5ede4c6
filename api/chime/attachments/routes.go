package attachments

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ClientRoutes are the download and list routes (under /client/v1, behind GuardClient).
func (s *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	var out []clientapi.Route
	for _, k := range []struct{ kind, base string }{{"conversation", "/conversations/:conversationId"}, {"room", "/rooms/:roomId"}} {
		kind := k.kind
		out = append(out,
			clientapi.Route{Method: http.MethodGet, Path: k.base + "/attachments", Handler: clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
				list, err := s.List(c.Request().Context(), u, Container{kind, param(c, kind)})
				if err != nil {
					return awsproto.ClientError(c, err)
				}
				return c.JSON(http.StatusOK, map[string]any{"Attachments": list})
			})},
			clientapi.Route{Method: http.MethodGet, Path: k.base + "/attachments/:attachmentId", Handler: clientapi.WithSession(auth, func(c echo.Context, u chimeaccounts.User) error {
				return s.download(c, u, Container{kind, param(c, kind)})
			})})
	}
	return out
}

// UploadRoutes are the upload routes (paths under /client/v1, mounted behind awsproto.GuardUpload).
func (s *Service) UploadRoutes(auth clientapi.Authenticator) []clientapi.Route {
	var out []clientapi.Route
	for _, k := range []struct{ kind, base string }{{"conversation", "/conversations/:conversationId"}, {"room", "/rooms/:roomId"}} {
		kind := k.kind
		out = append(out, clientapi.Route{Method: http.MethodPost, Path: k.base + "/attachments", Handler: clientapi.WithSession(auth,
			func(c echo.Context, u chimeaccounts.User) error {
				f := File{Name: c.QueryParam("name"), ContentType: c.Request().Header.Get(echo.HeaderContentType), Text: c.QueryParam("content")}
				info, err := s.Upload(c.Request().Context(), u, Container{kind, param(c, kind)}, f, c.Request().Body)
				if err != nil {
					var mb *http.MaxBytesError
					if errors.As(err, &mb) || errors.Is(err, attachment.ErrTooLarge) {
						return awsproto.ClientError(c, &awsproto.WireError{Status: http.StatusRequestEntityTooLarge, Type: "BadRequestException",
							Code: "BadRequest", Msg: "the attachment is over " + strconv.Itoa(MaxBytes) + " bytes"})
					}
					return awsproto.ClientError(c, err)
				}
				return c.JSON(http.StatusCreated, map[string]any{"Attachment": info})
			})})
	}
	return out
}

func (s *Service) download(c echo.Context, u chimeaccounts.User, ct Container) error {
	info, r, err := s.Download(c.Request().Context(), u, ct, c.Param("attachmentId"))
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	defer r.Close()
	return clientapi.ServeFile(c, info.Name, info.ContentType, info.Sha256, info.Size, r)
}

// param is the container's id in the path.
func param(c echo.Context, kind string) string {
	if kind == "room" {
		return c.Param("roomId")
	}
	return c.Param("conversationId")
}
