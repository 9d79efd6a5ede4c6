package account

import (
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names of the account's domain events.
const (
	TypeDomainClaimAdded   = "chime.account.domain_claim_added.v1"
	TypeDomainVerified     = "chime.account.domain_verified.v1"
	TypeDomainClaimRemoved = "chime.account.domain_claim_removed.v1"
	TypeAccountTypeChanged = "chime.account.type_changed.v1"
	TypeDomainUsersPurged  = "chime.account.domain_users_purged.v1"
	// UserDeletionDelay is how long after a domain's removal its users are deleted (guide §1.1.4).
	UserDeletionDelay = 90 * 24 * time.Hour
)

// Domain-claim statuses as the account sees them.
const (
	DomainStatusPending  = "PendingVerification"
	DomainStatusVerified = "Verified"
)

// ErrNoSuchClaim is returned for a domain the account has not claimed.
var ErrNoSuchClaim = &domain.Error{Kind: domain.KindNotFound, Msg: "domain not claimed by this account"}

// DomainClaim is one domain claimed by the account.
type DomainClaim struct {
	Name       string
	Status     string
	TXTName    string
	TXTValue   string
	ClaimedAt  time.Time
	VerifiedAt time.Time
}

// DomainClaimAdded records a claim (the domain's own stream holds the reservation).
type DomainClaimAdded struct {
	Domain   string    `json:"domain"`
	TXTName  string    `json:"txtName"`
	TXTValue string    `json:"txtValue"`
	At       time.Time `json:"at"`
}

// DomainVerified records that the claim's TXT record was found.
type DomainVerified struct {
	Domain string    `json:"domain"`
	At     time.Time `json:"at"`
}

// DomainClaimRemoved records the removal of a claim; users of a verified domain are deleted at DeleteUsersAt.
type DomainClaimRemoved struct {
	Domain        string    `json:"domain"`
	WasVerified   bool      `json:"wasVerified"`
	At            time.Time `json:"at"`
	DeleteUsersAt time.Time `json:"deleteUsersAt,omitempty"`
}

// DomainUsersPurged records that the 90-day deletion of a removed domain's users ran.
type DomainUsersPurged struct {
	Domain string    `json:"domain"`
	At     time.Time `json:"at"`
}

func (DomainUsersPurged) EventType() string { return TypeDomainUsersPurged }
func (DomainUsersPurged) isAccountEvent()   {}

// AccountTypeChanged records the Team → Enterprise transition (guide §4.3).
type AccountTypeChanged struct {
	AccountType string `json:"accountType"`
}

func (DomainClaimAdded) EventType() string   { return TypeDomainClaimAdded }
func (DomainVerified) EventType() string     { return TypeDomainVerified }
func (DomainClaimRemoved) EventType() string { return TypeDomainClaimRemoved }
func (AccountTypeChanged) EventType() string { return TypeAccountTypeChanged }

func (DomainClaimAdded) isAccountEvent()   {}
func (DomainVerified) isAccountEvent()     {}
func (DomainClaimRemoved) isAccountEvent() {}
func (AccountTypeChanged) isAccountEvent() {}

// AddDomainClaim records a claim whose reservation succeeded.
type AddDomainClaim struct{ AccountID, Domain, TXTName, TXTValue string }

// VerifyDomainClaim records that the TXT record was seen.
type VerifyDomainClaim struct{ AccountID, Domain string }

// RemoveDomainClaim removes a claim; for a verified domain its users are suspended and signed out.
type RemoveDomainClaim struct{ AccountID, Domain string }

// PurgeDomainUsers removes, once DeleteUsersAt has passed, the users of a removed domain who are still
// suspended (guide §1.1.4: "After 90 days, users in this domain will be deleted").
type PurgeDomainUsers struct{ AccountID, Domain string }

func (c AddDomainClaim) Target() string    { return c.AccountID }
func (c VerifyDomainClaim) Target() string { return c.AccountID }
func (c RemoveDomainClaim) Target() string { return c.AccountID }
func (c PurgeDomainUsers) Target() string  { return c.AccountID }

func (c AddDomainClaim) decide(s State, now time.Time) ([]Event, error) {
	if _, ok := s.Domains[c.Domain]; ok {
		return nil, nil
	}
	return []Event{DomainClaimAdded{Domain: c.Domain, TXTName: c.TXTName, TXTValue: c.TXTValue, At: now.UTC()}}, nil
}

func (c VerifyDomainClaim) decide(s State, now time.Time) ([]Event, error) {
	d, ok := s.Domains[c.Domain]
	if !ok {
		return nil, domain.Wrapf(ErrNoSuchClaim, "account %s has not claimed %s", s.ID, c.Domain)
	}
	if d.Status == DomainStatusVerified {
		return nil, nil
	}
	out := []Event{DomainVerified{Domain: c.Domain, At: now.UTC()}}
	if s.Type == TypeTeam {
		out = append(out, AccountTypeChanged{AccountType: TypeEnterpriseLWA})
	}
	return out, nil
}

func (c RemoveDomainClaim) decide(s State, now time.Time) ([]Event, error) {
	d, ok := s.Domains[c.Domain]
	if !ok {
		return nil, domain.Wrapf(ErrNoSuchClaim, "account %s has not claimed %s", s.ID, c.Domain)
	}
	removed := DomainClaimRemoved{Domain: c.Domain, WasVerified: d.Status == DomainStatusVerified, At: now.UTC()}
	out := []Event{}
	if removed.WasVerified {
		// Guide §1.1.4: the domain's users are suspended, signed out of every device, and deleted after 90 days.
		removed.DeleteUsersAt = now.Add(UserDeletionDelay).UTC()
		for _, u := range s.sortedMembers() {
			if strings.HasSuffix(u.Email, "@"+c.Domain) {
				if u.Registration != RegistrationSuspended {
					out = append(out, UserSuspended{UserID: u.ID})
				}
				out = append(out, UserLoggedOut{UserID: u.ID, At: now.UTC()})
				if u.PrimaryNumber != "" {
					// The number goes back to the inventory as unassigned (the number's stream follows).
					out = append(out, UserNumberUnassigned{UserID: u.ID, E164: u.PrimaryNumber})
				}
			}
		}
	}
	return append([]Event{removed}, out...), nil
}

func (c PurgeDomainUsers) decide(s State, now time.Time) ([]Event, error) {
	due, ok := s.PendingPurges[c.Domain]
	if !ok || now.Before(due) {
		return nil, nil
	}
	var out []Event
	for _, u := range s.sortedMembers() {
		if strings.HasSuffix(u.Email, "@"+c.Domain) && u.Registration == RegistrationSuspended {
			// A number assigned since the domain's removal goes back to the inventory first.
			out = append(append(out, unassignNumbers([]*User{u})...), UserRemoved{UserID: u.ID})
		}
	}
	return append(out, DomainUsersPurged{Domain: c.Domain, At: now.UTC()}), nil
}

func evolveDomains(s *State, e Event) {
	if s.Domains == nil {
		s.Domains = map[string]*DomainClaim{}
	}
	switch e := e.(type) {
	case DomainClaimAdded:
		s.Domains[e.Domain] = &DomainClaim{Name: e.Domain, Status: DomainStatusPending, TXTName: e.TXTName, TXTValue: e.TXTValue, ClaimedAt: e.At}
	case DomainVerified:
		if d, ok := s.Domains[e.Domain]; ok {
			d.Status, d.VerifiedAt = DomainStatusVerified, e.At
		}
	case DomainClaimRemoved:
		delete(s.Domains, e.Domain)
		if e.WasVerified {
			if s.PendingPurges == nil {
				s.PendingPurges = map[string]time.Time{}
			}
			s.PendingPurges[e.Domain] = e.DeleteUsersAt
		}
	case DomainUsersPurged:
		delete(s.PendingPurges, e.Domain)
	case AccountTypeChanged:
		s.Type = e.AccountType
	}
}
