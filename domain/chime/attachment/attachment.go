// Package attachment holds the values of a stored Chime attachment (issue 13) that the blob store
// (infra/blobstore), the attachments slice (api/chime/attachments) and Wickr files
// (api/wickr/messaging, container "wickr") share: what an upload is, what the table
// blobs.attachments records, and their errors. The events that reference an attachment are
// the room's and the conversation's (MessagePosted.Attachment).
package attachment

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// MaxBytes bounds an attachment: 50 MB (the guide names no limit; Belfry's choice, the figure Amazon
// Chime's clients used).
const MaxBytes = 50 << 20

// Sentinels.
var (
	// ErrTooLarge is an upload over its bound.
	ErrTooLarge = &domain.Error{Kind: domain.KindInvalid, Msg: "the attachment is too large"}
	// ErrGone is an attachment that does not exist, or whose key was destroyed.
	ErrGone = &domain.Error{Kind: domain.KindNotFound, Msg: "attachment not found"}
)

// Ref names a file in the blob store (infra/blobstore) from the message that carries it (the room's
// and the conversation's MessagePosted.Attachment): its id, the content key it is encrypted under
// (destroyed with the message's content), the SHA-256 of the stored file, its size and content type,
// and its name and plaintext hash sealed under the same key.
type Ref struct {
	AttachmentID string `json:"attachmentId"`
	KeyID        string `json:"keyId"`
	Blob         string `json:"blob"`
	Size         int64  `json:"size"`
	ContentType  string `json:"contentType"`
	SealedMeta   []byte `json:"sealedMeta"`
}

// Check applies the rules of a message's attachment (nil: none): complete, and at most MaxBytes.
// The errors wrap the caller's sentinels, so each aggregate keeps its own kinds.
func Check(a *Ref, incomplete, tooLarge error) error {
	if a == nil {
		return nil
	}
	if a.AttachmentID == "" || a.KeyID == "" || a.Blob == "" || a.ContentType == "" || a.Size < 0 {
		return domain.Wrapf(incomplete, "Attachment is incomplete")
	}
	if a.Size > MaxBytes {
		return domain.Wrapf(tooLarge, "the attachment is %d bytes; at most %d", a.Size, MaxBytes)
	}
	return nil
}

// Stored is one stored attachment: where it belongs (Container "room" or "conversation", its id,
// the message carrying it), who uploaded it, the content key it is encrypted under, the SHA-256 of
// the stored file (its address), its size and type, and its name and plaintext hash sealed (Meta).
type Stored struct {
	AttachmentID, AccountID, Container, ContainerID, MessageID, UploaderID string
	KeyID, Blob, ContentType                                               string
	Size                                                                   int64
	SealedMeta                                                             []byte
	CreatedAt                                                              time.Time
}

// Meta is what an attachment's sealed metadata holds.
type Meta struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Upload says where an upload goes: the content key's tenant and scope (the container's), its day,
// the file's name and the bound.
type Upload struct {
	Tenant, Scope string
	Day           time.Time
	Name          string
	Max           int64
}

// The attachment export of guide §5.6: an administrator of an Enterprise account requests the
// attachments its users uploaded; the result is a file listing one pre-signed URL per attachment.
const (
	// ExportEvery: a request can be submitted once every 7 days (per account).
	ExportEvery = 7 * 24 * time.Hour
	// URLTTL: the pre-signed URLs (and the link to the file) expire after 6 days.
	URLTTL = 6 * 24 * time.Hour
	// The states of an export.
	ExportRunning = "Running"
	ExportReady   = "Ready"
	ExportFailed  = "Failed"
)

// Export is one export request (table blobs.data_exports): UserID "" covers every user of the
// account; ReadyAt and ExpiresAt are set once Ready (ExpiresAt = ReadyAt + URLTTL).
type Export struct {
	ExportID, AccountID, UserID, Status, RequestedBy string
	RequestedAt, ReadyAt, ExpiresAt                  time.Time
	Attachments                                      int
	Error                                            string
}
