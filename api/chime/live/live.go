// Package live delivers the chat feed (projections/chimeconversations) to signed-in devices over a
// WebSocket per device (GET /client/v1/stream): new messages, edits, redactions and membership
// changes of every room and conversation the user is in. The machinery (cursor and replay, bounded
// queues, slow readers, close codes) is api/livehub's and its invariants hold here; this package
// supplies the feed, encoded as Frame, and the Chime sessions.
//
// What retention hides (guide §4.7–4.8, within the 30-day grace: hidden, not yet destroyed) the
// stream withholds as the message lists do: a row about a message (posted, edited, redacted) sent
// before its conversation's or room's retention cutoff at the time the row is read has no frame, in
// the replay and live alike; turning retention off or lengthening it brings the rows back to a replay.
package live

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/livehub"
	"github.com/belfry/belfry/domain/chime/retention"
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

// Feed reads the chat feed and the accounts of each conversation's members, which its retention
// follows (chimeconversations.Store implements it).
type Feed interface {
	Since(ctx context.Context, after, upto int64, limit int) ([]chimeconversations.FeedItem, error)
	ForMember(ctx context.Context, userID string, after, upto int64, limit int) ([]chimeconversations.FeedItem, error)
	MemberAccounts(ctx context.Context, ids []string) (map[string][]string, error)
}

// Rooms answers the account of each room, whose room retention applies (chimerooms.Store implements it).
type Rooms interface {
	RoomAccounts(ctx context.Context, roomIDs []string) (map[string]string, error)
}

// Retention says what retention hides now (api/chime/retention.Service implements it), as the
// rooms' and conversations' message lists ask it.
type Retention interface {
	HideBefore(ctx context.Context, accountID string, c retention.Class) (time.Time, bool, error)
	ConversationHideBefore(ctx context.Context, accounts []string) (time.Time, bool, error)
}

// Config tunes the hub (livehub.Config; its metrics are belfry_chat_*).
type Config = livehub.Config

// Deps are the hub's collaborators.
type Deps struct {
	Feed     Feed
	Position livehub.Position
	Keys     Opener
	Auth     clientapi.Authenticator
	// Retention and Rooms withhold what retention hides (nil Retention: nothing; nil Rooms: nothing
	// in rooms); Now is the clock retention is measured with (default time.Now).
	Rooms     Rooms
	Retention Retention
	Now       func() time.Time
}

// Hub is the chat stream.
type Hub struct{ *livehub.Hub }

// New returns a hub; Run starts it.
func New(d Deps, cfg Config) *Hub {
	cfg.Metrics, cfg.Subject = "belfry_chat", "Chat"
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Hub{livehub.New(livehub.Deps{Feed: feed{d.Feed, d.Keys, d.Rooms, d.Retention, d.Now}, Position: d.Position, Auth: auth{d.Auth}}, cfg)}
}

// Routes is the stream's route on the client API: GET /stream[?cursor=N].
func (h *Hub) Routes() []clientapi.Route {
	return []clientapi.Route{{Method: http.MethodGet, Path: "/stream", Handler: func(c echo.Context) error { return h.Serve(c) }}}
}

// feed encodes the chat feed's rows as frames, opening their text; rows retention hides have none.
type feed struct {
	f         Feed
	keys      Opener
	rooms     Rooms
	retention Retention
	now       func() time.Time
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
	hide, err := f.hidden(ctx, items)
	if err != nil {
		return nil, err
	}
	out := make([]livehub.Row, len(items))
	for i, it := range items {
		out[i] = livehub.Row{Seq: it.Seq, Recipients: it.Recipients}
		if it.MessageID != "" && it.SentAt.Before(hide[it.ContainerID]) {
			continue // hidden by retention, as the message lists hide it
		}
		if out[i].Frame, err = encode(ctx, f.keys, it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// hidden returns, for the rooms and conversations of the items' messages, the instant before which
// retention hides their messages now (absent: none): a room's by its account's room retention, a
// conversation's by its members' accounts (guide §4.7.1), each asked once per account (set). A
// message sent within the shortest period (retention.MinDays) is never hidden: new messages, most
// of what is delivered live, cost no look-up.
func (f feed) hidden(ctx context.Context, items []chimeconversations.FeedItem) (map[string]time.Time, error) {
	var rooms, convs []string
	recent := f.now().Add(-retention.MinDays * 24 * time.Hour)
	for _, it := range items {
		switch {
		case it.MessageID == "" || f.retention == nil || !it.SentAt.Before(recent):
		case it.ContainerType == chimeconversations.ContainerRoom:
			if f.rooms != nil {
				rooms = append(rooms, it.ContainerID)
			}
		default:
			convs = append(convs, it.ContainerID)
		}
	}
	out := map[string]time.Time{}
	if len(rooms)+len(convs) == 0 {
		return out, nil
	}
	slices.Sort(rooms)
	slices.Sort(convs)
	rooms, convs = slices.Compact(rooms), slices.Compact(convs)
	var owners map[string]string
	var members map[string][]string
	var err error
	if len(rooms) > 0 {
		if owners, err = f.rooms.RoomAccounts(ctx, rooms); err != nil {
			return nil, err
		}
	}
	if len(convs) > 0 {
		if members, err = f.f.MemberAccounts(ctx, convs); err != nil {
			return nil, err
		}
	}
	asked := map[string]time.Time{} // account (room retention) or "\n"+accounts (a conversation's)
	ask := func(id, key string, q func() (time.Time, bool, error)) error {
		before, done := asked[key]
		if !done {
			b, ok, err := q()
			if err != nil {
				return err
			}
			if ok {
				before = b
			}
			asked[key] = before
		}
		out[id] = before
		return nil
	}
	for id, a := range owners {
		if err := ask(id, a, func() (time.Time, bool, error) { return f.retention.HideBefore(ctx, a, retention.Rooms) }); err != nil {
			return nil, err
		}
	}
	for id, a := range members {
		if err := ask(id, "\n"+strings.Join(a, "\n"), func() (time.Time, bool, error) { return f.retention.ConversationHideBefore(ctx, a) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// auth names a Chime session's member by its user id.
type auth struct{ a clientapi.Authenticator }

func (a auth) Authenticate(ctx context.Context, token string) (string, error) {
	u, err := a.a.Authenticate(ctx, token)
	return u.UserID, err
}
