// Package iam decides changes to Belfry's own IAM: principals (IAM users), their access keys and the
// identity policies attached to them. Every change is an event on the installation's one IAM stream
// (Stream); the tables the key lookup reads are a read model of it (projections/iam).
//
// Invariants:
//   - A principal exists once its first access key is created; its name is 1-64 characters of
//     [A-Za-z0-9+=,.@_-] (IAM's user-name alphabet) and its id ("AIDA…") never changes.
//   - An access key id is "AKIA" + 16 characters of [A-Z2-7] and is unique for ever (a deleted key's
//     id is never reused). Its secret is only ever stored sealed under the key's own subject key
//     (KeySubject), so deleting the key shreds the secret in every stored copy.
//   - A deleted key cannot be activated again; an inactive key does not authenticate.
//   - A managed policy is attached by name (iampolicy.Managed knows it); an inline policy has a valid
//     document and never the name of a managed one. Putting an inline policy again replaces it.
//
// One stream for the whole installation: IAM changes are rare (operators at a shell), and one stream
// makes name and key-id uniqueness a matter of the expected revision, never of luck.
package iam

import (
	"regexp"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/iampolicy"
)

// Stream is the installation's IAM stream.
const Stream = "belfry.iam-installation"

// StreamPrefix selects the IAM stream in subscriptions.
const StreamPrefix = "belfry.iam-"

// Tenant is the data-key tenant of IAM secrets (never an account id).
const Tenant = "belfry-iam"

// KeySubject is the data-key subject of one access key's secret.
func KeySubject(accessKeyID string) string { return "accesskey/" + accessKeyID }

// ErrUnknownKey is an access key id that does not exist, was deleted, or is inactive (for lookups).
var ErrUnknownKey = &domain.Error{Kind: domain.KindNotFound, Msg: "unknown access key"}

// ErrNoPrincipal is a principal that does not exist.
var ErrNoPrincipal = &domain.Error{Kind: domain.KindNotFound, Msg: "no such principal"}

var (
	validName     = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	validKeyID    = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	validPrinID   = regexp.MustCompile(`^AIDA[A-Z2-7]{16}$`)
	validPolicyNm = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,128}$`)
)

// Principal is one IAM user of the installation.
type Principal struct {
	Name        string
	PrincipalID string
	Policies    map[string]Policy
}

// Policy is an attached policy; Document is nil for a managed one.
type Policy struct {
	Managed  bool
	Document *iampolicy.Document
}

// Key is one access key (its secret lives only in the events, sealed).
type Key struct {
	Principal string
	Active    bool
	Deleted   bool
}

// State is the folded IAM stream.
type State struct {
	Principals map[string]*Principal
	Keys       map[string]*Key
}

// Initial is the state before any event.
func Initial() State { return State{Principals: map[string]*Principal{}, Keys: map[string]*Key{}} }

// Command is one IAM change.
type Command interface{ isCommand() }

// CreateAccessKey creates a key for Principal, creating the principal (with PrincipalID) if needed,
// and attaches ManagedPolicies not attached yet, in one append. Secret must be sealed under
// KeySubject(AccessKeyID) of Tenant. With OnlyIfFirst it does nothing once any key was ever created
// (the first admin key of a new installation).
type CreateAccessKey struct {
	Principal       string
	PrincipalID     string
	AccessKeyID     string
	Secret          domain.Sealed
	ManagedPolicies []string
	OnlyIfFirst     bool
}

// SetKeyStatus activates or deactivates a key.
type SetKeyStatus struct {
	AccessKeyID string
	Active      bool
}

// DeleteAccessKey deletes a key for ever.
type DeleteAccessKey struct{ AccessKeyID string }

// AttachManagedPolicy attaches a managed policy by name.
type AttachManagedPolicy struct{ Principal, PolicyName string }

// PutInlinePolicy stores or replaces an inline policy.
type PutInlinePolicy struct {
	Principal, PolicyName string
	Document              iampolicy.Document
}

// DetachPolicy removes a managed or inline policy.
type DetachPolicy struct{ Principal, PolicyName string }

// Import brings the IAM tables of a version before IAM was event-sourced into an empty stream, once.
type Import struct {
	Principals []ImportedPrincipal
}

// ImportedPrincipal is one principal of the old tables with its keys and policies.
type ImportedPrincipal struct {
	Name, PrincipalID string
	CreatedAt         time.Time
	Keys              []ImportedKey
	Policies          []PolicyAttached
}

// ImportedKey is one key of the old tables, its secret sealed as CreateAccessKey requires.
type ImportedKey struct {
	AccessKeyID string
	Secret      domain.Sealed
	Active      bool
	CreatedAt   time.Time
}

func (CreateAccessKey) isCommand()     {}
func (SetKeyStatus) isCommand()        {}
func (DeleteAccessKey) isCommand()     {}
func (AttachManagedPolicy) isCommand() {}
func (PutInlinePolicy) isCommand()     {}
func (DetachPolicy) isCommand()        {}
func (Import) isCommand()              {}
