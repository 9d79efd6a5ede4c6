package livehub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain"
)

// replayPage is how many rows one replay query reads.
const replayPage = 200

// Serve is the stream's handler (GET <path>[?cursor=N], upgraded to a WebSocket, with the bearer
// session in the Authorization header): it checks the session and the cursor, upgrades and runs the
// connection.
func (h *Hub) Serve(c echo.Context) error {
	tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return clientapi.Unauthorized(c, "a Bearer session token is required")
	}
	member, err := h.d.Auth.Authenticate(c.Request().Context(), tok)
	if err != nil && domain.KindOf(err) == 0 {
		// A failure to check (the database unreachable), not a refusal: a 5xx the client retries,
		// never a 401 that tells it to sign in again (as clientapi.WithSession).
		return awsproto.ClientError(c, err)
	}
	if err != nil {
		return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
	}
	cursor := int64(-1)
	if v := c.QueryParam("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || n < 0:
			return awsproto.ClientError(c, awsproto.BadRequest(`query parameter "cursor" must be the Cursor of a frame of this stream`))
		case !h.reached(c.Request().Context(), n):
			return awsproto.ClientError(c, awsproto.BadRequest(`query parameter "cursor" is ahead of the stream: it was not issued here`))
		}
		cursor = n
	}
	cl, replayTo, base, ok := h.register(member)
	if !ok {
		return awsproto.ClientError(c, domain.Errorf(domain.KindThrottled, "too many open streams (at most %d per user)", h.cfg.PerUser))
	}
	defer h.unregister(cl)
	var nc net.Conn
	ws, err := websocket.Accept(sendBuffer{c.Response(), h.cfg.SendBuffer, &nc}, c.Request(), nil)
	if err != nil {
		return nil // Accept has answered
	}
	ws.SetReadLimit(MaxClientFrame)
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	w := &frameWriter{ws: ws, nc: nc, timeout: h.cfg.WriteTimeout}
	defer context.AfterFunc(ctx, w.interrupt)()
	go h.readClient(ctx, cancel, w)
	h.run(ctx, w, cl, tok, cursor, replayTo)
	return nil
}

// reached reports whether the read model has reached cursor, waiting a little for it (just after a
// restart its position is still being restored).
func (h *Hub) reached(ctx context.Context, cursor int64) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return h.d.Position.WaitFor(ctx, uint64(cursor)) == nil
}

// run replays what the client missed, says Ready, then writes the queue until the connection ends.
func (h *Hub) run(ctx context.Context, w *frameWriter, cl *client, tok string, cursor, replayTo int64) {
	ws := w.ws
	defer func() { _ = ws.CloseNow() }()
	last := replayTo
	if cursor >= 0 {
		var err error
		if last, err = h.replay(ctx, w, cl.userID, cursor, replayTo); err != nil {
			h.closeWith(ws, websocket.StatusInternalError, "replay failed: reconnect with your cursor")
			return
		}
		last = max(last, replayTo)
	}
	if h.write(ctx, w, Control("Ready", last)) != nil {
		return
	}
	recheck := time.NewTicker(h.cfg.Recheck)
	defer recheck.Stop()
	for {
		select {
		case <-cl.kicked:
			h.closeWith(ws, CloseSlowReader, fmt.Sprintf("slow reader: reconnect with cursor=%d", last))
			return
		default:
		}
		select {
		case f := <-cl.queue:
			if f.Seq <= last {
				continue
			}
			if h.write(ctx, w, f.Frame) != nil {
				return
			}
			last = f.Seq
		case <-cl.kicked:
		case <-recheck.C:
			// Only a refusal (an error with a kind) ends the session; a check that could not be made
			// (an error of no kind) leaves the stream open until the next recheck.
			_, err := h.d.Auth.Authenticate(ctx, tok)
			switch {
			case err == nil || ctx.Err() != nil:
			case domain.KindOf(err) != 0:
				h.closeWith(ws, CloseSessionEnded, "the session ended: sign in again")
				return
			default:
				h.cfg.Logger.Warn("live session recheck failed; the stream stays open", "feed", h.cfg.Metrics, "err", err)
			}
		case <-ctx.Done():
			h.closeWith(ws, websocket.StatusGoingAway, "the server is shutting down or the connection ended")
			return
		}
	}
}

// replay writes the rows the member sees in (cursor, upto] and answers the last one read.
func (h *Hub) replay(ctx context.Context, w *frameWriter, member string, cursor, upto int64) (int64, error) {
	for cursor < upto {
		items, err := h.d.Feed.ForMember(ctx, member, cursor, upto, replayPage)
		if err != nil {
			return cursor, err
		}
		for _, it := range items {
			if it.Frame != nil {
				if err := h.write(ctx, w, it.Frame); err != nil {
					return cursor, err
				}
			}
			cursor = it.Seq
		}
		if len(items) < replayPage {
			return upto, nil
		}
	}
	return cursor, nil
}

func (h *Hub) write(ctx context.Context, w *frameWriter, frame []byte) error {
	if err := w.write(ctx, frame); err != nil {
		return err
	}
	h.sent.Inc()
	return nil
}

func (h *Hub) closeWith(ws *websocket.Conn, code websocket.StatusCode, reason string) {
	_ = ws.Close(code, reason)
}

// sendBuffer bounds the kernel's send buffer of the hijacked connection, so that a client that
// stops reading fills its queue (and is closed) after SendBuffer bytes, not after the kernel's
// autotuned megabytes.
type sendBuffer struct {
	http.ResponseWriter
	bytes int
	conn  *net.Conn // receives the hijacked connection
}

// Hijack implements http.Hijacker.
func (w sendBuffer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		_ = tc.SetWriteBuffer(w.bytes)
	}
	if err == nil {
		*w.conn = c
	}
	return c, rw, err
}

// readClient reads the client's frames: {"Type":"Ping"} is answered with Pong; anything else closes
// the connection with a code that says why. It cancels the connection when it ends.
func (h *Hub) readClient(ctx context.Context, cancel context.CancelFunc, w *frameWriter) {
	ws := w.ws
	defer cancel()
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return // closed, or too large (the library closes with 1009)
		}
		if typ != websocket.MessageText {
			_ = ws.Close(CloseUnsupported, "binary frames are not accepted")
			return
		}
		var in struct{ Type string }
		if !utf8.Valid(data) || json.Unmarshal(data, &in) != nil || in.Type != "Ping" {
			_ = ws.Close(CloseMalformed, `a client frame must be {"Type":"Ping"}`)
			return
		}
		if h.write(ctx, w, Control("Pong", -1)) != nil {
			return
		}
	}
}

// Control encodes a frame that is not a feed row: {"Type":typ,"Cursor":"N"} (no Cursor when cursor
// is negative). The hub sends Ready and Pong.
func Control(typ string, cursor int64) []byte {
	f := struct {
		Type   string
		Cursor string `json:",omitempty"`
	}{Type: typ}
	if cursor >= 0 {
		f.Cursor = strconv.FormatInt(cursor, 10)
	}
	data, _ := json.Marshal(f)
	return data
}
