package chime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/domainclaim"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// TXTResolver looks up TXT records; *net.Resolver implements it.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ClaimDecider is the domain-claim aggregate for the command path.
var ClaimDecider = eventstore.Decider[domainclaim.State, domainclaim.Command, domainclaim.Event]{
	Initial: domainclaim.Initial, Evolve: domainclaim.Evolve, Decide: domainclaim.Decide, Decode: domainclaim.Decode,
	Type: func(e domainclaim.Event) string { return e.EventType() },
}

// ErrNotVerified is returned when the TXT record is not (yet) published.
var ErrNotVerified = &domain.Error{Kind: domain.KindUnprocessable, Msg: "TXT record not found"}

// ClaimDomain claims a domain for an account: the domain's stream is the reservation (one account at a
// time), then the account records the claim. Claiming again heals a claim whose second step failed.
func (s *Service) ClaimDomain(ctx context.Context, awsAccountID, accountID, name string) (chimeaccounts.Domain, error) {
	d, err := domainclaim.Normalize(name)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimeaccounts.Domain{}, err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	res, err := s.claims.Execute(ctx, domainclaim.StreamName(d), domainclaim.Claim{Domain: d, AccountID: accountID, Token: hex.EncodeToString(tok)})
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	st := res.State
	ar, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.AddDomainClaim{AccountID: accountID, Domain: d,
		TXTName: domainclaim.TXTName(d), TXTValue: st.TXTValue})
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	s.waitRM(ctx, s.accountsRM, ar.Position)
	return s.GetDomain(ctx, awsAccountID, accountID, d)
}

// ListDomains returns an account's domain claims.
func (s *Service) ListDomains(ctx context.Context, awsAccountID, accountID string) ([]chimeaccounts.Domain, error) {
	return s.store.ListDomains(ctx, awsAccountID, accountID)
}

// GetDomain returns one domain claim.
func (s *Service) GetDomain(ctx context.Context, awsAccountID, accountID, name string) (chimeaccounts.Domain, error) {
	d, err := domainclaim.Normalize(name)
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	list, err := s.store.ListDomains(ctx, awsAccountID, accountID)
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
	records, err := s.resolver.LookupTXT(ctx, cur.TXTName)
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && (dnsErr.IsNotFound || dnsErr.IsTemporary)) {
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
	if _, err := s.claims.Execute(ctx, domainclaim.StreamName(cur.Name), domainclaim.MarkVerified{Domain: cur.Name, AccountID: accountID}); err != nil {
		return chimeaccounts.Domain{}, err
	}
	ar, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.VerifyDomainClaim{AccountID: accountID, Domain: cur.Name})
	if err != nil {
		return chimeaccounts.Domain{}, err
	}
	s.waitRM(ctx, s.accountsRM, ar.Position)
	return s.GetDomain(ctx, awsAccountID, accountID, cur.Name)
}

// RemoveDomain removes a claim (guide §4.5 cascade for a verified domain) and frees the domain.
func (s *Service) RemoveDomain(ctx context.Context, awsAccountID, accountID, name string) error {
	cur, err := s.GetDomain(ctx, awsAccountID, accountID, name)
	if err != nil {
		return err
	}
	ar, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.RemoveDomainClaim{AccountID: accountID, Domain: cur.Name})
	if err != nil {
		return err
	}
	if err := s.releaseNumbers(ctx, awsAccountID, ar.Events); err != nil {
		return err
	}
	if _, err := s.claims.Execute(ctx, domainclaim.StreamName(cur.Name), domainclaim.Remove{Domain: cur.Name, AccountID: accountID}); err != nil {
		return err
	}
	s.waitRM(ctx, s.accountsRM, ar.Position)
	if cur.Status == account.DomainStatusVerified {
		// The users lost the host role with their suspension; their scheduled meetings no longer start.
		if _, err := s.DisableDomainMeetings(ctx, accountID, cur.Name); err != nil {
			return err
		}
	}
	return nil
}

// PurgeDueDomainUsers deletes the users of removed domains whose 90 days have passed. It is driven by
// the read model and the clock and is idempotent, so it resumes after any interruption.
func (s *Service) PurgeDueDomainUsers(ctx context.Context) (int, error) {
	due, err := s.store.DuePurges(ctx, s.now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range due {
		res, err := s.accounts.Execute(ctx, account.StreamName(p.AccountID), account.PurgeDomainUsers{AccountID: p.AccountID, Domain: p.Domain})
		if err != nil {
			return n, err
		}
		s.waitRM(ctx, s.accountsRM, res.Position)
		s.shred(ctx, p.AccountID, res.Events)
		n++
	}
	return n, nil
}
