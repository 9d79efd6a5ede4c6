// Package attachments is the vertical slice of Chime attachments on the client API (issue 13, guide
// §1.2, §4.9, §5.6): a member uploads a file to a conversation or a room — the body streamed into the
// blob store (infra/blobstore), encrypted under a key of its own, bounded by MaxBytes, its SHA-256
// computed by the server — which posts a message carrying it; members download it byte for byte.
//
//	POST /client/v1/conversations/{id}/attachments?name=N[&content=TEXT]  body: the file, Content-Type: its type
//	GET  /client/v1/conversations/{id}/attachments                         the conversation's attachments
//	GET  /client/v1/conversations/{id}/attachments/{attachmentId}          the file
//	(the same three under /client/v1/rooms/{roomId})
//
// Invariants: only members upload or download; a refused upload (a non-member, a bad name or type,
// over MaxBytes) stores nothing and posts nothing; an attachment whose message was redacted, that
// fell out of retention or whose room was deleted answers 404 (its key is destroyed, its file swept).
package attachments

import (
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimerooms"
)

// MaxBytes bounds an attachment (the domains' MaxAttachmentBytes: 50 MB).
const MaxBytes = attachment.MaxBytes

// MaxName bounds a file name.
const MaxName = 255

// Sentinels.
var (
	ErrInvalid = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid attachment"}
)

// Blobs is the blob store (infra/blobstore.Store implements it).
type Blobs interface {
	Put(ctx context.Context, r io.Reader, u attachment.Upload) (attachment.Stored, error)
	Record(ctx context.Context, a attachment.Stored) error
	Discard(ctx context.Context, a attachment.Stored) error
	Get(ctx context.Context, containerID, attachmentID string) (attachment.Stored, error)
	List(ctx context.Context, accountID, uploaderID, containerID string, limit int) ([]attachment.Stored, error)
	Meta(ctx context.Context, a attachment.Stored) (attachment.Meta, error)
	Open(ctx context.Context, a attachment.Stored) (io.ReadCloser, error)
}

// Conversations posts to conversations (api/chime/conversations.Service implements it).
type Conversations interface {
	GetConversation(ctx context.Context, u chimeaccounts.User, id string) (chimeconversations.Conversation, error)
	HideBefore(ctx context.Context, c chimeconversations.Conversation) (time.Time, error)
	PostAttachment(ctx context.Context, u chimeaccounts.User, id, messageID, text string, att *conversation.Attachment) (chimeconversations.Message, error)
}

