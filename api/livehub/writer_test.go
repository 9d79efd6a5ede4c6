package livehub

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pair upgrades one connection to a test server and answers the server side's frameWriter (over the
// hijacked TCP connection, with a small send buffer) and the client's connection.
func pair(t *testing.T, timeout time.Duration) (*frameWriter, *websocket.Conn) {
	t.Helper()
	ready := make(chan *frameWriter, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var nc net.Conn
		ws, err := websocket.Accept(sendBuffer{rw, 4096, &nc}, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		ready <- &frameWriter{ws: ws, nc: nc, timeout: timeout}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	w := <-ready
	if w.nc == nil {
		t.Fatal("the hijacked connection was not captured")
	}
	t.Cleanup(func() { _ = w.ws.CloseNow() })
	return w, c
}

// TestFrameWriterClearsItsDeadline: a write's deadline does not outlive it: after an idle time longer
// than the timeout, frames (and the library's own pong) still go out.
func TestFrameWriterClearsItsDeadline(t *testing.T) {
	w, c := pair(t, 300*time.Millisecond) // long enough that a loaded machine does not miss it on a tiny frame
	ctx := context.Background()
	go func() { _, _, _ = w.ws.Read(ctx) }() // the server reads, so that it answers pings
	for i := range 2 {
		if err := w.write(ctx, []byte(`{"n":1}`)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, data, err := c.Read(ctx); err != nil || string(data) != `{"n":1}` {
			t.Fatalf("read %d: %q %v", i, data, err)
		}
		time.Sleep(700 * time.Millisecond) // idle for more than two timeouts
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() { _, _, _ = c.Read(pctx) }() // the client reads, so that it sees the pong
	if err := c.Ping(pctx); err != nil {
		t.Fatalf("ping after idle: %v", err)
	}
}

// TestFrameWriterInterrupt: a write blocked on a client that stopped reading fails as soon as the
// connection's context ends (interrupt), long before its own timeout, and later writes are refused.
func TestFrameWriterInterrupt(t *testing.T) {
	w, _ := pair(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer context.AfterFunc(ctx, w.interrupt)()
	blocked := make(chan error, 1)
	go func() {
		frame := []byte(strings.Repeat("x", 64<<10))
		for {
			if err := w.write(ctx, frame); err != nil {
				blocked <- err
				return
			}
		}
	}()
	select {
	case err := <-blocked:
		t.Fatalf("a write failed before the interrupt: %v", err)
	case <-time.After(300 * time.Millisecond): // the client reads nothing: the writes fill the buffers and block
	}
	cancel()
	select {
	case err := <-blocked:
		if err == nil {
			t.Fatal("the blocked write succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked write was not interrupted")
	}
	if err := w.write(ctx, []byte("late")); err == nil {
		t.Fatal("a write after the interrupt was accepted")
	}
}
