package users

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// Invite is one invitation as InviteUsers answers it.
type Invite struct {
	InviteID, Email, Status, EmailStatus string
}

// InviteUsers invites addresses to a Team account; an address whose domain another account has
// verified is refused (guide §4.1: Team accounts invite users of domains no other organisation
// claimed; the claims are read from the accounts read model). The invitation mails are side effects:
// the relay enqueues one per invitation with the commit, and DeliverInvitation sends it (with
// retries). The call waits (bounded) until the mails went out, so EmailStatus is normally Sent or Failed.
func (s *Service) InviteUsers(ctx context.Context, awsAccountID, accountID string, emails []string, userType string) ([]Invite, error) {
	cmd := account.InviteUsers{AccountID: accountID, UserType: userType}
	domains := make([]string, 0, len(emails))
	for _, e := range emails {
		domains = append(domains, emailDomain(e))
	}
	owners, err := s.d.Store.VerifiedDomainOwners(ctx, domains)
	if err != nil {
		return nil, err
	}
	for _, e := range emails {
		cmd.Items = append(cmd.Items, account.InviteItem{Email: e, UserID: uuid.NewString(), InviteID: uuid.NewString(), ClaimedBy: owners[emailDomain(e)]})
	}
	c := s.d.Accounts.Command(account.StreamName(accountID), cmd).After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID))
	d, _, err := c.Do(ctx)
	if err != nil {
		return nil, err
	}
	var out []Invite
	var ids []string
	for _, e := range d.Events {
		if inv, ok := e.(account.UserInvited); ok {
			out = append(out, Invite{InviteID: inv.InviteID, Email: inv.Email, Status: account.InvitePending, EmailStatus: account.EmailNotSent})
			ids = append(ids, inv.InviteID)
		}
	}
	return out, s.awaitMails(ctx, out, ids)
}

// emailDomain is the lower-case domain of an address ("" without '@').
func emailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(email[at+1:])
}

// awaitMails fills in the invitations' EmailStatus as the read model records the mails, until none
// is NotSent or ReadModelWait has passed. An invitation the read model does not show yet stays NotSent.
func (s *Service) awaitMails(ctx context.Context, out []Invite, ids []string) error {
	deadline := time.Now().Add(s.d.Accounts.RYW.Wait())
	for len(ids) > 0 && time.Now().Before(deadline) {
		st, err := s.d.Store.InviteEmailStatuses(ctx, ids)
		if err != nil {
			return err
		}
		pending := 0
		for i := range out {
			if status, ok := st[out[i].InviteID]; ok {
				out[i].EmailStatus = status
			}
			if out[i].EmailStatus == account.EmailNotSent {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}

// DeliverInvitation sends an invitation mail with a fresh single-use token (its hash is recorded
// first, so the mailed token is always the valid one). A mail already sent is not sent again.
func (s *Service) DeliverInvitation(ctx context.Context, accountID, inviteID, email string) error {
	st, err := s.d.Store.InviteEmailStatuses(ctx, []string{inviteID})
	if err != nil {
		return err
	}
	if st[inviteID] == account.EmailSent {
		return nil
	}
	raw, hash := usecase.NewToken()
	repo := s.d.Accounts.Repo
	res, err := repo.Execute(ctx, account.StreamName(accountID), account.IssueInviteToken{AccountID: accountID, InviteID: inviteID, TokenHash: hash})
	if domain.KindOf(err) != 0 {
		return nil // the invitation was used or expired meanwhile: nothing to send
	}
	if err != nil {
		return err
	}
	status := account.EmailSent
	body := fmt.Sprintf("You are invited to join an Amazon Chime team hosted by Belfry.\n\n"+
		"Register within 7 days by sending your registration token with a password to POST /client/v1/registrations:\n\n  %s\n", raw)
	if err := s.d.Mail.Send(ctx, email, "Your invitation to Amazon Chime", body); err != nil {
		status = account.EmailFailed
	}
	r, err := repo.Execute(ctx, account.StreamName(accountID), account.RecordInviteEmail{AccountID: accountID, InviteID: inviteID, Status: status})
	if err != nil {
		return err
	}
	s.d.Accounts.RYW.Await(ctx, s.d.Accounts.RM, max(res.Position, r.Position))
	return nil
}
