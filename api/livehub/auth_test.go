package livehub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/domain"
)

// stillPosition is a read model that stays at position 0.
type stillPosition struct{}

func (stillPosition) Position() uint64 { return 0 }
func (stillPosition) WaitFor(ctx context.Context, pos uint64) error {
	if pos == 0 {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// emptyFeed has no rows.
type emptyFeed struct{}

func (emptyFeed) Since(context.Context, int64, int64, int) ([]Row, error) { return nil, nil }
func (emptyFeed) ForMember(context.Context, string, int64, int64, int) ([]Row, error) {
	return nil, nil
}

// switchAuth answers with the error set last (nil: the member "u1").
type switchAuth struct {
	mu  sync.Mutex
	err error
}

func (a *switchAuth) set(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

func (a *switchAuth) Authenticate(context.Context, string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return "u1", a.err
}

// serveHub runs a hub with auth over a test server and answers the stream's ws:// URL.
func serveHub(t *testing.T, auth Authenticator, recheck time.Duration) string {
	t.Helper()
	h := New(Deps{Feed: emptyFeed{}, Position: stillPosition{}, Auth: auth}, Config{Recheck: recheck})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	for running := false; !running; time.Sleep(time.Millisecond) { // Run has set the hub's context
		h.mu.Lock()
		running = h.base != nil
		h.mu.Unlock()
	}
	e := echo.New()
	e.GET("/stream", h.Serve)
	srv := httptest.NewServer(e)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/stream"
}

// TestStreamTellsAFailedCheckFromARevokedSession: a session check that could not be made (the
// database unreachable: an error of no kind) is not a revoked session. At connect it is a 5xx the
// client retries, never a 401 that tells it to sign in again (as the client API's WithSession); on a
// recheck it leaves the stream open, never closing it with CloseSessionEnded (as the media signalling
// does). A refusal (an error with a kind) still closes it with CloseSessionEnded.
func TestStreamTellsAFailedCheckFromARevokedSession(t *testing.T) {
	auth := &switchAuth{}
	url := serveHub(t, auth, 50*time.Millisecond)
	hdr := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer tok"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	auth.set(errors.New("connection refused"))
	if _, resp, err := websocket.Dial(ctx, url, hdr); err == nil || resp == nil || resp.StatusCode/100 != 5 {
		t.Fatalf("connect while the check fails: %v %v, want a 5xx", err, resp)
	}

	auth.set(nil)
	ws, _, err := websocket.Dial(ctx, url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, data, err := ws.Read(ctx); err != nil || !strings.Contains(string(data), "Ready") {
		t.Fatalf("first frame: %s %v", data, err)
	}
	auth.set(errors.New("connection refused"))
	time.Sleep(500 * time.Millisecond) // ten rechecks
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"Type":"Ping"}`))
	if _, data, err := ws.Read(ctx); err != nil || !strings.Contains(string(data), "Pong") {
		t.Fatalf("after rechecks that failed: %s %v, want the stream open (Pong)", data, err)
	}

	auth.set(domain.Errorf(domain.KindForbidden, "the session was revoked"))
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != CloseSessionEnded {
		t.Fatalf("after a revocation the stream ended with %v, want %d", err, CloseSessionEnded)
	}
}
