package messaging

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/rendition"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr"
)

// UploadRoutes are the routes whose body is a file (under /client/v1, mounted behind
// awsproto.GuardUpload with MaxFileBytes+1):
//
//	POST /wickr/conversations/{id}/attachments?Name=N[&Content=TEXT][&Ttl=S][&Bor=S]  body: the file, Content-Type: its type
//
// answers 201 {"Message"} like a post, the Attachment with its Sha256.
func (s *Service) UploadRoutes() []clientapi.Route {
	h := handlers{s}
	var limit int64 // a nil Service lists its routes (the OpenAPI test)
	if s != nil {
		limit = s.d.MaxFileBytes + 1
	}
	return []clientapi.Route{{Method: http.MethodPost, Path: "/wickr/conversations/:conversationId/attachments", Handler: h.session(h.upload), MaxBody: limit}}
}

// downloadRoute is GET /wickr/conversations/{id}/messages/{messageId}/attachment: the file's bytes.
func (h handlers) downloadRoute() clientapi.Route {
	return clientapi.Route{Method: http.MethodGet, Path: "/wickr/conversations/:conversationId/messages/:messageId/attachment", Handler: h.session(h.download)}
}

// previewRoute is GET /wickr/conversations/{id}/messages/{messageId}/preview: the file's preview
// rendition (a JPEG fitting 512×512) for any member, whatever the group's download setting (§12).
func (h handlers) previewRoute() clientapi.Route {
	return clientapi.Route{Method: http.MethodGet, Path: "/wickr/conversations/:conversationId/messages/:messageId/preview", Handler: h.session(h.preview)}
}

func (h handlers) upload(c echo.Context, me Caller) error {
	id, err := conversationID(c)
	if err != nil {
		return fail(c, err)
	}
	q := c.QueryParams()
	d := Draft{Text: q.Get("Content")}
	if err := text("Content", d.Text, false, MaxText); err != nil {
		return fail(c, err)
	}
	for _, t := range []struct {
		name string
		to   *int64
	}{{"Ttl", &d.TTL}, {"Bor", &d.BOR}} {
		if v := q.Get(t.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fail(c, wickr.Invalid(t.name, "must be a whole number of seconds"))
			}
			*t.to = n
		}
	}
	if c.Request().ContentLength > h.s.Files().MaxFileBytes() {
		return tooLarge(c, h.s.Files().MaxFileBytes())
	}
	u := Upload{Name: q.Get("Name"), ContentType: c.Request().Header.Get(echo.HeaderContentType)}
	m, err := h.s.Files().PostFile(c.Request().Context(), me, id, d, u, c.Request().Body)
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) || errors.Is(err, attachment.ErrTooLarge):
		return tooLarge(c, h.s.Files().MaxFileBytes())
	case err != nil:
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Message": messageWire(m)})
}

func tooLarge(c echo.Context, limit int64) error {
	c.Response().Header().Set("X-Amzn-ErrorType", "ValidationError")
	return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"Code": "ValidationError", "Field": "body",
		"Message": "the file is over this server's bound of " + strconv.FormatInt(limit, 10) + " bytes"})
}

// download answers the file's bytes; X-Belfry-Transfer says which: LowBandwidth, an image's
// compressed rendition for a low-quality reader (a JPEG, its own SHA-256 as the ETag), or
// BestQuality, the original bytes.
func (h handlers) download(c echo.Context, me Caller) error {
	id, mid, err := messageParams(c)
	if err != nil {
		return fail(c, err)
	}
	f, r, err := h.s.Files().Download(c.Request().Context(), me, id, mid)
	if err != nil {
		return fail(c, err)
	}
	defer r.Close()
	c.Response().Header().Set(TransferHeader, f.Transfer)
	return clientapi.ServeFile(c, f.Name, f.ContentType, f.Sha256, f.Size, r)
}

// TransferHeader names, on a download, which bytes it sends (TransferBest or TransferLow).
const TransferHeader = "X-Belfry-Transfer"

// preview answers the preview rendition; a file of which none is made is 415, naming why.
func (h handlers) preview(c echo.Context, me Caller) error {
	id, mid, err := messageParams(c)
	if err != nil {
		return fail(c, err)
	}
	f, jpg, err := h.s.Files().Preview(c.Request().Context(), me, id, mid)
	if errors.Is(err, rendition.ErrUnsupported) {
		c.Response().Header().Set("X-Amzn-ErrorType", "UnsupportedMediaType")
		return c.JSON(http.StatusUnsupportedMediaType, map[string]string{"Code": "UnsupportedMediaType", "Message": awsproto.ToWire(err).Msg})
	}
	if err != nil {
		return fail(c, err)
	}
	return clientapi.ServeFile(c, f.Name, f.ContentType, f.Sha256, f.Size, bytes.NewReader(jpg))
}

// messageParams are the conversation and message ids of a message's route.
func messageParams(c echo.Context) (string, string, error) {
	id, err := conversationID(c)
	if err == nil {
		err = text("messageId", c.Param("messageId"), true, maxID)
	}
	return id, c.Param("messageId"), err
}

func fileWire(f *File) map[string]any {
	out := map[string]any{"Name": f.Name, "ContentType": f.ContentType, "Size": f.Size, "Download": f.Download, "Preview": f.Preview,
		"AutoDownload": f.AutoDownload, "Transfer": f.Transfer, "AutoDownloadMaxBytes": f.AutoDownloadMaxBytes}
	if f.Sha256 != "" {
		out["Sha256"] = f.Sha256
	}
	return out
}
