package clientapi_test

import (
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
)

// TestServeFileIsNeverRenderedNorCached: a downloaded file is an attachment that no browser renders
// or sniffs, and that no cache keeps: it is destroyed by redaction, retention, expiry or burn-on-read,
// and a cached copy would outlive it.
func TestServeFileIsNeverRenderedNorCached(t *testing.T) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
	if err := clientapi.ServeFile(c, "report <1>.html", "text/html", "abc", 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	h := rec.Header()
	for k, want := range map[string]string{"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "sandbox", "Content-Length": "5", "ETag": `"abc"`} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if d := h.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;") {
		t.Errorf("Content-Disposition %q is not an attachment", d)
	}
	if rec.Body.String() != "hello" {
		t.Errorf("body %q", rec.Body.String())
	}
}

// TestServeFileNamesAnyFileParseably: whatever a file is named (a time, an address, an equals sign, a
// quote or a semicolon, letters beyond ASCII), its Content-Disposition is a valid RFC 6266 header from
// which a client reads the name back: RFC 5987's attr-char leaves ':', '@' and '=' out, which
// url.PathEscape kept as they were, so that no standard parser read the header.
func TestServeFileNamesAnyFileParseably(t *testing.T) {
	for _, name := range []string{"report.pdf", "10:30 notes.txt", "mail@host.txt", "a=b.txt", `say "hi"; now.txt`, "Café ☕.txt"} {
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
		if err := clientapi.ServeFile(c, name, "text/plain", "abc", 2, strings.NewReader("hi")); err != nil {
			t.Fatal(err)
		}
		d := rec.Header().Get("Content-Disposition")
		typ, params, err := mime.ParseMediaType(d)
		if err != nil || typ != "attachment" || params["filename"] != name {
			t.Errorf("%q: Content-Disposition %q reads as %q %v %v", name, d, typ, params, err)
		}
	}
}
