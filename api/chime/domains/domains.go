// Package domains is the slice of domain claims (console operations AddDomain, ListDomains,
// GetDomain, VerifyDomain, RemoveDomain) and of the sweep that deletes the users of removed domains.
//
// A claim is two streams: the domain's own stream is the reservation (one account at a time), then
// the account records the claim. Claiming again heals a claim whose second step failed. AddDomain and
// VerifyDomain answer from the account's decided state when the accounts read model is late.
package domains

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/domainclaim"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ErrNotVerified is returned when the TXT record is not (yet) published.
var ErrNotVerified = &domain.Error{Kind: domain.KindUnprocessable, Msg: "TXT record not found"}

// Store reads claims and due purges from the accounts read model (chimeaccounts.Store implements it).
type Store interface {
	ListDomains(ctx context.Context, awsAccountID, accountID string) ([]chimeaccounts.Domain, error)
	DuePurges(ctx context.Context, now time.Time) ([]chimeaccounts.DuePurge, error)
}

// TXTRecords looks up the TXT records of a name; none when it does not exist (infra/dns implements it).
type TXTRecords interface {
	Records(ctx context.Context, name string) ([]string, error)
}

// NumberReleaser makes the number streams follow the UserNumberUnassigned events of an account
// command (the numbers slice implements it).
type NumberReleaser interface {
	ReleaseNumbers(ctx context.Context, awsAccountID string, events []account.Event) error
}

// MeetingDisabler disables the scheduled meetings of a removed domain's users (the meetings slice
// implements it).
type MeetingDisabler interface {
	DisableDomainMeetings(ctx context.Context, accountID, domainName string) (int, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Claims   usecase.Repository[domainclaim.State, domainclaim.Command, domainclaim.Event]
	Accounts usecase.Accounts
	Store    Store
	DNS      TXTRecords
	Numbers  NumberReleaser
	Meetings MeetingDisabler
	Keys     usecase.KeyShredder
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the domain-claim use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d}
}

// claimFromState is a claim as the account decided it (the answer when the read model is late).
func claimFromState(st account.State, name string) (chimeaccounts.Domain, error) {
	c, ok := st.Domains[name]
	if !ok {
		return chimeaccounts.Domain{}, domain.Wrapf(account.ErrNoSuchClaim, "account %s has not claimed %s", st.ID, name)
	}
	d := chimeaccounts.Domain{Name: c.Name, Status: c.Status, TXTName: c.TXTName, TXTValue: c.TXTValue, ClaimedAt: c.ClaimedAt}
	if !c.VerifiedAt.IsZero() {
		at := c.VerifiedAt
		d.VerifiedAt = &at
	}
	return d, nil
}

// answer runs an account command on a claim and answers with the claim.
func (s *Service) answer(ctx context.Context, awsAccountID, accountID, name string, cmd account.Command) (chimeaccounts.Domain, error) {
	return usecase.Run(ctx, s.d.Accounts.Command(account.StreamName(accountID), cmd),
		func(ctx context.Context) (chimeaccounts.Domain, error) {
			return s.GetDomain(ctx, awsAccountID, accountID, name)
		},
		func(d usecase.AccountDecided) (chimeaccounts.Domain, error) { return claimFromState(d.State, name) })
}

