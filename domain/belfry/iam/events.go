package iam

import (
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/iampolicy"
)

// Stable event-type names.
const (
	TypePrincipalCreated       = "belfry.iam.principal_created.v1"
	TypeAccessKeyCreated       = "belfry.iam.access_key_created.v1"
	TypeAccessKeyStatusChanged = "belfry.iam.access_key_status_changed.v1"
	TypeAccessKeyDeleted       = "belfry.iam.access_key_deleted.v1"
	TypePolicyAttached         = "belfry.iam.policy_attached.v1"
	TypePolicyDetached         = "belfry.iam.policy_detached.v1"
)

// Event is one stored IAM change.
type Event interface{ EventType() string }

// PrincipalCreated: a principal came into being (Imported: taken over from the pre-event tables).
type PrincipalCreated struct {
	Name        string    `json:"name"`
	PrincipalID string    `json:"principalId"`
	At          time.Time `json:"at"`
	Imported    bool      `json:"imported,omitempty"`
}

// AccessKeyCreated: a key was created, active, with its secret sealed under KeySubject(AccessKeyID).
type AccessKeyCreated struct {
	AccessKeyID string        `json:"accessKeyId"`
	Principal   string        `json:"principal"`
	Secret      domain.Sealed `json:"secret"`
	At          time.Time     `json:"at"`
	Imported    bool          `json:"imported,omitempty"`
}

// AccessKeyStatusChanged: a key was activated or deactivated.
type AccessKeyStatusChanged struct {
	AccessKeyID string    `json:"accessKeyId"`
	Active      bool      `json:"active"`
	At          time.Time `json:"at"`
}

// AccessKeyDeleted: a key was deleted; its subject key is destroyed after the append.
type AccessKeyDeleted struct {
	AccessKeyID string    `json:"accessKeyId"`
	Principal   string    `json:"principal"`
	At          time.Time `json:"at"`
}

// PolicyAttached: a managed policy (Document nil) or an inline one was attached or replaced.
type PolicyAttached struct {
	Principal  string              `json:"principal"`
	PolicyName string              `json:"policyName"`
	Managed    bool                `json:"managed"`
	Document   *iampolicy.Document `json:"document,omitempty"`
	At         time.Time           `json:"at"`
}

// PolicyDetached: a policy was removed from a principal.
type PolicyDetached struct {
	Principal  string    `json:"principal"`
	PolicyName string    `json:"policyName"`
	At         time.Time `json:"at"`
}

// EventType names each event.
func (PrincipalCreated) EventType() string       { return TypePrincipalCreated }
func (AccessKeyCreated) EventType() string       { return TypeAccessKeyCreated }
func (AccessKeyStatusChanged) EventType() string { return TypeAccessKeyStatusChanged }
func (AccessKeyDeleted) EventType() string       { return TypeAccessKeyDeleted }
func (PolicyAttached) EventType() string         { return TypePolicyAttached }
func (PolicyDetached) EventType() string         { return TypePolicyDetached }

// Events is the IAM event table: every stored event type, listed once. Decode, the list of event-type
// names and the golden-file tests (testdata/golden) come from it.
var Events = domain.NewRegistry("iam",
	domain.Register[PrincipalCreated, Event](TypePrincipalCreated),
	domain.Register[AccessKeyCreated, Event](TypeAccessKeyCreated),
	domain.Register[AccessKeyStatusChanged, Event](TypeAccessKeyStatusChanged),
	domain.Register[AccessKeyDeleted, Event](TypeAccessKeyDeleted),
	domain.Register[PolicyAttached, Event](TypePolicyAttached),
	domain.Register[PolicyDetached, Event](TypePolicyDetached),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// Evolve applies one event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case PrincipalCreated:
		s.Principals[e.Name] = &Principal{Name: e.Name, PrincipalID: e.PrincipalID, Policies: map[string]Policy{}}
	case AccessKeyCreated:
		s.Keys[e.AccessKeyID] = &Key{Principal: e.Principal, Active: true}
	case AccessKeyStatusChanged:
		if k := s.Keys[e.AccessKeyID]; k != nil {
			k.Active = e.Active
		}
	case AccessKeyDeleted:
		if k := s.Keys[e.AccessKeyID]; k != nil {
			k.Active, k.Deleted = false, true
		}
	case PolicyAttached:
		if p := s.Principals[e.Principal]; p != nil {
			p.Policies[e.PolicyName] = Policy{Managed: e.Managed, Document: e.Document}
		}
	case PolicyDetached:
		if p := s.Principals[e.Principal]; p != nil {
			delete(p.Policies, e.PolicyName)
		}
	}
	return s
}
