package main

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/infra/mail"
)

// flakyMail fails the first `failures` sends, then records every message.
type flakyMail struct {
	mu       sync.Mutex
	failures int
	attempts int
	sent     []mail.Message
}

func (f *flakyMail) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.attempts <= f.failures {
		return errors.New("smtp relay unavailable")
	}
	f.sent = append(f.sent, m)
	return nil
}

// TestInvitationMailIsASideEffect: the mail is enqueued with the relay's checkpoint and delivered by
// the watermill router; a failed send is recorded, and a later invitation is delivered normally.
func TestInvitationMailIsASideEffect(t *testing.T) {
	t.Parallel()
	fm := &flakyMail{failures: 1}
	b := startBelfryWith(t, func(m *Main) { m.Mail = fm })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Mailing")})
	first, err := b.client.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: a.Account.AccountId, UserEmailList: []string{"one@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if first.Invites[0].EmailStatus != types.EmailStatusFailed {
		t.Fatalf("a failing relay must show as Failed: %s", first.Invites[0].EmailStatus)
	}
	second, err := b.client.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: a.Account.AccountId, UserEmailList: []string{"two@example.com"}})
	if err != nil || second.Invites[0].EmailStatus != types.EmailStatusSent {
		t.Fatalf("second invitation: %+v %v", second, err)
	}
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if len(fm.sent) != 1 || fm.sent[0].To != "two@example.com" {
		t.Fatalf("sent: %+v", fm.sent)
	}
}