// Rooms posts to rooms (api/chime/rooms.Messages implements it).
type Rooms interface {
	AttachmentAccess(ctx context.Context, u chimeaccounts.User, roomID string) (hideBefore time.Time, err error)
	PostRoomAttachment(ctx context.Context, u chimeaccounts.User, roomID, messageID, content string, att *room.Attachment) (chimerooms.Message, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Blobs         Blobs
	Conversations Conversations
	Rooms         Rooms
	Now           func() time.Time
}

// Service runs the attachment use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Container names where an attachment goes: "conversation" or "room", and its id.
type Container struct{ Kind, ID string }

// File is an upload's name, declared type and message text ("" : the name).
type File struct{ Name, ContentType, Text string }

// Info is what a member sees of an attachment.
type Info struct {
	AttachmentId, MessageId, UploaderId, Name, ContentType, Sha256, CreatedTimestamp string
	Size                                                                             int64
}

// CheckFile validates a file's name and content type; errors name the field.
func CheckFile(f File) (File, error) {
	switch {
	case f.Name == "" || len(f.Name) > MaxName:
		return f, domain.Wrapf(ErrInvalid, "name must be 1 to %d bytes", MaxName)
	case !utf8.ValidString(f.Name) || strings.ContainsAny(f.Name, "\x00/\\\r\n"):
		return f, domain.Wrapf(ErrInvalid, "name must be valid UTF-8 without NUL, slashes or line breaks")
	}
	mt, params, err := mime.ParseMediaType(f.ContentType)
	if err != nil || strings.Contains(mt, "*") || !strings.Contains(mt, "/") || len(f.ContentType) > 255 {
		return f, domain.Wrapf(ErrInvalid, "Content-Type must be a media type such as application/pdf")
	}
	for k := range params {
		if k != "charset" {
			return f, domain.Wrapf(ErrInvalid, "Content-Type parameter %q is not accepted (only charset)", k)
		}
	}
	f.ContentType = mime.FormatMediaType(mt, params)
	if f.Text == "" {
		f.Text = f.Name
	}
	if err := conversation.CheckText(f.Text); err != nil {
		return f, err
	}
	return f, nil
}

// access checks membership and returns the key scope and the retention cutoff (the room's account's,
// or the conversation's own).
func (s *Service) access(ctx context.Context, u chimeaccounts.User, c Container) (scope string, hide time.Time, err error) {
	if _, err := uuid.Parse(c.ID); err != nil {
		return "", time.Time{}, domain.Wrapf(conversation.ErrNotFound, "%s %s does not exist or you are not a member", c.Kind, c.ID)
	}
	if c.Kind == "room" {
		hide, err = s.d.Rooms.AttachmentAccess(ctx, u, c.ID)
		return "room/" + c.ID, hide, err
	}
	conv, err := s.d.Conversations.GetConversation(ctx, u, c.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	hide, err = s.d.Conversations.HideBefore(ctx, conv)
	return "conversation/" + c.ID, hide, err
}

// Upload streams body into the blob store and posts the message carrying it.
func (s *Service) Upload(ctx context.Context, u chimeaccounts.User, c Container, f File, body io.Reader) (Info, error) {
	f, err := CheckFile(f)
	if err != nil {
		return Info{}, err
	}
	scope, _, err := s.access(ctx, u, c)
	if err != nil {
		return Info{}, err
	}
	now := s.d.Now()
	a, err := s.d.Blobs.Put(ctx, body, attachment.Upload{Tenant: u.AccountID, Scope: scope, Day: now, Name: f.Name, Max: MaxBytes})
	if err != nil {
		return Info{}, err
	}
	a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = c.Kind, c.ID, uuid.NewString(), u.UserID, f.ContentType, now.UTC()
	if err := s.d.Blobs.Record(ctx, a); err != nil {
		return Info{}, errors.Join(err, s.d.Blobs.Discard(ctx, a))
	}
	if c.Kind == "room" {
		_, err = s.d.Rooms.PostRoomAttachment(ctx, u, c.ID, a.MessageID, f.Text, &room.Attachment{AttachmentID: a.AttachmentID, KeyID: a.KeyID,
			Blob: a.Blob, Size: a.Size, ContentType: a.ContentType, SealedMeta: a.SealedMeta})
	} else {
		_, err = s.d.Conversations.PostAttachment(ctx, u, c.ID, a.MessageID, f.Text, &conversation.Attachment{AttachmentID: a.AttachmentID,
			KeyID: a.KeyID, Blob: a.Blob, Size: a.Size, ContentType: a.ContentType, SealedMeta: a.SealedMeta})
	}
	if err != nil {
		return Info{}, errors.Join(err, s.d.Blobs.Discard(ctx, a))
	}
	return s.info(ctx, a)
}

func (s *Service) info(ctx context.Context, a attachment.Stored) (Info, error) {
	m, err := s.d.Blobs.Meta(ctx, a)
	if err != nil {
		return Info{}, err
	}
	return Info{AttachmentId: a.AttachmentID, MessageId: a.MessageID, UploaderId: a.UploaderID, Name: m.Name, ContentType: a.ContentType,
		Sha256: m.SHA256, Size: a.Size, CreatedTimestamp: a.CreatedAt.UTC().Format(time.RFC3339)}, nil
}

// List returns the live attachments of a container (at most 1,000, oldest first) to a member.
func (s *Service) List(ctx context.Context, u chimeaccounts.User, c Container) ([]Info, error) {
	_, hide, err := s.access(ctx, u, c)
	if err != nil {
		return nil, err
	}
	list, err := s.d.Blobs.List(ctx, "", "", c.ID, 1000)
	if err != nil {
		return nil, err
	}
	out := []Info{}
	for _, a := range list {
		if a.CreatedAt.Before(hide) {
			continue
		}
		i, err := s.info(ctx, a)
		if errors.Is(err, attachment.ErrGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// Download opens an attachment of a container for a member.
func (s *Service) Download(ctx context.Context, u chimeaccounts.User, c Container, attachmentID string) (Info, io.ReadCloser, error) {
	_, hide, err := s.access(ctx, u, c)
	if err != nil {
		return Info{}, nil, err
	}
	a, err := s.d.Blobs.Get(ctx, c.ID, attachmentID)
	if err != nil {
		return Info{}, nil, err
	}
	if a.CreatedAt.Before(hide) {
		return Info{}, nil, domain.Wrapf(attachment.ErrGone, "attachment %s is past the account's retention", attachmentID)
	}
	i, err := s.info(ctx, a)
	if err != nil {
		return Info{}, nil, err
	}
	r, err := s.d.Blobs.Open(ctx, a)
	return i, r, err
}
