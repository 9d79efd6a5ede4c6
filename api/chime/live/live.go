// Package live delivers the chat feed (projections/chimeconversations) to signed-in devices over a
// WebSocket per device (GET /client/v1/stream): new messages, edits, redactions and membership
// changes of every room and conversation the user is in. The machinery (cursor and replay, bounded
// queues, slow readers, close codes) is api/livehub's and its invariants hold here; this package
// supplies the feed, encoded as Frame, and the Chime sessions.
package live

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/livehub"
	"github.com/belfry/belfry/projections/chimeconversations"
)

// Close codes of the stream (livehub's).
const (
	CloseSlowReader   = livehub.CloseSlowReader
	CloseSessionEnded = livehub.CloseSessionEnded
	CloseUnsupported  = livehub.CloseUnsupported
	CloseMalformed    = livehub.CloseMalformed
	MaxClientFrame    = livehub.MaxClientFrame
)

// Feed reads the chat feed (chimeconversations.Store implements it).
type Feed interface {
	Since(ctx context.Context, after, upto int64, limit int) ([]chimeconversations.FeedItem, error)
	ForMember(ctx context.Context, userID string, after, upto int64, limit int) ([]chimeconversations.FeedItem, error)
}

// Config tunes the hub (livehub.Config; its metrics are belfry_chat_*).
type Config = livehub.Config

// Deps are the hub's collaborators.
type Deps struct {
	Feed     Feed
	Position livehub.Position
	Keys     Opener
	Auth     clientapi.Authenticator
}

// Hub is the chat stream.
type Hub struct{ *livehub.Hub }

// New returns a hub; Run starts it.
func New(d Deps, cfg Config) *Hub {
	cfg.Metrics, cfg.Subject = "belfry_chat", "Chat"
	return &Hub{livehub.New(livehub.Deps{Feed: feed{d.Feed, d.Keys}, Position: d.Position, Auth: auth{d.Auth}}, cfg)}
}

// Routes is the stream's route on the client API: GET /stream[?cursor=N].
func (h *Hub) Routes() []clientapi.Route {
	return []clientapi.Route{{Method: http.MethodGet, Path: "/stream", Handler: func(c echo.Context) error { return h.Serve(c) }}}
}

// feed encodes the chat feed's rows as frames, opening their text.
type feed struct {
	f    Feed
	keys Opener
}

func (f feed) Since(ctx context.Context, after, upto int64, limit int) ([]livehub.Row, error) {
	items, err := f.f.Since(ctx, after, upto, limit)
	if err != nil {
		return nil, err
	}
	return f.rows(ctx, items)
}

func (f feed) ForMember(ctx context.Context, userID string, after, upto int64, limit int) ([]livehub.Row, error) {
	items, err := f.f.ForMember(ctx, userID, after, upto, limit)
	if err != nil {
		return nil, err
	}
	return f.rows(ctx, items)
}

func (f feed) rows(ctx context.Context, items []chimeconversations.FeedItem) ([]livehub.Row, error) {
	out := make([]livehub.Row, len(items))
	for i, it := range items {
		data, err := encode(ctx, f.keys, it)
		if err != nil {
			return nil, err
		}
		out[i] = livehub.Row{Seq: it.Seq, Recipients: it.Recipients, Frame: data}
	}
	return out, nil
}

// auth names a Chime session's member by its user id.
type auth struct{ a clientapi.Authenticator }

func (a auth) Authenticate(ctx context.Context, token string) (string, error) {
	u, err := a.a.Authenticate(ctx, token)
	return u.UserID, err
}
