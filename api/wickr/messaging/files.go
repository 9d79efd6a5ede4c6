package messaging

import (
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/belfry/belfry/api/wickr/rendition"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Files (guide §3.3 Media and links, §12, §0.1): a member posts a message carrying a file whose
// bytes are streamed into the blob store (infra/blobstore, container "wickr") — encrypted while they
// arrive under a content key of the message's own scope (conversation.KeyScope), wrapped by the
// keyring, named by the SHA-256 the server computes — and members download them when their own
// security group enables file download; any member gets a preview rendition of an image (preview.go,
// api/wickr/rendition), and a low-quality reader downloads an image compressed. When the message
// goes (expiry or burn-on-read) ExpireDue destroys the file's key with the text's and deletes its
// blob.

// DefaultMaxFileBytes is the server's default bound on a file: 100 MiB. The guide's product limit
// is 5 GB (conversation.MaxFileSize); Deps.MaxFileBytes sets Belfry's own, at most that.
const DefaultMaxFileBytes int64 = 100 << 20

// Container is the blob store's container kind of Wickr files.
const Container = "wickr"

// ErrNoDownload is a download the reader's security group does not allow (§12: preview only).
var ErrNoDownload = &domain.Error{Kind: domain.KindForbidden, Msg: "file download is disabled"}

// Blobs is the blob store (infra/blobstore.Store implements it).
type Blobs interface {
	Put(ctx context.Context, r io.Reader, u attachment.Upload) (attachment.Stored, error)
	Record(ctx context.Context, a attachment.Stored) error
	Discard(ctx context.Context, a attachment.Stored) error
	ForMessages(ctx context.Context, messageIDs []string) (map[string][]attachment.Stored, error)
	Meta(ctx context.Context, a attachment.Stored) (attachment.Meta, error)
	Open(ctx context.Context, a attachment.Stored) (io.ReadCloser, error)
}

// Upload is a file as posted: its name and declared media type.
type Upload struct{ Name, ContentType string }

// Files is the files part of the Service (PostFile, Download, Preview).
type Files struct{ s *Service }

// Files is the Service's files part.
func (s *Service) Files() Files { return Files{s} }

// MaxFileBytes is the server's bound on a file.
func (x Files) MaxFileBytes() int64 { return x.s.d.MaxFileBytes }

// CheckUpload validates a file's name and media type; errors name the field.
func CheckUpload(u Upload) (Upload, error) {
	if err := text("Name", u.Name, true, 4*MaxFileName); err != nil {
		return u, err
	}
	if utf8.RuneCountInString(u.Name) > MaxFileName {
		return u, wickr.Invalid("Name", "must be at most %d characters", MaxFileName)
	}
	if strings.ContainsAny(u.Name, "/\\\r\n") || u.Name == "." || u.Name == ".." {
		return u, wickr.Invalid("Name", "must be a file name without slashes or line breaks")
	}
	mt, params, err := mime.ParseMediaType(u.ContentType)
	if err != nil || !strings.Contains(mt, "/") || strings.Contains(mt, "*") || len(u.ContentType) > conversation.MaxContentType {
		return u, wickr.Invalid("Content-Type", "must be a media type such as application/pdf")
	}
	for k := range params {
		if k != "charset" {
			return u, wickr.Invalid("Content-Type", "parameter %q is not accepted (only charset)", k)
		}
	}
	u.ContentType = mime.FormatMediaType(mt, params)
	return u, nil
}

// PostFile streams body into the blob store and posts the message carrying it (d's text and timers);
// a refused post (not a member, the group disallows files, over MaxFileBytes, a bad timer) leaves
// no key, blob or row behind, and one its policy refuses (the group disallows files, a timer above
// the group's maximum, a member out of reach) is refused before a byte of body is read (a post that
// failed otherwise, and so may be recorded, keeps its file). The answer's File.Sha256 is the
// plaintext's SHA-256.
func (x Files) PostFile(ctx context.Context, me Caller, id string, d Draft, u Upload, body io.Reader) (Message, error) {
	u, err := CheckUpload(u)
	if err != nil {
		return Message{}, err
	}
	if _, err := x.s.member(ctx, me, id); err != nil {
		return Message{}, err // before a byte is read
	}
	if _, err := x.s.postPolicy(ctx, me, id, d, true); err != nil {
		return Message{}, err // a post its policy refuses: nothing is read, stored or sealed
	}
	mid := newMessageID()
	head := &headCapture{r: body}
	a, err := x.s.d.Blobs.Put(ctx, head, attachment.Upload{Tenant: tenantOf(me), Scope: conversation.KeyScope(id, mid), Day: x.s.d.Now(),
		Name: u.Name, Max: x.s.d.MaxFileBytes})
	if errors.Is(err, attachment.ErrTooLarge) {
		return Message{}, wickr.FieldErr(attachment.ErrTooLarge, "body", "the file is over %d bytes", x.s.d.MaxFileBytes)
	}
	if err != nil {
		return Message{}, err
	}
	a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = Container, id, mid, me.Participant().Key(), u.ContentType, x.s.d.Now().UTC()
	if err := x.s.d.Blobs.Record(ctx, a); err != nil {
		return Message{}, errors.Join(err, x.s.d.Blobs.Discard(ctx, a))
	}
	d.File = u.Name
	d.Attachment = &conversation.Attachment{AttachmentID: a.AttachmentID, KeyID: a.KeyID, Blob: a.Blob, ContentType: a.ContentType, Size: a.Size,
		Preview: rendition.Previewable(head.buf, a.Size)}
	m, err := x.s.post(ctx, me, id, mid, d)
	if err != nil && domain.KindOf(err) != 0 { // refused: nothing refers to the file
		return Message{}, errors.Join(err, x.s.d.Blobs.Discard(ctx, a))
	}
	if err != nil {
		return Message{}, err // perhaps recorded: the file stays with its message
	}
	if meta, err := x.s.d.Blobs.Meta(ctx, a); err == nil { // posted: a failure here only leaves the hash out
		m.File.Sha256 = meta.SHA256
	}
	return m, nil
}

// headCapture passes a body through, keeping its first rendition.HeadBytes (whether a preview can
// be made is judged from them).
type headCapture struct {
	r   io.Reader
	buf []byte
}

func (h *headCapture) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := rendition.HeadBytes - len(h.buf); room > 0 && n > 0 {
		h.buf = append(h.buf, p[:min(n, room)]...)
	}
	return n, err
}

