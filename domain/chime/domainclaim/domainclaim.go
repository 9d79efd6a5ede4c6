// Package domainclaim models the claim of one e-mail domain by one Chime account (guide §4.2).
//
// Invariants: the stream "chime.domain-<name>" belongs to the domain, so a domain is claimed by at most
// one account at a time (another account's claim is a Conflict); a claim is PendingVerification until
// its TXT record is seen, then Verified; a removed claim may be claimed again (a new TXT value).
package domainclaim

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names.
const (
	StreamPrefix = "chime.domain-"
	TypeClaimed  = "chime.domain.claimed.v1"
	TypeVerified = "chime.domain.verified.v1"
	TypeRemoved  = "chime.domain.removed.v1"
	// TXTPrefix is the label of the TXT record that proves ownership: _amazonchime.<domain>.
	TXTPrefix = "_amazonchime."
	// TXTValuePrefix starts the record's value.
	TXTValuePrefix = "belfry-domain-verification="
)

// Statuses.
const (
	StatusPending  = "PendingVerification"
	StatusVerified = "Verified"
	StatusRemoved  = "Removed"
)

// Sentinels.
var (
	ErrInvalidDomain = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid domain name"}
	ErrClaimed       = &domain.Error{Kind: domain.KindConflict, Msg: "domain claimed by another account"}
	ErrNotClaimed    = &domain.Error{Kind: domain.KindNotFound, Msg: "domain not claimed by this account"}
)

// StreamName is the stream of one domain.
func StreamName(name string) string { return StreamPrefix + name }

var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Normalize validates a domain name and lower-cases it.
func Normalize(name string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	labels := strings.Split(n, ".")
	if len(n) == 0 || len(n) > 253 || len(labels) < 2 {
		return "", domain.Wrapf(ErrInvalidDomain, "DomainName %q must be a fully qualified domain name such as example.com", name)
	}
	for _, l := range labels {
		if !label.MatchString(l) {
			return "", domain.Wrapf(ErrInvalidDomain, "DomainName %q has an invalid label %q", name, l)
		}
	}
	return n, nil
}

// Event is the sealed set of claim events.
type Event interface{ EventType() string }

// Claimed records a claim and the TXT record that proves it.
type Claimed struct {
	AccountID string    `json:"accountId"`
	TXTValue  string    `json:"txtValue"`
	At        time.Time `json:"at"`
}

// Verified records that the TXT record was found.
type Verified struct {
	At time.Time `json:"at"`
}

// Removed records the end of the claim.
type Removed struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (Claimed) EventType() string { return TypeClaimed }

// EventType implements Event.
func (Verified) EventType() string { return TypeVerified }

// EventType implements Event.
func (Removed) EventType() string { return TypeRemoved }

// State is a domain's claim.
type State struct {
	Name       string
	AccountID  string
	Status     string // "" never claimed
	TXTValue   string
	ClaimedAt  time.Time
	VerifiedAt time.Time
}

// Active reports whether an account holds the domain.
func (s State) Active() bool { return s.Status == StatusPending || s.Status == StatusVerified }

// TXTName is the record name to publish.
func TXTName(domainName string) string { return TXTPrefix + domainName }

// Initial is a domain never claimed.
func Initial() State { return State{} }

// Command is the sealed set of claim commands.
type Command interface{ isClaimCommand() }

// Claim claims the domain for an account; Token becomes the TXT value.
type Claim struct{ Domain, AccountID, Token string }

// MarkVerified records that the TXT record was seen.
type MarkVerified struct{ Domain, AccountID string }

// Remove ends the claim.
type Remove struct{ Domain, AccountID string }

func (Claim) isClaimCommand()        {}
func (MarkVerified) isClaimCommand() {}
func (Remove) isClaimCommand()       {}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case Claim:
		if s.Active() {
			if s.AccountID == c.AccountID {
				return nil, nil // claiming again is a no-op
			}
			return nil, domain.Wrapf(ErrClaimed, "the domain %s is claimed by another account", c.Domain)
		}
		return []Event{Claimed{AccountID: c.AccountID, TXTValue: TXTValuePrefix + c.Token, At: now.UTC()}}, nil
	case MarkVerified:
		if !s.Active() || s.AccountID != c.AccountID {
			return nil, domain.Wrapf(ErrNotClaimed, "the domain %s is not claimed by account %s", c.Domain, c.AccountID)
		}
		if s.Status == StatusVerified {
			return nil, nil
		}
		return []Event{Verified{At: now.UTC()}}, nil
	case Remove:
		if !s.Active() || s.AccountID != c.AccountID {
			return nil, domain.Wrapf(ErrNotClaimed, "the domain %s is not claimed by account %s", c.Domain, c.AccountID)
		}
		return []Event{Removed{At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("domainclaim: unknown command %T", c)
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Claimed:
		s = State{Name: s.Name, AccountID: e.AccountID, Status: StatusPending, TXTValue: e.TXTValue, ClaimedAt: e.At}
	case Verified:
		s.Status, s.VerifiedAt = StatusVerified, e.At
	case Removed:
		s.Status = StatusRemoved
	}
	return s
}
