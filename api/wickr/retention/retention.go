// Package retention is the slice of a Wickr network's data-retention bot (guide §8):
// CreateDataRetentionBot, CreateDataRetentionBotChallenge, GetDataRetentionBot, UpdateDataRetention
// (ENABLE, DISABLE, PUBKEY_MSG_ACK) and DeleteDataRetentionBot, and the bot's registration with its
// challenge for the client API (RegisterBot). The bot and its state are decided on the network
// stream (package domain/wickr/network); what the bot receives is built with messaging.
//
// Invariants:
//   - The challenge (the bot's initial password) is generated here and answered once, in clear, to
//     the call that made it; only its hash (usecase.HashPassword), sealed under the key of the
//     network's current bot (network.Retention.Subject), reaches the event log. So does the password
//     the bot generates when it registers.
//   - Deleting the bot destroys that key before the bot is deleted: its passwords are unreadable
//     everywhere. A bot created again seals under a key of its own.
//   - GetDataRetentionBot answers from the network stream: the bot's state is a handful of flags the
//     deciders keep, read rarely, and it must reflect the last command at once.
package retention

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
)

// PasswordLength is the length of the passwords generated here (guide §8.4's example has 24).
const PasswordLength = 24

// Keys seals a credential under a subject's key, opens it, and destroys a subject's key
// (infra/datakeys implements it).
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	OpenSealed(ctx context.Context, sealed domain.Sealed) ([]byte, error)
	DestroySubject(ctx context.Context, tenant, subject string) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Keys     Keys
	// PasswordCost is the bcrypt cost of the bot's password hashes (0: bcrypt.DefaultCost).
	PasswordCost int
}

// Service runs the data-retention bot's use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// ErrWrongChallenge is a registration with a password that is not the bot's challenge.
var ErrWrongChallenge = &domain.Error{Kind: domain.KindForbidden, Msg: "wrong data-retention bot password"}

func (s *Service) owned(awsAccountID, region, networkID string, cmd network.Command) usecase.Command[network.State, network.Event] {
	return s.d.Networks.Command(network.StreamName(networkID), cmd).After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, networkID))
}

// state is a network of the caller as its stream holds it now.
func (s *Service) state(ctx context.Context, awsAccountID, region, networkID string) (network.State, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return network.State{}, err
	}
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(networkID))
	if err == nil && !st.Live() {
		err = domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
	}
	return st, err
}

// CreateBot creates the network's data-retention bot (again: no change).
func (s *Service) CreateBot(ctx context.Context, awsAccountID, region, networkID string) error {
	return usecase.Exec(ctx, s.owned(awsAccountID, region, networkID, network.CreateRetentionBot{NetworkID: networkID}))
}

// seal hashes a password and seals the hash under the key of the network's current bot.
func (s *Service) seal(ctx context.Context, st network.State, password string) (domain.Sealed, error) {
	h, err := usecase.HashPassword(password, s.d.PasswordCost)
	if err != nil {
		return domain.Sealed{}, fmt.Errorf("retention: hash the password: %w", err)
	}
	return s.d.Keys.SealFor(ctx, st.ID, st.Retention.Subject(), h)
}

// placeholder is a sealed value of the right key, for checking a command before anything is sealed.
func placeholder(st network.State) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID(st.ID, st.Retention.Subject()), Data: []byte{0}}
}

// CreateChallenge gives the bot a new initial password and answers it, once, in clear.
func (s *Service) CreateChallenge(ctx context.Context, awsAccountID, region, networkID string) (string, error) {
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return "", err
	}
	// Every rule first, on the current state: no key is made for a refused request.
	if _, err := network.Decide(st, network.IssueRetentionChallenge{NetworkID: networkID, Challenge: placeholder(st)}, st.UpdatedAt); err != nil {
		return "", err
	}
	challenge := usecase.RandomPassword(PasswordLength)
	sealed, err := s.seal(ctx, st, challenge)
	if err != nil {
		return "", err
	}
	err = usecase.Exec(ctx, s.owned(awsAccountID, region, networkID, network.IssueRetentionChallenge{NetworkID: networkID, Challenge: sealed}))
	if err != nil {
		return "", err
	}
	return challenge, nil
}

// Status is GetDataRetentionBot's answer.
type Status struct {
	BotName                                                 string
	Exists, Active, Registered, ServiceEnabled, PubkeyAcked bool
}

