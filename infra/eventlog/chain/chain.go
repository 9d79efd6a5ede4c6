// Package chain makes the event log tamper-evident: every stored event carries a digest of its own
// content and a chain hash that links it to every event before it, and signed checkpoints pin the
// chain at positions with a key kept outside the database.
//
// Invariants:
//   - Digest(e) is SHA-256 over a domain-separated, length-prefixed encoding of every stored field of
//     the event (position, stream, revision, event id, type, content type, created, data, metadata):
//     changing any byte of a stored event changes its digest.
//   - Link(prev, d) = SHA-256("belfry-chain/v1" || prev || d); the chain of the event at position 1
//     links to the zero hash. Positions are dense (1, 2, 3, … with no gaps), so a missing position is
//     a removed event.
//   - A checkpoint signs (store id, position, chain at that position) with ed25519. The public key
//     verifies it anywhere, offline included; a database-only attacker who rewrites events and
//     recomputes every digest and chain still cannot forge the next checkpoint.
//   - Verification never trusts a stored digest or chain for itself: it recomputes each event's digest,
//     each link from the previous row's chain, and compares the chain at each checkpoint with the
//     signed value, reporting each problem with the position it concerns.
package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"
)

// Hash is a SHA-256 value.
type Hash [32]byte

// Event is what the chain covers of one stored event.
type Event struct {
	Position    uint64
	Stream      string
	Revision    uint64
	EventID     uuid.UUID
	Type        string
	ContentType string
	Created     int64
	Data        []byte
	Metadata    []byte
}

const (
	digestDomain     = "belfry-event/v1"
	linkDomain       = "belfry-chain/v1"
	checkpointDomain = "belfry-checkpoint/v1"
)

// Digest is the SHA-256 of the event's stored fields.
func Digest(e *Event) Hash {
	var stack [512]byte
	return sha256.Sum256(AppendDigestInput(stack[:0], e))
}

// AppendDigestInput appends the encoding Digest hashes: the domain, then each field, lengths and
// integers as big-endian uint64.
func AppendDigestInput(b []byte, e *Event) []byte {
	str := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint64(b, uint64(len(s))), s...)
	}
	b = append(b, digestDomain...)
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = str(b, e.Stream)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = append(b, e.EventID[:]...)
	b = str(b, e.Type)
	b = str(b, e.ContentType)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created))
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Metadata)))
	return append(b, e.Metadata...)
}

// Link extends the chain from prev with an event's digest.
func Link(prev, digest Hash) Hash {
	var b [len(linkDomain) + 64]byte
	n := copy(b[:], linkDomain)
	n += copy(b[n:], prev[:])
	copy(b[n:], digest[:])
	return sha256.Sum256(b[:])
}

// Checkpoint pins the chain at a position.
type Checkpoint struct {
	Position  uint64
	Chain     Hash
	Signature []byte
	KeyID     string
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return fmt.Sprintf("%x", s[:8])
}

func checkpointMessage(store uuid.UUID, pos uint64, c Hash) []byte {
	m := make([]byte, 0, len(checkpointDomain)+16+8+32)
	m = append(m, checkpointDomain...)
	m = append(m, store[:]...)
	m = binary.BigEndian.AppendUint64(m, pos)
	return append(m, c[:]...)
}

// Sign returns the checkpoint of the chain c at position pos of the log store.
func Sign(key ed25519.PrivateKey, store uuid.UUID, pos uint64, c Hash) Checkpoint {
	return Checkpoint{Position: pos, Chain: c, Signature: ed25519.Sign(key, checkpointMessage(store, pos, c)),
		KeyID: KeyID(key.Public().(ed25519.PublicKey))}
}

// Valid reports whether cp is signed by pub for the log store.
func (cp Checkpoint) Valid(pub ed25519.PublicKey, store uuid.UUID) bool {
	return len(cp.Signature) == ed25519.SignatureSize && ed25519.Verify(pub, checkpointMessage(store, cp.Position, cp.Chain), cp.Signature)
}
