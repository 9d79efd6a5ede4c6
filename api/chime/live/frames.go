package live

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/projections/chimeconversations"
)

// Frame is one JSON text frame the server sends. Type is a feed kind (MessagePosted, MessageEdited,
// MessageRedacted, MemberJoined, MemberLeft, ConversationCreated, RoomDeleted) with its Cursor, or
// Ready (replay done: live from Cursor on) or Pong.
type Frame struct {
	Type           string
	Cursor         string        `json:",omitempty"`
	RoomId         string        `json:",omitempty"`
	ConversationId string        `json:",omitempty"`
	MemberId       string        `json:",omitempty"`
	ActorId        string        `json:",omitempty"`
	ActorName      string        `json:",omitempty"`
	Message        *FrameMessage `json:",omitempty"`
	Timestamp      string        `json:",omitempty"`
}

// FrameMessage is the message a frame carries; Content is empty once redacted.
type FrameMessage struct {
	MessageId  string
	SenderId   string `json:",omitempty"`
	SenderName string `json:",omitempty"`
	Content    string
	Redacted   bool
}

// Opener opens sealed message text (infra/datakeys implements it); text whose key was destroyed
// opens as an error matching domain.ErrShredded.
type Opener interface {
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
}

// encode builds the frame of a feed row, opening its text.
func encode(ctx context.Context, keys Opener, it chimeconversations.FeedItem) ([]byte, error) {
	f := Frame{Type: it.Kind, Cursor: strconv.FormatInt(it.Seq, 10), MemberId: it.MemberID, Timestamp: awsproto.Timestamp(it.At)}
	if it.ContainerType == chimeconversations.ContainerRoom {
		f.RoomId = it.ContainerID
	} else {
		f.ConversationId = it.ContainerID
	}
	if it.MessageID == "" {
		f.ActorId, f.ActorName = it.SenderID, it.SenderName
	} else {
		m := &FrameMessage{MessageId: it.MessageID, SenderId: it.SenderID, SenderName: it.SenderName}
		switch {
		case it.Kind == chimeconversations.KindMessageRedacted || it.Sealed == nil:
			m.Redacted = true
		default:
			pt, err := keys.Open(ctx, it.KeyID, it.Sealed)
			switch {
			case errors.Is(err, domain.ErrShredded):
				m.Redacted = true
			case err != nil:
				return nil, err
			default:
				m.Content = string(pt)
			}
		}
		f.Message = m
	}
	return json.Marshal(f)
}
