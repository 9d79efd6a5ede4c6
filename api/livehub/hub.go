// Package livehub is the machinery of live delivery shared by Chime chat (api/chime/live) and Wickr
// messaging (api/wickr/live): a WebSocket per signed-in device (github.com/coder/websocket) fed
// from a read model's feed, whatever path wrote the rows, since delivery follows the read model,
// never the HTTP handler that posted. A system supplies its Feed (rows already encoded as frames,
// each with the members who see it), the read model's Position and an Authenticator.
//
// Invariants:
//   - The cursor is a feed row's seq (its event's position in the log). A client that connects with
//     the cursor of the last frame it received gets every row it sees after it exactly once: the
//     rows up to the read model's position when it registered are replayed from the read model,
//     then Ready, then the rows after it come live from the hub, and a connection never sends a
//     row at or below the last one it sent. Without a cursor a client starts live; the Ready frame
//     names the cursor it starts at. A row whose Frame is nil (the feed withholds it: an expired or
//     burnt message, one retention hides) is never sent, and moves no cursor forward but its own.
//   - One goroutine (Run) follows the read model's position and fans each new row out to the
//     connections of the members who see it, without ever blocking: each connection has a bounded
//     queue (Config.Queue frames), and a connection whose queue is full is closed with close code
//     CloseSlowReader, so a slow reader never holds back anyone else's delivery; it resumes from its
//     cursor.
//   - Connections are bounded (Config.MaxConnections in all, Config.PerUser per member); a client
//     frame other than {"Type":"Ping"} closes the connection (CloseUnsupported for binary,
//     CloseMalformed for anything else, 1009 for more than MaxClientFrame bytes); a session that
//     is revoked (an Authenticator error with a kind) closes it with CloseSessionEnded within
//     Config.Recheck, while a check that could not be made (an error of no kind) is a 5xx at
//     connect and leaves an open stream open.
package livehub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Close codes of the stream (4000–4999 are the application's).
const (
	CloseSlowReader   = 4001 // the client did not keep up: reconnect with the cursor of its last frame
	CloseSessionEnded = 4401 // the session was revoked (LogoutUser, suspension, removal): sign in again
	CloseUnsupported  = 1003 // a binary frame
	CloseMalformed    = 1007 // a text frame that is not {"Type":"Ping"}
	// MaxClientFrame bounds a client frame.
	MaxClientFrame = 1024
)

// Row is one feed row as the hub delivers it: its seq (the cursor), the members who see it (Since
// only; a member is whatever Authenticator answers) and its encoded text frame (nil: withheld,
// never sent).
type Row struct {
	Seq        int64
	Recipients []string
	Frame      []byte
}

// Feed reads a system's feed, its rows encoded as they are to be sent at the time of the call.
type Feed interface {
	// Since returns the rows after seq after, up to seq upto, at most limit, in feed order, each
	// with the members who see it (rows nobody sees may be left out).
	Since(ctx context.Context, after, upto int64, limit int) ([]Row, error)
	// ForMember returns the rows one member sees after seq after, up to seq upto, at most limit, in
	// feed order (a reconnecting client's replay).
	ForMember(ctx context.Context, member string, after, upto int64, limit int) ([]Row, error)
}

// Authenticator checks a bearer session token and answers the member it signs in (the key the
// feed's Recipients name).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (member string, err error)
}

// Position is the feed read model's applied position (projections.Runner implements it).
type Position interface {
	Position() uint64
	WaitFor(ctx context.Context, pos uint64) error
}

// Config tunes the hub.
type Config struct {
	// Queue is the per-connection queue, in frames (default 128).
	Queue int
	// MaxConnections and PerUser bound the connections (defaults 20,000 and 10).
	MaxConnections, PerUser int
	// WriteTimeout bounds one frame's write (default 10 s); Recheck is how often a connection's
	// session is checked again (default 30 s).
	WriteTimeout, Recheck time.Duration
	// SendBuffer is the kernel send buffer of a connection, in bytes (default 64 KiB).
	SendBuffer int
	// Batch is the most rows one fan-out round reads (default 1,000).
	Batch int
	// Metrics prefixes the hub's metric names (default "belfry_chat"); Subject names what is
	// delivered in their help texts (default "Chat").
	Metrics, Subject string
	Logger           *slog.Logger
	Registerer       prometheus.Registerer
}

// Deps are the hub's collaborators.
type Deps struct {
	Feed     Feed
	Position Position
	Auth     Authenticator
}

