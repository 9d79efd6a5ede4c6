package dataexports

import (
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// wireExport is an export on the wire.
type wireExport struct {
	ExportId, AccountId, Status, RequestedTimestamp string
	UserId                                          string `json:",omitempty"`
	ReadyTimestamp, ExpiresTimestamp                string `json:",omitempty"`
	AttachmentCount                                 *int   `json:",omitempty"`
	// ListingUrl is the pre-signed link to the listing file while it is valid.
	ListingUrl string `json:",omitempty"`
	// ErrorMessage says why a Failed export failed.
	ErrorMessage string `json:",omitempty"`
}

func (s *Service) toWire(e attachment.Export, withURL bool) wireExport {
	w := wireExport{ExportId: e.ExportID, AccountId: e.AccountID, Status: e.Status, RequestedTimestamp: awsproto.Timestamp(e.RequestedAt), UserId: e.UserID,
		ErrorMessage: e.Error}
	if e.Status == attachment.ExportReady {
		n := e.Attachments
		w.ReadyTimestamp, w.ExpiresTimestamp, w.AttachmentCount = awsproto.Timestamp(e.ReadyAt), awsproto.Timestamp(e.ExpiresAt), &n
		if withURL && s.d.Now().Before(e.ExpiresAt) {
			w.ListingUrl = s.ListingURL(e)
		}
	}
	return w
}

// Operations are the console operations (Chime admin API, signing name chime).
func (s *Service) Operations() []awsproto.Operation {
	const path = "/console/accounts/:accountId/data-exports"
	return []awsproto.Operation{
		{Name: "StartDataExport", Method: http.MethodPost, Path: path, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ UserId *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			user := ""
			if in.UserId != nil {
				if user = *in.UserId; user == "" {
					return 0, nil, awsproto.BadRequest("UserId must name a user of the account; leave it out for every user")
				}
			}
			e, err := s.Start(k.Ctx, k.AWSAccount(), k.Param("accountId"), user, k.Caller.ARN())
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, map[string]any{"DataExport": s.toWire(e, false)}, nil
		}},
		{Name: "RetrieveDataExport", Method: http.MethodGet, Path: path, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			list, err := s.Retrieve(k.Ctx, k.AWSAccount(), k.Param("accountId"))
			if err != nil {
				return 0, nil, err
			}
			out := make([]wireExport, len(list))
			for i, e := range list {
				out[i] = s.toWire(e, true)
			}
			return http.StatusOK, map[string]any{"DataExports": out}, nil
		}},
	}
}

// URLRoutes are the pre-signed URLs (no credentials: the signature is the authority), mounted like
// the incoming webhooks.
func (s *Service) URLRoutes() []clientapi.Route {
	return []clientapi.Route{
		{Method: http.MethodGet, Path: "/exports/v1/:exportId/attachments.txt", Handler: func(c echo.Context) error {
			r, size, err := s.Listing(c.Request().Context(), c.Param("exportId"), c.QueryParam("Expires"), c.QueryParam("Signature"))
			if err != nil {
				return awsproto.ClientError(c, err)
			}
			defer r.Close()
			h := c.Response().Header()
			h.Set(echo.HeaderContentType, "text/plain; charset=utf-8")
			h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
			h.Set(echo.HeaderContentDisposition, `attachment; filename="attachments.txt"`)
			h.Set("Cache-Control", "no-store")
			c.Response().WriteHeader(http.StatusOK)
			_, err = io.Copy(c.Response(), r)
			return err
		}},
		{Method: http.MethodGet, Path: "/exports/v1/:exportId/attachments/:attachmentId", Handler: func(c echo.Context) error {
			a, m, r, err := s.Download(c.Request().Context(), c.Param("exportId"), c.Param("attachmentId"), c.QueryParam("Expires"), c.QueryParam("Signature"))
			if err != nil {
				return awsproto.ClientError(c, err)
			}
			defer r.Close()
			h := c.Response().Header()
			h.Set(echo.HeaderContentType, a.ContentType)
			h.Set(echo.HeaderContentLength, strconv.FormatInt(a.Size, 10))
			h.Set(echo.HeaderContentDisposition, clientapi.Attachment(m.Name))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Content-Security-Policy", "sandbox")
			h.Set("Cache-Control", "no-store")
			h.Set("ETag", `"`+m.SHA256+`"`)
			h.Set("Last-Modified", a.CreatedAt.UTC().Format(http.TimeFormat))
			c.Response().WriteHeader(http.StatusOK)
			_, err = io.Copy(c.Response(), r)
			return err
		}},
	}
}
