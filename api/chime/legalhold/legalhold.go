// Package legalhold writes the JSON Lines legal-hold export of an account's Chime messages (issue
// 13): every message of the account's rooms and of the conversations its users are in (or, for one
// user, of every room and conversation the user is or was a member of) sent in [From, To), oldest
// first, content decrypted with the live keys. A redacted message is marked "redacted" and a message
// whose key was destroyed (retention, a deleted room) "shredded": neither carries content. A message
// whose content does not open under its live key (damaged bytes) is "unreadable", with why, and the
// export goes on past it. Attachments are referenced by id and SHA-256 (of the stored file, and of the
// content while its key lives).
//
// The first line is the export's header (type "export": what it covers); each other line is one
// message (type "message"). Invariants: lines are in (createdAt, containerId, messageId) order and a
// line depends only on the message, so the same export of the same data is byte-identical; a rerun
// on the same file checks the header, drops a partial last line and continues after the last complete
// one, so an interrupted export resumes and a finished one is left as it is.
package legalhold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ErrInvalid is a bad query.
var ErrInvalid = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid export"}

// Rooms reads room messages (chimerooms.Store implements it).
type Rooms interface {
	AccountRoomIDs(ctx context.Context, accountID string) ([]string, error)
	MessagesBetween(ctx context.Context, ids []string, from, to, afterAt time.Time, afterRoom, afterID string, limit int) ([]chimerooms.Message, error)
}

// Conversations reads conversation messages and memberships (chimeconversations.Store implements it).
type Conversations interface {
	AccountConversationIDs(ctx context.Context, accountID string) ([]string, error)
	UserContainerIDs(ctx context.Context, userID string) ([]string, error)
	MessagesBetween(ctx context.Context, ids []string, from, to, afterAt time.Time, afterConv, afterID string, limit int) ([]chimeconversations.Message, error)
}

// Accounts says whether an account exists, and a user is or was one of its users
// (chimeaccounts.Index implements it).
type Accounts interface {
	AccountKnown(ctx context.Context, accountID string) (bool, error)
	UserKnown(ctx context.Context, accountID, userID string) (bool, error)
}

// Keys opens sealed content (infra/datakeys.Store implements it); a destroyed key is domain.ErrShredded.
type Keys interface {
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
}

// Attachments reads the attachments of messages (infra/blobstore.Store implements it).
type Attachments interface {
	ForMessages(ctx context.Context, messageIDs []string) (map[string][]attachment.Stored, error)
	Meta(ctx context.Context, a attachment.Stored) (attachment.Meta, error)
}

// Deps are the export's collaborators.
type Deps struct {
	Rooms         Rooms
	Conversations Conversations
	Accounts      Accounts
	Keys          Keys
	Attachments   Attachments
	// Page bounds the messages read at once from each read model (default 500).
	Page int
}

// Exporter writes exports.
type Exporter struct{ d Deps }

// New returns an exporter.
func New(d Deps) *Exporter {
	if d.Page <= 0 {
		d.Page = 500
	}
	return &Exporter{d: d}
}

// Query is what an export covers: an account's messages (or one user's) sent in [From, To).
type Query struct {
	AccountID, UserID string
	From, To          time.Time
}

// Check validates a query; errors name the flag.
func (q Query) Check() error {
	switch {
	case q.AccountID == "":
		return domain.Wrapf(ErrInvalid, "--account is required")
	case q.From.IsZero() || q.To.IsZero():
		return domain.Wrapf(ErrInvalid, "--from and --to are required (RFC 3339 times or dates)")
	case !q.From.Before(q.To):
		return domain.Wrapf(ErrInvalid, "--from must be before --to")
	}
	return nil
}

