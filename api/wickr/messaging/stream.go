package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/livehub"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// LiveFeed reads the conversations' feed (wickrconversations.Store implements it).
type LiveFeed interface {
	FeedSince(ctx context.Context, after, upto int64, now time.Time, limit int) ([]wickrconversations.FeedItem, error)
	FeedForMember(ctx context.Context, member string, after, upto int64, now time.Time, limit int) ([]wickrconversations.FeedItem, error)
}

// Stream is live delivery of Wickr messaging: a WebSocket per signed-in device (GET
// /client/v1/wickr/stream[?cursor=N]) that pushes every change of the caller's conversations, with
// api/livehub's guarantees (resume from a cursor, nothing missed, nothing twice, bounded queues,
// slow readers closed with 4001). A message is delivered only while it lives: a posted message that
// is destroyed, past its expiry or past its burn time at the time of delivery is withheld (its
// MessageDestroyed frame still comes), and a read receipt goes only to the sender and the reader,
// and only where the networks' read-receipt settings made the read a receipt (§6).
type Stream struct{ *livehub.Hub }

// StreamFrame is one JSON text frame of the stream. Type is a feed kind (ConversationCreated,
// MembersAdded, MemberLeft, MessagePosted, ReadReceipt, MessageDestroyed, CallStarted, CallEnded)
// with its Cursor, or Ready or Pong. Actor is who did it (creator, adder, leaver, sender, reader,
// caller). CallStarted rings the conversation's members (join with GET
// /client/v1/wickr/calls/{CallId}/signal); CallEnded (its Reason) stops the ringing.
type StreamFrame struct {
	Type           string
	Cursor         string              `json:",omitempty"`
	ConversationId string              `json:",omitempty"`
	Actor          map[string]string   `json:",omitempty"`
	Members        []map[string]string `json:",omitempty"`
	MessageId      string              `json:",omitempty"`
	CallId         string              `json:",omitempty"`
	Message        *StreamMessage      `json:",omitempty"`
	Reason         string              `json:",omitempty"`
	Timestamp      string              `json:",omitempty"`
}

// StreamMessage is a posted message as a frame carries it (what a reader's group lets it do with a
// file is answered by GET .../messages); Forwarded marks a forwarded message (never its source's ids:
// see Message.Forwarded).
type StreamMessage struct {
	Content    string
	Ttl, Bor   int64
	ExpiresAt  string      `json:",omitempty"`
	Attachment *StreamFile `json:",omitempty"`
	Forwarded  bool        `json:",omitempty"`
}

// StreamFile is an attachment's metadata in a frame.
type StreamFile struct {
	Name, ContentType string
	Size              int64
	Preview           bool // GET …/preview makes a rendition of it
}

// NewStream returns the stream over the feed at the read model's position; Run starts it.
func (s *Service) NewStream(feed LiveFeed, pos livehub.Position, cfg livehub.Config) *Stream {
	cfg.Metrics, cfg.Subject = "belfry_wickr_live", "Wickr messaging"
	return &Stream{livehub.New(livehub.Deps{Feed: streamFeed{s, feed}, Position: pos, Auth: streamAuth{s.d.Sessions}}, cfg)}
}

// Routes is the stream's route on the client API.
func (st *Stream) Routes() []clientapi.Route {
	return []clientapi.Route{{Method: http.MethodGet, Path: "/wickr/stream", Handler: func(c echo.Context) error { return st.Serve(c) }}}
}

// streamAuth names a session's member by its participant key.
type streamAuth struct{ s Sessions }

func (a streamAuth) Authenticate(ctx context.Context, token string) (string, error) {
	if len(token) > maxToken {
		return "", domain.Errorf(domain.KindForbidden, "the session token is too long")
	}
	me, err := a.s.Authenticate(ctx, token)
	return me.Participant().Key(), err
}

type streamFeed struct {
	s    *Service
	feed LiveFeed
}

func (f streamFeed) Since(ctx context.Context, after, upto int64, limit int) ([]livehub.Row, error) {
	items, err := f.feed.FeedSince(ctx, after, upto, f.s.d.Now(), limit)
	if err != nil {
		return nil, err
	}
	return f.rows(ctx, items)
}

func (f streamFeed) ForMember(ctx context.Context, member string, after, upto int64, limit int) ([]livehub.Row, error) {
	items, err := f.feed.FeedForMember(ctx, member, after, upto, f.s.d.Now(), limit)
	if err != nil {
		return nil, err
	}
	return f.rows(ctx, items)
}

func (f streamFeed) rows(ctx context.Context, items []wickrconversations.FeedItem) ([]livehub.Row, error) {
	out := make([]livehub.Row, len(items))
	for i, it := range items {
		data, err := f.encode(ctx, it)
		if err != nil {
			return nil, err
		}
		out[i] = livehub.Row{Seq: it.Seq, Recipients: it.Recipients, Frame: data}
	}
	return out, nil
}

// encode builds a row's frame; nil for a message that is gone (never delivered).
func (f streamFeed) encode(ctx context.Context, it wickrconversations.FeedItem) ([]byte, error) {
	fr := StreamFrame{Type: it.Kind, Cursor: strconv.FormatInt(it.Seq, 10), ConversationId: it.ConversationID,
		MessageId: it.MessageID, CallId: it.CallID, Reason: it.Reason, Timestamp: stamp(it.At)}
	if it.ActorKey != "" {
		fr.Actor = participantWire(ParseKey(it.ActorKey))
	}
	for _, k := range it.MemberKeys {
		fr.Members = append(fr.Members, participantWire(ParseKey(k)))
	}
	if it.Kind == wickrconversations.KindMessagePosted {
		if it.Gone || it.Sealed == nil {
			return nil, nil
		}
		pt, err := f.s.d.Keys.Open(ctx, it.KeyID, it.Sealed)
		if errors.Is(err, domain.ErrShredded) {
			return nil, nil // its key is destroyed: the message is gone
		}
		if err != nil {
			return nil, err
		}
		var c conversation.Content
		if err := json.Unmarshal(pt, &c); err != nil {
			return nil, err
		}
		m := &StreamMessage{Content: c.Text, Ttl: it.TTL, Bor: it.BOR}
		if !it.ExpiresAt.IsZero() {
			m.ExpiresAt = stamp(it.ExpiresAt)
		}
		if it.Size > 0 {
			m.Attachment = &StreamFile{Name: c.File, ContentType: it.ContentType, Size: it.Size, Preview: it.Preview}
		}
		m.Forwarded = it.Forwarded
		fr.Message = m
	}
	return json.Marshal(fr)
}