// ClaimDomain claims a domain for an account.
func (s *Service) ClaimDomain(ctx context.Context, awsAccountID, accountID, name string) (chimeaccounts.Domain, error) {
	d, err := domainclaim.Normalize(name)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	if err := usecase.OwnAccount(ctx, s.d.Accounts.Repo, awsAccountID, accountID); err != nil {
		return chimeaccounts.Domain{}, err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	res, err := s.d.Claims.Execute(ctx, domainclaim.StreamName(d), domainclaim.Claim{Domain: d, AccountID: accountID, Token: hex.EncodeToString(tok)})
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	return s.answer(ctx, awsAccountID, accountID, d, account.AddDomainClaim{AccountID: accountID, Domain: d,
		TXTName: domainclaim.TXTName(d), TXTValue: res.State.TXTValue})
}

// ListDomains returns an account's domain claims.
func (s *Service) ListDomains(ctx context.Context, awsAccountID, accountID string) ([]chimeaccounts.Domain, error) {
	return s.d.Store.ListDomains(ctx, awsAccountID, accountID)
}

// GetDomain returns one domain claim.
func (s *Service) GetDomain(ctx context.Context, awsAccountID, accountID, name string) (chimeaccounts.Domain, error) {
	d, err := domainclaim.Normalize(name)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	list, err := s.d.Store.ListDomains(ctx, awsAccountID, accountID)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	for _, x := range list {
		if x.Name == d {
			return x, nil
		}
	}
	return chimeaccounts.Domain{}, domain.Wrapf(account.ErrNoSuchClaim, "account %s has not claimed %s", accountID, d)
}

// VerifyDomain looks the claim's TXT record up; when it is published the claim is verified and a Team
// account becomes an EnterpriseLWA account.
func (s *Service) VerifyDomain(ctx context.Context, awsAccountID, accountID, name string) (chimeaccounts.Domain, error) {
	cur, err := s.GetDomain(ctx, awsAccountID, accountID, name)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	if cur.Status == domainclaim.StatusVerified {
		return cur, nil
	}
	records, err := s.d.DNS.Records(ctx, cur.TXTName)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	found := false
	for _, r := range records {
		found = found || r == cur.TXTValue
	}
	if !found {
		return chimeaccounts.Domain{}, domain.Wrapf(ErrNotVerified, "no TXT record %s with value %s was found; publish it and verify again (DNS changes can take up to 24 hours)",
			cur.TXTName, cur.TXTValue)
	}
	if _, err := s.d.Claims.Execute(ctx, domainclaim.StreamName(cur.Name), domainclaim.MarkVerified{Domain: cur.Name, AccountID: accountID}); err != nil {
		return chimeaccounts.Domain{}, err
	}
	return s.answer(ctx, awsAccountID, accountID, cur.Name, account.VerifyDomainClaim{AccountID: accountID, Domain: cur.Name})
}

// RemoveDomain removes a claim (guide §4.5 cascade for a verified domain) and frees the domain.
func (s *Service) RemoveDomain(ctx context.Context, awsAccountID, accountID, name string) error {
	cur, err := s.GetDomain(ctx, awsAccountID, accountID, name)
	if err != nil {
		return err
	}
	ar, err := s.d.Accounts.Repo.Execute(ctx, account.StreamName(accountID), account.RemoveDomainClaim{AccountID: accountID, Domain: cur.Name})
	if err != nil {
		return err
	}
	if err := s.d.Numbers.ReleaseNumbers(ctx, awsAccountID, ar.Events); err != nil {
		return err
	}
	if _, err := s.d.Claims.Execute(ctx, domainclaim.StreamName(cur.Name), domainclaim.Remove{Domain: cur.Name, AccountID: accountID}); err != nil {
		return err
	}
	s.d.Accounts.RYW.Await(ctx, s.d.Accounts.RM, ar.Position)
	if cur.Status == account.DomainStatusVerified {
		// The users lost the host role with their suspension; their scheduled meetings no longer start.
		if _, err := s.d.Meetings.DisableDomainMeetings(ctx, accountID, cur.Name); err != nil {
			return err
		}
	}
	return nil
}

// PurgeDueDomainUsers deletes the users of removed domains whose 90 days have passed. It is driven by
// the read model and the clock and is idempotent, so it resumes after any interruption.
func (s *Service) PurgeDueDomainUsers(ctx context.Context) (int, error) {
	due, err := s.d.Store.DuePurges(ctx, s.d.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range due {
		res, _, err := s.d.Accounts.Execute(ctx, account.StreamName(p.AccountID), account.PurgeDomainUsers{AccountID: p.AccountID, Domain: p.Domain})
		if err != nil {
			return n, err
		}
		usecase.Shred(ctx, s.d.Keys, s.d.Logger, p.AccountID, res.Events)
		if err := s.d.Numbers.ReleaseNumbers(ctx, res.State.AwsAccountID, res.Events); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