// Download opens the file of a live message for a member whose security group enables file download
// (§12, evaluated for the reader): not a member, an unknown, expired or burnt message, or one without
// a file are NotFound; a group without file download is Forbidden (ErrNoDownload). A reader whose
// group transfers at low quality (§3.3) gets an image's compressed rendition (lowBandwidth); the
// answer's Transfer says which bytes these are: LowBandwidth the rendition, BestQuality the original.
func (x Files) Download(ctx context.Context, me Caller, id, messageID string) (File, io.ReadCloser, error) {
	a, g, err := x.attachmentOf(ctx, me, id, messageID)
	if err != nil {
		return File{}, nil, err
	}
	if !g.EnableFileDownload {
		return File{}, nil, domain.Wrapf(ErrNoDownload, "your security group does not allow file download (enableFileDownload is off): preview only")
	}
	meta, err := x.s.d.Blobs.Meta(ctx, a)
	if err != nil {
		return File{}, nil, err
	}
	f := fileFor(meta.Name, a.ContentType, a.Size, g)
	f.Sha256 = meta.SHA256
	if f.Transfer == TransferLow {
		if lf, r, ok := x.lowBandwidth(ctx, a, *f); ok {
			return lf, r, nil
		}
		f.Transfer = TransferBest
	}
	r, err := x.s.d.Blobs.Open(ctx, a)
	return *f, r, err
}

// attachmentOf is the file of a live message of a conversation the caller is a member of, and the
// caller's security group: not a member, an unknown, expired or burnt message, or one without a file
// are NotFound.
func (x Files) attachmentOf(ctx context.Context, me Caller, id, messageID string) (attachment.Stored, sg.Settings, error) {
	var none attachment.Stored
	if _, err := x.s.member(ctx, me, id); errors.Is(err, conversation.ErrNotMember) {
		return none, sg.Settings{}, domain.Wrapf(conversation.ErrNotFound, "conversation %s not found", id)
	} else if err != nil {
		return none, sg.Settings{}, err
	}
	row, err := x.s.d.Store.Message(ctx, id, messageID, x.s.d.Now())
	if err != nil {
		return none, sg.Settings{}, err
	}
	blobs, err := x.s.d.Blobs.ForMessages(ctx, []string{messageID})
	if err != nil {
		return none, sg.Settings{}, err
	}
	var a *attachment.Stored
	for i, b := range blobs[messageID] {
		if b.Container == Container && b.ContainerID == id {
			a = &blobs[messageID][i]
		}
	}
	if row.Size == 0 || a == nil {
		return none, sg.Settings{}, domain.Wrapf(attachment.ErrGone, "message %s carries no file", messageID)
	}
	g, err := x.s.readerGroup(ctx, me)
	return *a, g, err
}
