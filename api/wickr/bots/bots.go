// Package bots is the slice of a Wickr network's bots (guide §14.4): CreateBot, GetBot, ListBots,
// UpdateBot, DeleteBot and GetBotsCount. Bots are decided on the network stream (package
// domain/wickr/network) and read from the networks read model (projections/wickrnetworks).
//
// Invariants:
//   - A bot's password (the model's challenge) never leaves the request in clear: it is hashed
//     (usecase.HashPassword) and the hash is sealed under the bot's own key (wickr.BotSubject, the network as
//     tenant) before it reaches an event; the read model only says that a password is set, and the
//     audit record hides the member (api/awsproto's sensitive members).
//   - Deleting a bot destroys its key: every stored copy of its password becomes unreadable.
//   - Bot ids are numeric (the model's BotId, 1–10 digits) and never reused: an id whose key was
//     destroyed is drawn again.
package bots

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrnetworks"
)

// Store reads bots from the networks read model (wickrnetworks.Store implements it).
type Store interface {
	Bot(ctx context.Context, networkID, botID string) (wickrnetworks.Bot, error)
	Bots(ctx context.Context, networkID string, q wickrnetworks.BotQuery) ([]wickrnetworks.Bot, string, error)
	BotsCount(ctx context.Context, networkID string) (pending, active int, err error)
}

// Keys seals a credential under a subject's key, opens it, and destroys a subject's key
// (infra/datakeys implements it).
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	OpenSealed(ctx context.Context, sealed domain.Sealed) ([]byte, error)
	DestroySubject(ctx context.Context, tenant, subject string) error
}

// ErrWrongPassword is a bot sign-in with a password that is not the bot's.
var ErrWrongPassword = &domain.Error{Kind: domain.KindForbidden, Msg: "wrong bot username or password"}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Store    Store
	Keys     Keys
	// PasswordCost is the bcrypt cost of the challenges' hashes (0: bcrypt.DefaultCost).
	PasswordCost int
}

// Service runs the bot use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// MaxChallenge bounds a bot password (the model sets none; a request body is bounded anyway).
const MaxChallenge = 1024

// errDestroyedID is a drawn bot id whose key was destroyed (a deleted bot's): drawn again.
var errDestroyedID = errors.New("bots: the drawn id belonged to a deleted bot")

// errTakenID is a drawn bot id that names a bot of the network: drawn again.
var errTakenID = errors.New("bots: the drawn id names a bot")

func validChallenge(field, challenge string) error {
	switch {
	case challenge == "":
		return wickr.Invalid(field, "is required")
	case len(challenge) > MaxChallenge:
		return wickr.Invalid(field, "must be at most %d bytes", MaxChallenge)
	}
	return nil
}

// seal hashes a bot's password and seals the hash under the bot's key.
func (s *Service) seal(ctx context.Context, networkID, botID, challenge string) (domain.Sealed, error) {
	h, err := usecase.HashPassword(challenge, s.d.PasswordCost)
	if err != nil {
		return domain.Sealed{}, fmt.Errorf("bots: hash the password: %w", err)
	}
	sealed, err := s.d.Keys.SealFor(ctx, networkID, wickr.BotSubject(botID), h)
	if errors.Is(err, domain.ErrShredded) {
		return domain.Sealed{}, errDestroyedID
	}
	return sealed, err
}

// newBotID is a random bot id of 10 digits, the first not 0.
func newBotID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprint(1_000_000_000 + n.Int64())
}

// CreateInput is CreateBot's request.
type CreateInput struct {
	Username, DisplayName, GroupID, Challenge string
}

// CreateBot creates a pending bot in a network of the caller.
func (s *Service) CreateBot(ctx context.Context, awsAccountID, region, networkID string, in CreateInput) (wickrnetworks.Bot, error) {
	if err := validChallenge("challenge", in.Challenge); err != nil {
		return wickrnetworks.Bot{}, err
	}
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return wickrnetworks.Bot{}, err
	}
	for range 5 {
		id := newBotID()
		create := network.CreateBot{NetworkID: networkID, BotID: id, Username: in.Username, DisplayName: in.DisplayName, GroupID: in.GroupID,
			Challenge: domain.Sealed{KeyID: domain.SubjectKeyID(networkID, wickr.BotSubject(id)), Data: []byte{0}}}
		// Every rule of the request first, on the current state: no key is made for a refused request.
		err := s.inspect(ctx, networkID, func(st network.State) error {
			if _, taken := st.Bots[id]; taken {
				return errTakenID
			}
			_, err := network.Decide(st, create, st.UpdatedAt)
			return err
		})
		if errors.Is(err, errTakenID) {
			continue
		} else if err != nil {
			return wickrnetworks.Bot{}, err
		}
		if create.Challenge, err = s.seal(ctx, networkID, id, in.Challenge); errors.Is(err, errDestroyedID) {
			continue
		} else if err != nil {
			return wickrnetworks.Bot{}, err
		}
		return usecase.Run(ctx, s.owned(awsAccountID, region, networkID, create), s.reader(networkID, id), fromDecided(id))
	}
	return wickrnetworks.Bot{}, fmt.Errorf("bots: no free bot id in network %s after 5 draws", networkID)
}

// inspect runs fn on the network's state as its stream holds it now, under the stream's lock: Evolve
// changes the state's maps and bots in place, so the state is read there and nowhere else.
func (s *Service) inspect(ctx context.Context, networkID string, fn func(network.State) error) error {
	return s.d.Networks.Repo.Inspect(ctx, network.StreamName(networkID), true, fn)
}

func (s *Service) owned(awsAccountID, region, networkID string, cmd network.Command) usecase.Command[network.State, network.Event] {
	return s.d.Networks.Command(network.StreamName(networkID), cmd).After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, networkID))
}

