package livehub

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// frameWriter writes one connection's frames, each bounded by a deadline on the TCP connection (one
// runtime timer that moves) rather than by a context with a timeout (a context, a timer and the
// library's watch of it per frame, at thousands of frames a second).
//
// Invariants: the deadline is set only while a write is under way and cleared when the last one ends,
// so the library's own writes (a pong, a close frame) are never refused by a stale one — except after
// an interrupt that aborted a write, whose expired deadline stays (the connection is ending: as when
// a cancelled context made the library close it); the end of the connection's context (interrupt)
// aborts a write under way at once, and refuses writes after it. Two writes under way at once (a
// frame, and the Pong of the client's reader) share the deadline, which the later one moves on: a
// stuck frame fails within twice the timeout at most.
// Without the TCP connection (nc nil) each write takes the context and a timeout, as the library offers.
type frameWriter struct {
	ws      *websocket.Conn
	nc      net.Conn
	timeout time.Duration

	mu      sync.Mutex
	writing int
	ended   bool
}

func (w *frameWriter) write(ctx context.Context, frame []byte) error {
	if w.nc == nil {
		wctx, cancel := context.WithTimeout(ctx, w.timeout)
		defer cancel()
		return w.ws.Write(wctx, websocket.MessageText, frame)
	}
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return context.Cause(ctx)
	}
	w.writing++
	err := w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	w.mu.Unlock()
	if err == nil {
		err = w.ws.Write(context.Background(), websocket.MessageText, frame)
	}
	w.mu.Lock()
	if w.writing--; w.writing == 0 && !w.ended {
		_ = w.nc.SetWriteDeadline(time.Time{})
	}
	w.mu.Unlock()
	return err
}

// interrupt ends the writes: one under way fails at once, later ones are refused.
func (w *frameWriter) interrupt() {
	if w.nc == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	if w.writing > 0 {
		_ = w.nc.SetWriteDeadline(time.Now())
	}
}
