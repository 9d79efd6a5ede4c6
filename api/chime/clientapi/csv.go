package clientapi

import (
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// CSV answers 200 with a CSV attachment (RFC 4180, header row first) named filename, which may hold
// any characters: it is sent as an RFC 6266 filename* parameter and, for clients that read only the
// plain one, with everything but letters, digits, space, '-', '_' and '.' replaced by '_'.
//
// A cell that a spreadsheet would take for a formula (starting with '=', '+', '-', '@', a tab or a
// carriage return) is written with a leading apostrophe, so a member who names itself "=HYPERLINK(…)"
// cannot run anything on the computer of the admin who opens the export (OWASP's CSV injection
// advice).
func CSV(c echo.Context, filename string, header []string, rows [][]string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": plainName(filename)})+
		"; filename*=UTF-8''"+pathEscape(filename))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = defuse(v)
		}
		if err := w.Write(cells); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// Defuse is the cell defusing of CSV, for CSV files written elsewhere (reports).
func Defuse(v string) string { return defuse(v) }

// defuse prefixes a cell that a spreadsheet would evaluate with an apostrophe. A signed number (an
// E.164 phone number such as +12065550100) is left as it is: it holds nothing to evaluate.
func defuse(v string) string {
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return v
	}
	if (v[0] == '+' || v[0] == '-') && len(v) > 1 && strings.Trim(v[1:], "0123456789 .()-") == "" {
		return v
	}
	return "'" + v
}

func plainName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" -_.", r) {
			return r
		}
		return '_'
	}, s)
}

// Attachment is the Content-Disposition of a download named name: an attachment whose name any
// reader of RFC 6266 and RFC 5987 parses back, whatever bytes the name holds.
func Attachment(name string) string { return "attachment; filename*=UTF-8''" + pathEscape(name) }

// pathEscape percent-encodes every byte outside RFC 5987's attr-char.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
