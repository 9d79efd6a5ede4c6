package retention_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/retention"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/network"
)

// memKeys seals in clear under the subject's key id (the tests read no ciphertext); onOpen and
// onDestroy run, once, what another caller does meanwhile.
type memKeys struct {
	mu        sync.Mutex
	destroyed map[string]bool
	onOpen    func()
	onDestroy func()
}

func (k *memKeys) SealFor(_ context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error) {
	return domain.Sealed{KeyID: domain.SubjectKeyID(tenant, subject), Data: append([]byte(nil), plaintext...)}, nil
}

func (k *memKeys) OpenSealed(_ context.Context, s domain.Sealed) ([]byte, error) {
	k.mu.Lock()
	gone, hook := k.destroyed[s.KeyID], k.onOpen
	k.onOpen = nil
	k.mu.Unlock()
	if hook != nil {
		hook()
	}
	if gone {
		return nil, domain.ErrShredded
	}
	return s.Data, nil
}

func (k *memKeys) DestroySubject(_ context.Context, tenant, subject string) error {
	k.mu.Lock()
	k.destroyed[domain.SubjectKeyID(tenant, subject)] = true
	hook := k.onDestroy
	k.onDestroy = nil
	k.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (k *memKeys) gone(tenant, subject string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.destroyed[domain.SubjectKeyID(tenant, subject)]
}

const (
	account = "123456789012"
	region  = "us-east-1"
	netID   = "12345678"
)

type harness struct {
	svc  *retention.Service
	repo *memrepo.Repo[network.State, network.Command, network.Event] // from the zero state
	keys *memKeys
}

// newHarness is the slice over one Premium network of the test account, with its data-retention bot.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{repo: memrepo.New(nil, network.Evolve, network.Decide), keys: &memKeys{destroyed: map[string]bool{}}}
	h.svc = retention.New(retention.Deps{Networks: usecase.Networks{Repo: h.repo, RYW: usecase.NewReadYourWrites(time.Second, nil)}, Keys: h.keys,
		PasswordCost: bcrypt.MinCost}) // cost 10 takes a second a hash under the race detector
	ctx := context.Background()
	create := network.Create{NetworkID: netID, Name: "Test", AwsAccountID: account, Region: region, AccessLevel: network.Premium, DefaultGroupID: "G1"}
	if _, err := h.repo.Execute(ctx, network.StreamName(netID), create); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.CreateBot(ctx, account, region, netID); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) state() network.State {
	st, _, _ := h.repo.Load(context.Background(), network.StreamName(netID))
	return st
}

// TestRegisterBotWithAChallengeReplacedMeanwhile: a new challenge replaces the last until the bot
// registers, so a registration with the old one that is checked while the new one is issued must not
// register the bot; the new one then does.
func TestRegisterBotWithAChallengeReplacedMeanwhile(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	old, err := h.svc.CreateChallenge(ctx, account, region, netID)
	if err != nil {
		t.Fatal(err)
	}
	var fresh string
	h.keys.onOpen = func() { // the admin issues a new challenge while the old one is being checked
		var err error
		if fresh, err = h.svc.CreateChallenge(ctx, account, region, netID); err != nil {
			t.Error(err)
		}
	}
	if pw, err := h.svc.RegisterBot(ctx, netID, old); err == nil {
		t.Fatalf("the replaced challenge registered the bot (password %q)", pw)
	} else if !errors.Is(err, retention.ErrWrongChallenge) {
		t.Fatalf("the replaced challenge: %v, want ErrWrongChallenge", err)
	}
	if st := h.state(); st.Retention.Registered {
		t.Fatalf("the bot is registered with a replaced challenge: %+v", st.Retention)
	}
	if _, err := h.svc.RegisterBot(ctx, netID, fresh); err != nil {
		t.Fatalf("the current challenge: %v", err)
	}
	if _, err := h.svc.RegisterBot(ctx, netID, fresh); err == nil {
		t.Fatal("a challenge registered the bot twice")
	}
}

// TestDeleteBotWhileTheBotIsReplaced: deleting the bot destroys the key of the bot it deletes. When
// the bot is deleted and created again between the read and the deletion, the deletion must not
// delete the new bot with its key left readable.
func TestDeleteBotWhileTheBotIsReplaced(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.svc.CreateChallenge(ctx, account, region, netID); err != nil {
		t.Fatal(err)
	}
	h.keys.onDestroy = func() { // another admin deletes the bot and creates a new one meanwhile
		if err := h.svc.DeleteBot(ctx, account, region, netID); err != nil {
			t.Error(err)
		}
		if err := h.svc.CreateBot(ctx, account, region, netID); err != nil {
			t.Error(err)
		}
		if _, err := h.svc.CreateChallenge(ctx, account, region, netID); err != nil {
			t.Error(err)
		}
	}
	err := h.svc.DeleteBot(ctx, account, region, netID)
	st := h.state()
	if err == nil && !st.Retention.Exists && !h.keys.gone(netID, st.Retention.Subject()) {
		t.Fatalf("the new bot (generation %d) was deleted with its key left readable", st.Retention.Generation)
	}
	if err != nil && !st.Retention.Exists {
		t.Fatalf("DeleteBot: %v, state %+v", err, st.Retention)
	}
}
