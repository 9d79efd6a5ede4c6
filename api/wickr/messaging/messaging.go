// Package messaging is the slice of Wickr messaging on the end users' client API (under
// /client/v1/wickr/conversations): direct messages, groups and rooms, messages with expiration and
// burn-on-read timers, read receipts and files (guide §3.3, §3.4, §6, §12, §15; files.go).
// The conversation aggregate (domain/wickr/conversation) decides; this slice gathers the policy it
// decides on — the participants' networks and security groups, read freshly through the command
// path — seals each message under a key of its own and opens it for members.
//
// Invariants:
//   - Message content (the text and an attachment's name) is sealed under a data key of the message
//     alone (conversation.KeyScope): the event log and the read model hold ciphertext only.
//   - A message past its deadline (expiry, or burn time after the first read) is answered by no call,
//     even before the sweep (ExpireDue) destroys its key and records its destruction; the key is
//     destroyed before the destruction is recorded, so no recorded destruction leaves a key alive,
//     and a crash between the two is finished by the next sweep; a message whose destruction fails
//     is retried by the next sweep and holds back no other.
//   - Only members read a conversation, and to a non-member it does not exist: every call answers it
//     404 as for an id never created (a direct message's id derives from its pair, so a 403 would
//     tell who talks with whom); what a member may do with a file (download, auto-download,
//     transfer quality) follows the member's own security group (§12): a member whose group disables
//     file download is refused the bytes (403) but gets an image's preview rendition, a non-member never learns the file exists (404).
//   - A forward (Draft.ForwardedFrom) is posted only when the sender's security group, read at the
//     post, has messageForwardingEnabled on (else 403) and the sender can read the source message
//     then (else 404: checked on the source conversation's state through its command path); both are
//     refused before anything is sealed. The forward's content is the client's, sealed like any post.
//   - A user's password reset takes it out of every room it joined before the reset, one room at a
//     time (Resets, run by the side-effect router; retried while a room fails).
//   - A file's bytes are encrypted under a content key of the message's own scope; the message's
//     going destroys that key with the text's and deletes the blob before the destruction is
//     recorded, so a destroyed message's file opens from no API and is gone from the disk.
package messaging

import (
	"context"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// Caller is the signed-in user of a request, or a signed-in guest (GuestHash; no network, user or
// group).
type Caller struct{ NetworkID, UserID, GroupID, GuestHash string }

// Participant is the caller as the conversation names it.
func (c Caller) Participant() conversation.Participant {
	if c.GuestHash != "" {
		return conversation.Participant{GuestHash: c.GuestHash}
	}
	return conversation.Participant{NetworkID: c.NetworkID, UserID: c.UserID}
}

// Sessions checks a bearer session token of the Wickr client API (api/wickr/client implements it
// through an adapter).
type Sessions interface {
	Authenticate(ctx context.Context, token string) (Caller, error)
}

// Keys seals content under a data key and destroys keys (infra/datakeys implements it).
type Keys interface {
	// SealNew seals content in a scope no key was ever made in (a message's own scope,
	// conversation.KeyScope, named by its fresh id); in a scope that has keys it seals in it as it is.
	SealNew(ctx context.Context, tenant, scope string, day time.Time, plaintext []byte) (string, []byte, error)
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
	Destroy(ctx context.Context, keyID string) error
	// DestroyOwnScope destroys the whole scope of a key of SealNew's: a gone message's key and its
	// files' content keys, its scope's KEK erased and not replaced.
	DestroyOwnScope(ctx context.Context, keyID string) error
}

// Store is the conversations read model (wickrconversations.Store implements it).
type Store interface {
	Conversation(ctx context.Context, id string) (wickrconversations.Conversation, error)
	IsMember(ctx context.Context, id, key string) (bool, error)
	Members(ctx context.Context, id string) ([]wickrconversations.Member, error)
	ForMember(ctx context.Context, key, after string, limit int) ([]wickrconversations.Conversation, error)
	Messages(ctx context.Context, id string, now time.Time, before int64, limit int) ([]wickrconversations.Message, error)
	Receipts(ctx context.Context, id string, messageIDs []string) (map[string][]wickrconversations.Receipt, error)
	Due(ctx context.Context, now time.Time, after wickrconversations.DueCursor, limit int) ([]wickrconversations.Due, error)
	Message(ctx context.Context, id, messageID string, now time.Time) (wickrconversations.Message, error)
}

// Conversations is the conversation aggregate's command path.
type Conversations = usecase.Aggregate[conversation.State, conversation.Command, conversation.Event]

// Deps are the slice's collaborators.
type Deps struct {
	Conversations Conversations
	Networks      usecase.Networks
	Rosters       usecase.Rosters
	Guests        usecase.Guests
	Store         Store
	Keys          Keys
	Sessions      Sessions
	// Blobs stores files' bytes (PostFile and Download need it; without it ExpireDue has no files to
	// delete); MaxFileBytes bounds a file (default DefaultMaxFileBytes, at most
	// conversation.MaxFileSize).
	Blobs        Blobs
	MaxFileBytes int64
	// Archive says which gone messages the data-retention archive has yet to ship (nil: none): the
	// sweep keeps their keys until it has (see Expiry).
	Archive ArchiveHolds
	// Now is the clock of reads and of the sweep (default time.Now); decisions use the command
	// path's clock.
	Now func() time.Time
}

// Service runs the messaging use cases.
type Service struct {
	d Deps
	// dueFrom is where the sweep's next listing of due messages starts (expiry.go).
	dueFrom *dueFrom
}

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	switch {
	case d.MaxFileBytes <= 0:
		d.MaxFileBytes = DefaultMaxFileBytes
	case d.MaxFileBytes > conversation.MaxFileSize:
		d.MaxFileBytes = conversation.MaxFileSize
	}
	return &Service{d: d, dueFrom: &dueFrom{}}
}