func (s *Service) reader(networkID, botID string) func(context.Context) (wickrnetworks.Bot, error) {
	return func(ctx context.Context) (wickrnetworks.Bot, error) { return s.d.Store.Bot(ctx, networkID, botID) }
}

// fromDecided is the bot as the network decided it.
func fromDecided(botID string) func(usecase.Decided[network.State, network.Event]) (wickrnetworks.Bot, error) {
	return func(d usecase.Decided[network.State, network.Event]) (wickrnetworks.Bot, error) {
		b, err := d.State.Bot(botID)
		if err != nil {
			return wickrnetworks.Bot{}, err
		}
		return wickrnetworks.Bot{NetworkID: d.State.ID, ID: b.ID, Username: b.Username, DisplayName: b.DisplayName, GroupID: b.GroupID,
			Status: b.Status, Suspended: b.Suspended, HasChallenge: !b.Challenge.IsZero(), LastLogin: b.LastLogin}, nil
	}
}

// checkIDs checks the path members of a bot.
func checkIDs(networkID, botID string) error {
	return errors.Join(wickr.ValidNetworkID("networkId", networkID), wickr.ValidNumericID("botId", botID))
}

// GetBot returns a bot of a network of the caller.
func (s *Service) GetBot(ctx context.Context, awsAccountID, region, networkID, botID string) (wickrnetworks.Bot, error) {
	if err := checkIDs(networkID, botID); err != nil {
		return wickrnetworks.Bot{}, err
	}
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return wickrnetworks.Bot{}, err
	}
	return s.d.Store.Bot(ctx, networkID, botID)
}

// ListBots returns a page of a network's bots.
func (s *Service) ListBots(ctx context.Context, awsAccountID, region, networkID string, q wickrnetworks.BotQuery) ([]wickrnetworks.Bot, string, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, "", err
	}
	return s.d.Store.Bots(ctx, networkID, q)
}

// Counts are GetBotsCount's answer.
type Counts struct{ Pending, Active, Total int }

// BotsCount counts a network's bots by status.
func (s *Service) BotsCount(ctx context.Context, awsAccountID, region, networkID string) (Counts, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return Counts{}, err
	}
	p, a, err := s.d.Store.BotsCount(ctx, networkID)
	return Counts{Pending: p, Active: a, Total: p + a}, err
}

// UpdateInput is UpdateBot's request: nil members are unchanged.
type UpdateInput struct {
	DisplayName, GroupID, Challenge *string
	Suspend                         *bool
}

// UpdateBot changes a bot's display name, group, password or suspension.
func (s *Service) UpdateBot(ctx context.Context, awsAccountID, region, networkID, botID string, in UpdateInput) error {
	if err := checkIDs(networkID, botID); err != nil {
		return err
	}
	u := network.UpdateBot{NetworkID: networkID, BotID: botID, DisplayName: in.DisplayName, GroupID: in.GroupID, Suspend: in.Suspend}
	if in.Challenge != nil {
		if err := validChallenge("challenge", *in.Challenge); err != nil {
			return err
		}
		if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
			return err
		}
		if err := s.inspect(ctx, networkID, func(st network.State) error {
			_, err := st.Bot(botID)
			return err
		}); err != nil {
			return err // no key for a bot that does not exist
		}
		sealed, err := s.seal(ctx, networkID, botID, *in.Challenge)
		if errors.Is(err, errDestroyedID) {
			return domain.Wrapf(network.ErrBotNotFound, "Bot %s not found in network %s", botID, networkID)
		}
		if err != nil {
			return err
		}
		u.Challenge = &sealed
	}
	return usecase.Exec(ctx, s.owned(awsAccountID, region, networkID, u))
}

// DeleteBot destroys a bot's key, then deletes the bot. In that order: if the deletion then fails,
// the bot is left without a readable password (it cannot sign in) and a retry deletes it.
func (s *Service) DeleteBot(ctx context.Context, awsAccountID, region, networkID, botID string) error {
	if err := checkIDs(networkID, botID); err != nil {
		return err
	}
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return err
	}
	if err := s.inspect(ctx, networkID, func(st network.State) error {
		_, err := st.Bot(botID)
		return err
	}); err != nil {
		return err
	}
	if err := s.d.Keys.DestroySubject(ctx, networkID, wickr.BotSubject(botID)); err != nil {
		return fmt.Errorf("bots: destroy the key of bot %s: %w", botID, err)
	}
	return usecase.Exec(ctx, s.owned(awsAccountID, region, networkID, network.DeleteBot{NetworkID: networkID, BotID: botID}))
}

// SignIn is a bot's sign-in with its password (for the client API): the password is checked against
// the sealed hash, and a pending bot becomes active. A suspended bot cannot sign in.
func (s *Service) SignIn(ctx context.Context, networkID, botID, password string) error {
	if err := checkIDs(networkID, botID); err != nil {
		return err
	}
	var challenge domain.Sealed
	if err := s.inspect(ctx, networkID, func(st network.State) error {
		if !st.Live() {
			return domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
		}
		b, err := st.Bot(botID)
		if err == nil {
			challenge = b.Challenge
		}
		return err
	}); err != nil {
		return err
	}
	hash, err := s.d.Keys.OpenSealed(ctx, challenge)
	if err != nil {
		return fmt.Errorf("bots: open the password of bot %s: %w", botID, err)
	}
	if !usecase.CheckPassword(hash, password) {
		return domain.Wrapf(ErrWrongPassword, "wrong password for bot %s", botID)
	}
	return usecase.Exec(ctx, s.d.Networks.Command(network.StreamName(networkID), network.ActivateBot{NetworkID: networkID, BotID: botID}))
}