// Header is the first line of an export.
type Header struct {
	Type      string `json:"type"`
	Format    string `json:"format"`
	AccountID string `json:"accountId"`
	UserID    string `json:"userId,omitempty"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Format names the layout of the lines.
const Format = "belfry.chime.messages.v1"

func (q Query) header() Header {
	return Header{Type: "export", Format: Format, AccountID: q.AccountID, UserID: q.UserID, From: stamp(q.From), To: stamp(q.To)}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Message is one message line.
type Message struct {
	Type            string          `json:"type"`
	Container       string          `json:"container"` // "room" or "conversation"
	ContainerID     string          `json:"containerId"`
	MessageID       string          `json:"messageId"`
	CreatedAt       string          `json:"createdAt"`
	SenderID        string          `json:"senderId"`
	SenderName      string          `json:"senderName"`
	SenderType      string          `json:"senderType,omitempty"`
	SenderAccountID string          `json:"senderAccountId,omitempty"`
	EditedAt        string          `json:"editedAt,omitempty"`
	State           string          `json:"state"` // "live", "redacted", "shredded" or "unreadable"
	Content         *string         `json:"content,omitempty"`
	Unreadable      string          `json:"unreadable,omitempty"` // why an "unreadable" message did not open under its live key
	Attachments     []AttachmentRef `json:"attachments,omitempty"`
}

// AttachmentRef is an attachment a message carries: its id and the SHA-256 of the stored file, and
// while its key lives its name, the SHA-256 of its content and its state.
type AttachmentRef struct {
	AttachmentID string `json:"attachmentId"`
	BlobSHA256   string `json:"blobSha256"`
	SHA256       string `json:"sha256,omitempty"`
	Name         string `json:"name,omitempty"`
	ContentType  string `json:"contentType"`
	Size         int64  `json:"size"`
	State        string `json:"state"` // "live", "shredded" or "unreadable" (its metadata does not open)
}

// Cursor is the key of the last message written: the export continues after it.
type Cursor struct {
	At                   time.Time
	ContainerID, Message string
}

// Progress is how far an export went.
type Progress struct {
	Rooms, Conversations int
	Messages             int64 // lines of messages written by this run
	Last                 time.Time
}

// scope returns the containers an export covers (room and conversation ids in one list for a user:
// each read model ignores the other's).
func (x *Exporter) scope(ctx context.Context, q Query) (rooms, convs []string, err error) {
	if err := x.known(ctx, q); err != nil {
		return nil, nil, err
	}
	if q.UserID != "" {
		ids, err := x.d.Conversations.UserContainerIDs(ctx, q.UserID)
		return ids, ids, err
	}
	if rooms, err = x.d.Rooms.AccountRoomIDs(ctx, q.AccountID); err != nil {
		return nil, nil, err
	}
	convs, err = x.d.Conversations.AccountConversationIDs(ctx, q.AccountID)
	return rooms, convs, err
}

// known refuses an account that does not exist, and a user that is not one of its users: the
// header names the account, so every line must be of it.
func (x *Exporter) known(ctx context.Context, q Query) error {
	ok, err := x.d.Accounts.AccountKnown(ctx, q.AccountID)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Wrapf(ErrInvalid, "--account: account %s does not exist", q.AccountID)
	}
	if q.UserID == "" {
		return nil
	}
	if ok, err = x.d.Accounts.UserKnown(ctx, q.AccountID, q.UserID); err != nil {
		return err
	}
	if !ok {
		return domain.Wrapf(ErrInvalid, "--user: %s is not a user of account %s", q.UserID, q.AccountID)
	}
	return nil
}

// Run writes the message lines of q after the cursor c to w (the header is the caller's), calling
// progress after each page.
func (x *Exporter) Run(ctx context.Context, q Query, c Cursor, w io.Writer, progress func(Progress)) (Progress, error) {
	if err := q.Check(); err != nil {
		return Progress{}, err
	}
	rooms, convs, err := x.scope(ctx, q)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Rooms: len(rooms), Conversations: len(convs)}
	if q.UserID != "" {
		p.Rooms, p.Conversations = 0, 0 // unknown split: one list for both
	}
	for {
		batch, done, err := x.next(ctx, q, rooms, convs, c)
		if err != nil {
			return p, err
		}
		if err := x.write(ctx, w, batch); err != nil {
			return p, err
		}
		if n := len(batch); n > 0 {
			last := batch[n-1]
			c = Cursor{At: last.at, ContainerID: last.m.ContainerID, Message: last.m.MessageID}
			p.Messages, p.Last = p.Messages+int64(n), last.at
		}
		if progress != nil {
			progress(p)
		}
		if done {
			return p, nil
		}
	}
}

// item is a message read, before it is written.
type item struct {
	at     time.Time
	m      Message
	keyID  string
	sealed []byte
}

func less(a, b item) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.m.ContainerID != b.m.ContainerID {
		return a.m.ContainerID < b.m.ContainerID
	}
	return a.m.MessageID < b.m.MessageID
}

// next reads the next messages after c from both read models, merged in order; done is true when
// nothing is left after them.
func (x *Exporter) next(ctx context.Context, q Query, rooms, convs []string, c Cursor) (out []item, done bool, err error) {
	var rs []chimerooms.Message
	var cs []chimeconversations.Message
	if len(rooms) > 0 {
		if rs, err = x.d.Rooms.MessagesBetween(ctx, rooms, q.From, q.To, c.At, c.ContainerID, c.Message, x.d.Page); err != nil {
			return nil, false, err
		}
	}
	if len(convs) > 0 {
		if cs, err = x.d.Conversations.MessagesBetween(ctx, convs, q.From, q.To, c.At, c.ContainerID, c.Message, x.d.Page); err != nil {
			return nil, false, err
		}
	}
	a, b := roomItems(rs), convItems(cs)
	// Beyond the last item of a full page, the other side's items may not be next: stop there.
	var bound *item
	for _, side := range [][]item{a, b} {
		if n := len(side); n == x.d.Page && (bound == nil || less(side[n-1], *bound)) {
			bound = &side[n-1]
		}
	}
	for i, j := 0, 0; i < len(a) || j < len(b); {
		var it item
		if j >= len(b) || i < len(a) && less(a[i], b[j]) {
			it, i = a[i], i+1
		} else {
			it, j = b[j], j+1
		}
		if bound != nil && less(*bound, it) {
			break
		}
		out = append(out, it)
	}
	return out, bound == nil, nil
}

func roomItems(list []chimerooms.Message) []item {
	out := make([]item, len(list))
	for i, m := range list {
		state := "live"
		if m.Redacted || m.Sealed == nil {
			state = "redacted"
		}
		out[i] = item{at: m.CreatedAt, keyID: m.KeyID, sealed: m.Sealed, m: Message{Type: "message", Container: "room", ContainerID: m.RoomID,
			MessageID: m.MessageID, CreatedAt: stamp(m.CreatedAt), SenderID: m.SenderID, SenderName: m.SenderName, SenderType: m.SenderType, State: state}}
	}
	return out
}

func convItems(list []chimeconversations.Message) []item {
	out := make([]item, len(list))
	for i, m := range list {
		state := "live"
		if m.Redacted || m.Sealed == nil {
			state = "redacted"
		}
		it := item{at: m.CreatedAt, keyID: m.KeyID, sealed: m.Sealed, m: Message{Type: "message", Container: "conversation", ContainerID: m.ConversationID,
			MessageID: m.MessageID, CreatedAt: stamp(m.CreatedAt), SenderID: m.SenderID, SenderName: m.SenderName, SenderAccountID: m.SenderAccountID, State: state}}
		if m.EditedAt != nil {
			it.m.EditedAt = stamp(*m.EditedAt)
		}
		out[i] = it
	}
	return out
}

// write opens and writes a batch's lines.
func (x *Exporter) write(ctx context.Context, w io.Writer, batch []item) error {
	ids := make([]string, len(batch))
	for i, it := range batch {
		ids[i] = it.m.MessageID
	}
	atts, err := x.d.Attachments.ForMessages(ctx, ids)
	if err != nil {
		return err
	}
	for _, it := range batch {
		m := it.m
		if m.State == "live" {
			pt, err := x.d.Keys.Open(ctx, it.keyID, it.sealed)
			switch {
			case errors.Is(err, domain.ErrShredded):
				m.State = "shredded"
			case errors.Is(err, domain.ErrUnreadable): // damaged: the same on every run, so written as such
				m.State, m.Unreadable = "unreadable", err.Error()
			case err != nil:
				return fmt.Errorf("legalhold: message %s: %w", m.MessageID, err)
			default:
				s := string(pt)
				m.Content = &s
			}
		}
		if m.State == "live" {
			if m.Attachments, err = x.refs(ctx, atts[m.MessageID]); err != nil {
				return err
			}
		}
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (x *Exporter) refs(ctx context.Context, list []attachment.Stored) ([]AttachmentRef, error) {
	var out []AttachmentRef
	for _, a := range list {
		r := AttachmentRef{AttachmentID: a.AttachmentID, BlobSHA256: a.Blob, ContentType: a.ContentType, Size: a.Size, State: "live"}
		meta, err := x.d.Attachments.Meta(ctx, a)
		switch {
		case errors.Is(err, attachment.ErrGone):
			r.State = "shredded"
		case errors.Is(err, domain.ErrUnreadable):
			r.State = "unreadable"
		case err != nil:
			return nil, err
		default:
			r.Name, r.SHA256 = meta.Name, meta.SHA256
		}
		out = append(out, r)
	}
	return out, nil
}
