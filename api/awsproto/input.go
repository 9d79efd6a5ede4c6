package awsproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Input rules at the edge. Everything a request carries is refused with a 400 naming the field when
// it cannot be stored faithfully: a NUL character (PostgreSQL text and jsonb refuse it) or invalid
// UTF-8, in the path, the query string or the JSON body, including JSON escapes that decode to NUL
// or to a lone UTF-16 surrogate (which encoding/json would silently turn into U+FFFD). Sizes are
// bounded too: a query value at MaxQueryValueBytes, a next-token at MaxNextTokenBytes.
const (
	MaxQueryValueBytes = 4096
	MaxNextTokenBytes  = 2048
	// MaxClientBodyBytes bounds a client API body (room messages are < 4 KB; nothing else is larger).
	MaxClientBodyBytes = 64 << 10
)

// checkText refuses a value with NUL or invalid UTF-8; field names it in the message.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return BadRequest(fmt.Sprintf("%s is not valid UTF-8", field))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return BadRequest(fmt.Sprintf("%s must not contain a NUL character", field))
	}
	return nil
}

// checkPath refuses a request path that does not decode to text that can be stored.
func checkPath(r *http.Request) error {
	p := r.URL.Path
	if raw := r.URL.RawPath; raw != "" {
		dec, err := url.PathUnescape(raw)
		if err != nil {
			return BadRequest("the request path has an invalid percent-encoding")
		}
		p = dec
	}
	return checkText("the request path", p)
}

// checkQuery refuses a query string that cannot be parsed or stored, and bounds its values.
func checkQuery(raw string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return BadRequest("the query string has an invalid percent-encoding")
	}
	for k, vs := range q {
		if err := checkText("a query parameter name", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := checkText("query parameter "+strconv.Quote(k), v); err != nil {
				return err
			}
			limit := MaxQueryValueBytes
			if k == "next-token" {
				limit = MaxNextTokenBytes
			}
			if len(v) > limit {
				return BadRequest(fmt.Sprintf("query parameter %q exceeds %d bytes", k, limit))
			}
		}
	}
	return nil
}

// checkJSONBody refuses a body that is not valid UTF-8 or whose strings (keys or values) decode to
// NUL or hold a lone surrogate escape. An empty body passes; malformed JSON is left to the decoder,
// which names what is wrong.
func checkJSONBody(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !utf8.Valid(body) {
		return BadRequest("the request body is not valid UTF-8")
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return BadRequest("the request body must not contain a NUL character")
	}
	if !bytes.Contains(body, []byte(`\u`)) && !bytes.Contains(body, []byte(`\U`)) {
		return nil // no escapes: nothing can decode to NUL or a surrogate
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object, wantKey bool
		key             string
	}
	var stack []*frame
	name := func() string {
		var parts []string
		for _, f := range stack {
			if f.object {
				parts = append(parts, f.key)
			}
		}
		return "member " + strconv.Quote(strings.Join(parts, "."))
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or malformed JSON, which the decoder reports with its own message
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				stack = append(stack, &frame{object: t == '{', wantKey: t == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			field := name()
			isKey := top != nil && top.object && top.wantKey
			if isKey {
				field = "a member name"
			}
			if strings.IndexByte(t, 0) >= 0 {
				return BadRequest(field + " must not contain a NUL character")
			}
			if loneSurrogate(body[start:dec.InputOffset()]) {
				return BadRequest(field + " is not valid UTF-8 (a lone UTF-16 surrogate escape)")
			}
			if isKey {
				top.key, top.wantKey = t, false
				continue
			}
		}
		// A value ended: the enclosing object expects its next member name.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// loneSurrogate reports whether a raw JSON string holds a \uD800–\uDFFF escape that is not a high
// surrogate immediately followed by a low one.
func loneSurrogate(raw []byte) bool {
	for i := 0; i+5 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped character (it may be another backslash)
			continue
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil {
			return false
		}
		switch {
		case v >= 0xDC00 && v <= 0xDFFF:
			return true
		case v >= 0xD800 && v <= 0xDBFF:
			if i+11 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return true
			}
			lo, err := strconv.ParseUint(string(raw[i+8:i+12]), 16, 16)
			if err != nil || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// checkURL validates a request's path and query string.
func checkURL(r *http.Request) error {
	if err := checkPath(r); err != nil {
		return err
	}
	return checkQuery(r.URL.RawQuery)
}

// GuardClient bounds and validates every client API request (path, query, body) before its handler
// runs; the handler then reads the validated body from memory.
func GuardClient(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if err := checkURL(r); err != nil {
				return ClientError(c, err)
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				return ClientError(c, BadRequest("could not read the request body"))
			}
			if int64(len(body)) > limit {
				return ClientError(c, &WireError{Status: http.StatusRequestEntityTooLarge, Type: "BadRequestException", Code: "BadRequest",
					Msg: fmt.Sprintf("the request body exceeds %d bytes", limit)})
			}
			if err := checkJSONBody(body); err != nil {
				return ClientError(c, err)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			return next(c)
		}
	}
}

// GuardUpload is GuardClient for a route whose body is a file streamed to its handler: the URL is
// checked the same way, and the body, left unread, is cut off past limit bytes (the handler bounds
// what it keeps).
func GuardUpload(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if err := checkURL(r); err != nil {
				return ClientError(c, err)
			}
			if r.ContentLength > limit {
				return ClientError(c, &WireError{Status: http.StatusRequestEntityTooLarge, Type: "BadRequestException", Code: "BadRequest",
					Msg: fmt.Sprintf("the request body exceeds %d bytes", limit)})
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}