// Bot returns the state of the network's data-retention bot. A registered bot is active: it has
// signed in with its challenge.
func (s *Service) Bot(ctx context.Context, awsAccountID, region, networkID string) (Status, error) {
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return Status{}, err
	}
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return Status{}, err
	}
	r := st.Retention
	return Status{BotName: r.BotName, Exists: r.Exists, Active: r.Registered, Registered: r.Registered,
		ServiceEnabled: st.Settings.DataRetention, PubkeyAcked: r.PubkeyAcked}, nil
}

// Update is UpdateDataRetention: ENABLE, DISABLE or PUBKEY_MSG_ACK.
func (s *Service) Update(ctx context.Context, awsAccountID, region, networkID, action string) error {
	return usecase.Exec(ctx, s.owned(awsAccountID, region, networkID, network.UpdateDataRetention{NetworkID: networkID, Action: action}))
}

// errReplaced refuses a decision made for a bot that was deleted and created again since it was read.
var errReplaced = &domain.Error{Kind: domain.KindConflict, Msg: "the data-retention bot was replaced meanwhile; retry"}

// deleteAttempts bounds DeleteBot's retries when the bot is replaced under it.
const deleteAttempts = 3

// DeleteBot destroys the bot's key, then deletes the bot (data retention goes off with it). In that
// order: if the deletion then fails, the bot's passwords are already unreadable and a retry deletes it.
// The deletion is decided for the bot whose key was destroyed (its Generation): a bot deleted and
// created again meanwhile has a key of its own, destroyed on the next attempt before it is deleted.
func (s *Service) DeleteBot(ctx context.Context, awsAccountID, region, networkID string) error {
	for range deleteAttempts {
		st, err := s.state(ctx, awsAccountID, region, networkID)
		if err != nil {
			return err
		}
		if !st.Retention.Exists {
			return domain.Wrapf(network.ErrNoRetentionBot, "network %s has no data-retention bot", networkID)
		}
		if err := s.d.Keys.DestroySubject(ctx, networkID, st.Retention.Subject()); err != nil {
			return fmt.Errorf("retention: destroy the key of the data-retention bot of network %s: %w", networkID, err)
		}
		cmd := network.DeleteRetentionBot{NetworkID: networkID}
		err = usecase.Exec(ctx, s.d.Networks.Decision(network.StreamName(networkID), func(cur network.State, now time.Time) ([]network.Event, error) {
			if cur.Retention.Exists && cur.Retention.Generation != st.Retention.Generation {
				return nil, errReplaced
			}
			return network.Decide(cur, cmd, now)
		}).After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, networkID)))
		if !errors.Is(err, errReplaced) {
			return err
		}
	}
	return domain.Wrapf(errReplaced, "the data-retention bot of network %s was replaced while it was being deleted; retry", networkID)
}

// RegisterBot is the bot's first sign-in with its challenge (for the client API, guide §8.4): the
// challenge is spent and the bot gets a generated password, answered once in clear.
func (s *Service) RegisterBot(ctx context.Context, networkID, challenge string) (string, error) {
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return "", err
	}
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(networkID))
	if err != nil {
		return "", err
	}
	if _, err := network.Decide(st, network.RegisterRetentionBot{NetworkID: networkID, Password: placeholder(st)}, st.UpdatedAt); err != nil {
		return "", err
	}
	hash, err := s.d.Keys.OpenSealed(ctx, st.Retention.Challenge)
	if err != nil {
		return "", fmt.Errorf("retention: open the challenge of network %s: %w", networkID, err)
	}
	if !usecase.CheckPassword(hash, challenge) {
		return "", domain.Wrapf(ErrWrongChallenge, "wrong password for the data-retention bot of network %s", networkID)
	}
	password := usecase.RandomPassword(PasswordLength)
	sealed, err := s.seal(ctx, st, password)
	if err != nil {
		return "", err
	}
	// Decided on the current state for the challenge checked above: one issued (or a bot created)
	// since replaced it, and the checked one no longer registers the bot.
	cmd := network.RegisterRetentionBot{NetworkID: networkID, Password: sealed}
	_, err = s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(networkID), func(cur network.State, now time.Time) ([]network.Event, error) {
		r := cur.Retention
		if !r.Registered && (r.Generation != st.Retention.Generation || !sameSealed(r.Challenge, st.Retention.Challenge)) {
			return nil, domain.Wrapf(ErrWrongChallenge, "the challenge of the data-retention bot of network %s was replaced", networkID)
		}
		return network.Decide(cur, cmd, now)
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// sameSealed reports whether a and b are the same sealed value (each sealing has a nonce of its own).
func sameSealed(a, b domain.Sealed) bool {
	return a.KeyID == b.KeyID && bytes.Equal(a.Data, b.Data)
}
