// Package networks is the slice of Wickr networks: CreateNetwork, GetNetwork, ListNetworks,
// UpdateNetwork, DeleteNetwork and Get/UpdateNetworkSettings, with the plans and the Premium free
// trial of guide §7.
//
// A network belongs to the AWS account and the region of the call that created it. Creating one
// registers it on the account's stream first (one trial per account, ever; none after a trial
// network's deletion), once the request has passed every check of the network's decider, so that a
// refused request changes nothing. Mutations answer from the decided events when the read model is
// late. Two use cases run in the background, on a sweep of cmd/belfry: ExpireTrials (trials that are
// over fall back to Standard) and CompleteDeletions (the rest of a requested deletion, resumable).
package networks

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrnetworks"
)

// Store reads networks from the networks read model (wickrnetworks.Store implements it).
type Store interface {
	Network(ctx context.Context, awsAccountID, region, id string) (wickrnetworks.Network, error)
	Networks(ctx context.Context, awsAccountID, region string, p wickrnetworks.Page) ([]wickrnetworks.Network, string, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Accounts usecase.Accounts
	Store    Store
	Trials   EndedTrials // nil: no trial expiry
	Fanout   *Fanout     // nil: deletions stay pending
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the network use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// CreateInput is CreateNetwork's request.
type CreateInput struct {
	Name, AccessLevel, EncryptionKeyArn string
	Trial                               bool
}

// CreateNetwork creates a network of the caller's AWS account in region.
func (s *Service) CreateNetwork(ctx context.Context, awsAccountID, region string, in CreateInput) (wickrnetworks.Network, error) {
	var id string
	for range 5 { // a random id that names a network already is drawn again
		id = usecase.NewNetworkID()
		st, err := s.d.Networks.Repo.Peek(ctx, network.StreamName(id))
		if err != nil {
			return wickrnetworks.Network{}, err
		}
		if st.Status == "" {
			break
		}
	}
	create := network.Create{NetworkID: id, Name: in.Name, AwsAccountID: awsAccountID, Region: region, AccessLevel: in.AccessLevel,
		EncryptionKeyArn: in.EncryptionKeyArn, EnablePremiumFreeTrial: in.Trial, DefaultGroupID: usecase.NewGroupID(id, "")}
	// Every rule of the request first: nothing is registered for a request the network refuses.
	if _, err := network.Decide(network.Initial(), create, s.d.Now()); err != nil {
		return wickrnetworks.Network{}, err
	}
	reg := account.RegisterNetwork{NetworkID: id, Trial: in.Trial}
	if _, err := s.d.Accounts.Repo.Execute(ctx, account.StreamName(awsAccountID), reg); err != nil {
		return wickrnetworks.Network{}, trialField(err)
	}
	return usecase.Run(ctx, s.d.Networks.Command(network.StreamName(id), create), nil, fromDecided)
}

// trialField names the member behind the account's trial refusal.
func trialField(err error) error {
	if errors.Is(err, account.ErrTrialUsed) {
		return wickr.FieldErr(account.ErrTrialUsed, "enablePremiumFreeTrial", "%s", err.Error())
	}
	return err
}

// fromDecided is the network as its aggregate decided it.
func fromDecided(d usecase.Decided[network.State, network.Event]) (wickrnetworks.Network, error) {
	st := d.State
	return wickrnetworks.Network{ID: st.ID, AwsAccountID: st.AwsAccountID, Region: st.Region, Name: st.Name, AccessLevel: st.AccessLevel,
		EncryptionKeyArn: st.EncryptionKeyArn, Status: st.Status, Trial: st.Trial, TrialExpiresAt: st.TrialExpiresAt, Seats: st.Seats,
		Settings: st.Settings, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}, nil
}

// GetNetwork returns one network of the caller in region.
func (s *Service) GetNetwork(ctx context.Context, awsAccountID, region, id string) (wickrnetworks.Network, error) {
	if err := wickr.ValidNetworkID("networkId", id); err != nil {
		return wickrnetworks.Network{}, err
	}
	return s.d.Store.Network(ctx, awsAccountID, region, id)
}

// ListNetworks returns a page of the caller's networks in region.
func (s *Service) ListNetworks(ctx context.Context, awsAccountID, region string, p wickrnetworks.Page) ([]wickrnetworks.Network, string, error) {
	return s.d.Store.Networks(ctx, awsAccountID, region, p)
}

func (s *Service) owned(awsAccountID, region, id string, cmd network.Command) usecase.Command[network.State, network.Event] {
	return s.d.Networks.Command(network.StreamName(id), cmd).After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, id))
}