// Hub fans the feed out to the connections.
type Hub struct {
	d   Deps
	cfg Config

	mu    sync.Mutex
	base  context.Context // Run's context: connections end with it
	last  int64           // the last seq fanned out
	conns map[string]map[*client]struct{}
	n     int

	connected prometheus.Gauge
	sent      prometheus.Counter
	slow      prometheus.Counter
}

// client is one connection as the hub sees it.
type client struct {
	userID   string
	queue    chan *Row // shared with the other recipients' queues: read only
	kicked   chan struct{}
	kickOnce sync.Once
}

// kick marks the connection as too slow (its writer closes it) and reports whether it was the first time.
func (c *client) kick() (first bool) {
	c.kickOnce.Do(func() { close(c.kicked); first = true })
	return first
}

// New returns a hub; Run starts it.
func New(d Deps, cfg Config) *Hub {
	if cfg.Queue <= 0 {
		cfg.Queue = 128
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 20_000
	}
	if cfg.PerUser <= 0 {
		cfg.PerUser = 10
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 30 * time.Second
	}
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = 64 << 10
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == "" {
		cfg.Metrics, cfg.Subject = "belfry_chat", "Chat"
	}
	h := &Hub{d: d, cfg: cfg, conns: map[string]map[*client]struct{}{},
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: cfg.Metrics + "_connections", Help: "Open " + cfg.Subject + " WebSocket connections."}),
		sent:      prometheus.NewCounter(prometheus.CounterOpts{Name: cfg.Metrics + "_frames_sent_total", Help: cfg.Subject + " frames written to WebSockets."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{Name: cfg.Metrics + "_slow_readers_closed_total",
			Help: cfg.Subject + " WebSockets closed because their queue was full."})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(h.connected, h.sent, h.slow)
	}
	return h
}

// Run fans the feed out until ctx ends; it starts at the read model's position (connections that
// come with an older cursor replay the rest).
func (h *Hub) Run(ctx context.Context) {
	h.mu.Lock()
	h.base, h.last = ctx, int64(h.d.Position.Position())
	h.mu.Unlock()
	for ctx.Err() == nil {
		if err := h.d.Position.WaitFor(ctx, uint64(h.position())+1); err != nil {
			return
		}
		if err := h.round(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logger.Warn("live fan-out failed; retrying", "feed", h.cfg.Metrics, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (h *Hub) position() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// round fans out the rows between the hub's position and the read model's (at most Batch of them).
func (h *Hub) round(ctx context.Context) error {
	upto := int64(h.d.Position.Position())
	h.mu.Lock()
	after := h.last
	if h.n == 0 { // nobody to deliver to; a connection registering later replays from the read model
		h.last = max(h.last, upto)
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	items, err := h.d.Feed.Since(ctx, after, upto, h.cfg.Batch)
	if err != nil {
		return err
	}
	if len(items) == h.cfg.Batch {
		upto = items[len(items)-1].Seq
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range items {
		if items[i].Frame == nil {
			continue
		}
		it := &Row{Seq: items[i].Seq, Frame: items[i].Frame} // a queued row holds on to its own frame only
		for _, u := range items[i].Recipients {
			for c := range h.conns[u] {
				select {
				case c.queue <- it:
				default:
					if c.kick() {
						h.slow.Inc()
					}
				}
			}
		}
	}
	h.last = max(h.last, upto)
	return nil
}

// register adds a connection of userID; replayTo is where its replay from the read model ends: every
// row after the hub's position comes through the queue as well. ok is false past a bound.
func (h *Hub) register(userID string) (c *client, replayTo int64, base context.Context, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base == nil || h.n >= h.cfg.MaxConnections || len(h.conns[userID]) >= h.cfg.PerUser {
		return nil, 0, nil, false
	}
	c = &client{userID: userID, queue: make(chan *Row, h.cfg.Queue), kicked: make(chan struct{})}
	if h.conns[userID] == nil {
		h.conns[userID] = map[*client]struct{}{}
	}
	h.conns[userID][c] = struct{}{}
	h.n++
	h.connected.Inc()
	// Rows up to the read model's position are replayed (those the hub has not fanned out yet reach
	// the queue too, and the connection skips them), so Ready means caught up with every change
	// stored when the client connected.
	return c, max(h.last, int64(h.d.Position.Position())), h.base, true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c.userID][c]; !ok {
		return
	}
	delete(h.conns[c.userID], c)
	if len(h.conns[c.userID]) == 0 {
		delete(h.conns, c.userID)
	}
	h.n--
	h.connected.Dec()
}
