package domain

import "errors"

// ErrShredded is sealed content whose key was destroyed (a deleted subject's credential, a message
// out of retention, redacted or expired): it cannot be opened, ever, nor can anything be sealed under
// that key again. To an API caller the content is gone: KindNotFound, never a server failure.
var ErrShredded = &Error{Kind: KindNotFound, Msg: "the content is gone: its key was destroyed (retention, redaction, expiry or deletion)"}

// Sealed is a credential — a password hash, a personal PIN, a bot's security token — encrypted
// (AES-256-GCM) under the data key of its subject, one key per user or bot, kept outside the event log
// (infra/datakeys, architecture §7). Events, read models and their backups hold only Sealed values;
// destroying the subject's key when the subject is deleted makes every stored copy unreadable at once
// (crypto-shredding), so an immutable log can still forget a deleted user's credentials.
//
// Why not a credentials table beside the log: the log and Postgres are separate stores (the log may be
// a KurrentDB cluster), so writing a credential there and its event to the log would be a dual write
// that a crash can tear (an event naming a credential that was never stored, or the reverse). Sealing
// keeps the event self-contained: the only separate write is the key, created before the append and
// harmless if the append then fails (an unused key).
type Sealed struct {
	// KeyID names the subject's key (SubjectKeyID); it is bound to Data as additional data.
	KeyID string `json:"keyId"`
	// Data is the nonce-prefixed ciphertext.
	Data []byte `json:"data"`
}

// IsZero reports whether nothing is sealed (json omitzero uses it).
func (s Sealed) IsZero() bool { return s.KeyID == "" && len(s.Data) == 0 }

// SubjectKeyID names the key of one subject (e.g. "user/<id>", "bot/<id>") of a tenant (an account).
// Deciders use it to check that a credential is sealed under its own subject's key, so that destroying
// that key shreds exactly that subject's credentials.
func SubjectKeyID(tenant, subject string) string { return "subject/" + tenant + "/" + subject }

// ErrUnreadable is sealed content that does not open under its key although the key is there: the
// bytes (or the key's own wrapping) are damaged, or were sealed under another key. Like ErrShredded it
// recurs every time, so a long job that meets it reports the one item and goes on with the others,
// where any other failure (a lost connection) is worth retrying.
var ErrUnreadable = errors.New("the sealed content does not open under its key")
