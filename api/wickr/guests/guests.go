// Package guests is the slice of guest users (guide §15): ListGuestUsers, GetGuestUserHistoryCount,
// ListBlockedGuestUsers and UpdateGuestUser (block and unblock).
//
// A guest is a person who registered with the Wickr client without an invitation (a guest account,
// domain/wickr/guest) and whom users of a network may talk to when their security group enables
// guest federation. The network's block list is the network's (domain/wickr/network); a blocked
// guest can reach no one in the network. The guests seen per billing period come from messaging
// (projections/wickrguests). Guest users are not available on the Premium free trial (guide §7.2):
// blocking there is ForbiddenError.
package guests

import (
	"context"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrguests"
)

// Store reads the guests read model (wickrguests.Store implements it).
type Store interface {
	BlockedGuests(ctx context.Context, networkID, username, admin string, p wickrguests.Page) ([]wickrguests.Blocked, string, error)
	Guests(ctx context.Context, networkID, username, billingPeriod string, p wickrguests.Page) ([]wickrguests.Guest, string, error)
	History(ctx context.Context, networkID, since string) ([]wickrguests.Month, error)
	Sighting(ctx context.Context, networkID, usernameHash string) (string, bool, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Guests   usecase.Guests
	Store    Store
	Now      func() time.Time
}

// Service runs the guests' use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// ListBlockedGuestUsers returns a page of the network's blocked guests.
func (s *Service) ListBlockedGuestUsers(ctx context.Context, awsAccountID, region, networkID, username, admin string, p wickrguests.Page) ([]wickrguests.Blocked, string, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, "", err
	}
	return s.d.Store.BlockedGuests(ctx, networkID, username, admin, p)
}

// ListGuestUsers returns a page of the guests the network's users communicated with.
func (s *Service) ListGuestUsers(ctx context.Context, awsAccountID, region, networkID, username, billingPeriod string, p wickrguests.Page) ([]wickrguests.Guest, string, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, "", err
	}
	return s.d.Store.Guests(ctx, networkID, username, billingPeriod, p)
}

// GetGuestUserHistoryCount counts the guests of the billing periods of the past 90 days.
func (s *Service) GetGuestUserHistoryCount(ctx context.Context, awsAccountID, region, networkID string) ([]wickrguests.Month, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, err
	}
	since := s.d.Now().UTC().AddDate(0, 0, -90).Format("2006-01")
	return s.d.Store.History(ctx, networkID, since)
}

// UpdateGuestUser blocks or unblocks a guest by its username hash; admin is who blocks. Blocking
// needs the guest known: a guest account, or a guest the network's users communicated with.
func (s *Service) UpdateGuestUser(ctx context.Context, awsAccountID, region, networkID, usernameHash, admin string, block bool) error {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return err
	}
	cmd := network.BlockGuest{NetworkID: networkID, UsernameHash: usernameHash, Admin: admin, Block: block}
	if block {
		if _, err := network.Decide(network.State{ID: networkID, Status: network.StatusActive, BlockedGuests: map[string]network.BlockedGuest{}},
			network.BlockGuest{NetworkID: networkID, UsernameHash: usernameHash, Username: "-", Block: true}, s.d.Now()); err != nil {
			return err // the hash's form, before any read
		}
		name, err := s.username(ctx, networkID, usernameHash)
		if err != nil {
			return err
		}
		cmd.Username = name
	}
	return usecase.Exec(ctx, s.d.Networks.Decision(network.StreamName(networkID), func(st network.State, now time.Time) ([]network.Event, error) {
		if st.Trial && block {
			return nil, domain.Wrapf(network.ErrPlan, "guest users are not available on the Premium free trial (network %s)", networkID)
		}
		return network.Decide(st, cmd, now)
	}))
}

// username is the e-mail of the guest with this hash.
func (s *Service) username(ctx context.Context, networkID, usernameHash string) (string, error) {
	acct, _, err := s.d.Guests.Repo.Load(ctx, guest.StreamPrefix+usernameHash)
	if err != nil {
		return "", err
	}
	if acct.Live {
		return acct.Username, nil
	}
	name, ok, err := s.d.Store.Sighting(ctx, networkID, usernameHash)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", domain.Wrapf(guest.ErrNotFound, "no guest user has the username hash %s", usernameHash)
	}
	return name, nil
}