// UpdateInput is UpdateNetwork's request. AccessLevel and Trial are Belfry's members for the
// console's plan change (guide §7.1, Network details → Edit → plan); the model has neither.
type UpdateInput struct {
	Name             string
	EncryptionKeyArn *string
	AccessLevel      *string
	Trial            *bool
}

// UpdateNetwork renames the network, sets its KMS key and, with AccessLevel or Trial, changes its plan.
func (s *Service) UpdateNetwork(ctx context.Context, awsAccountID, region, id string, in UpdateInput) error {
	var plan *network.ChangePlan
	if in.AccessLevel != nil || (in.Trial != nil && *in.Trial) {
		plan = &network.ChangePlan{NetworkID: id, AccessLevel: deref(in.AccessLevel), Trial: in.Trial != nil && *in.Trial}
	}
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, id); err != nil {
		return err
	}
	// Every rule of the request first, on the current state (read under the stream's lock: Evolve
	// changes the state's groups in place): nothing changes for a refused request.
	update := network.Update{NetworkID: id, Name: in.Name, EncryptionKeyArn: in.EncryptionKeyArn}
	if err := s.d.Networks.Repo.Inspect(ctx, network.StreamName(id), true, func(st network.State) error {
		if _, err := network.Decide(st, update, s.d.Now()); err != nil || plan == nil {
			return err
		}
		_, err := network.Decide(st, *plan, s.d.Now())
		return planField(err)
	}); err != nil {
		return err
	}
	if plan != nil && plan.Trial {
		if _, err := s.d.Accounts.Repo.Execute(ctx, account.StreamName(awsAccountID), account.GrantTrial{NetworkID: id}); err != nil {
			return trialField(err)
		}
	}
	if _, err := usecase.Run(ctx, s.owned(awsAccountID, region, id, update), nil, fromDecided); err != nil {
		return err
	}
	if plan == nil {
		return nil
	}
	_, err := usecase.Run(ctx, s.owned(awsAccountID, region, id, *plan), nil, fromDecided)
	return planField(err)
}

// planField names the member behind a refused plan change.
func planField(err error) error {
	switch {
	case errors.Is(err, network.ErrTrial), errors.Is(err, network.ErrTrialCap):
		return wickr.FieldErr(err, "enablePremiumFreeTrial", "%s", err.Error())
	}
	return err
}

// DeleteNetwork deletes the network (guide §2.3, "may take a few minutes"): the deletion is
// requested — from then on the network is gone for every call — and the account forgets the network
// (a trial network's deletion ends the account's network creation; the trial granted to a network
// that never was on it goes back to the account); the rest of the deletion (its
// keys, users, usernames, bots) is carried on in the background by CompleteDeletions. Deleting a
// network already being deleted or deleted by the caller succeeds again (a retry).
func (s *Service) DeleteNetwork(ctx context.Context, awsAccountID, region, id string) error {
	if err := wickr.ValidNetworkID("networkId", id); err != nil {
		return err
	}
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(id))
	if err != nil {
		return err
	}
	if st.Status == "" || st.AwsAccountID != awsAccountID || st.Region != region {
		return domain.Wrapf(network.ErrNotFound, "Network %s not found", id)
	}
	// A network being deleted changes plan no more.
	onTrial, neverTrialled := st.Trial, !st.EverTrialled
	if st.Status == network.StatusActive {
		// Whether it is deleted on the trial, or never was on it, is read on the state the deletion
		// is decided on: a plan change may have run since the load. Exec waits (bounded) for the read
		// model: the network is gone for the caller's next call.
		del := s.d.Networks.Decision(network.StreamName(id), func(cur network.State, now time.Time) ([]network.Event, error) {
			onTrial, neverTrialled = cur.Trial, !cur.EverTrialled
			return network.Decide(cur, network.Delete{NetworkID: id}, now)
		})
		if err := usecase.Exec(ctx, del); err != nil {
			return err
		}
	}
	// A trial granted to a network that never was on it (a plan change this deletion refused) goes
	// back to the account.
	_, err = s.d.Accounts.Repo.Execute(ctx, account.StreamName(awsAccountID), account.RemoveNetwork{NetworkID: id, OnTrial: onTrial, NeverTrialled: neverTrialled})
	return err
}

// NetworkSettings returns the network's settings.
func (s *Service) NetworkSettings(ctx context.Context, awsAccountID, region, id string) (network.Settings, error) {
	n, err := s.GetNetwork(ctx, awsAccountID, region, id)
	return n.Settings, err
}

// UpdateNetworkSettings changes the settings given and returns them all.
func (s *Service) UpdateNetworkSettings(ctx context.Context, awsAccountID, region string, u network.UpdateSettings) (network.Settings, error) {
	n, err := usecase.Run(ctx, s.owned(awsAccountID, region, u.NetworkID, u), nil, fromDecided)
	return n.Settings, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
