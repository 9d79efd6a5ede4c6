package users

import (
	"context"
	"fmt"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrusers"
)

// GetUser returns one user of a network of the caller.
func (s *Service) GetUser(ctx context.Context, awsAccountID, region, networkID, userID string) (wickrusers.User, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return wickrusers.User{}, err
	}
	if err := validID("userId", userID); err != nil {
		return wickrusers.User{}, err
	}
	return s.d.Store.User(ctx, networkID, userID)
}

// ListUsers returns a page of a network's users.
func (s *Service) ListUsers(ctx context.Context, awsAccountID, region, networkID string, f wickrusers.UserFilter, p wickrusers.UserPage) ([]wickrusers.User, string, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, "", err
	}
	return s.d.Store.Users(ctx, networkID, f, p)
}

// Counts is GetUsersCount's answer.
type Counts struct{ Pending, Active, Rejected, Remaining, Total int }

// GetUsersCount returns a network's user counters (kept by the users projection). Remaining is how
// many users the network may still add and keep (or, on Standard, gain) the Premium free trial: the
// trial's cap less the users; none on Premium.
func (s *Service) GetUsersCount(ctx context.Context, awsAccountID, region, networkID string) (Counts, error) {
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return Counts{}, err
	}
	// The two reads are one indexed row each; they run side by side (a network not the caller's
	// discards the counters read).
	var c wickrusers.Counts
	var cErr error
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		c, cErr = s.d.Store.Counts(ctx, networkID)
	}()
	n, err := s.d.NetworkStore.Network(ctx, awsAccountID, region, networkID)
	<-counted
	if err != nil {
		return Counts{}, err
	}
	if cErr != nil {
		return Counts{}, cErr
	}
	out := Counts{Pending: c.Pending, Active: c.Active, Total: c.Pending + c.Active}
	if n.Trial || n.AccessLevel == network.Standard {
		limit := network.TrialUserCap
		if n.Region == wickr.GovRegion {
			limit = network.GovTrialUserCap
		}
		out.Remaining = max(0, limit-out.Total)
	}
	return out, nil
}

// Lookup is BatchLookupUserUname's outcome: uname → username, and the unames not found.
type Lookup struct {
	Successful [][2]string // {uname, username}
	Failed     []Failure   // ID is the uname
}

// BatchLookupUserUname resolves username hashes (unames, 1–50) to the usernames of the network's users.
func (s *Service) BatchLookupUserUname(ctx context.Context, awsAccountID, region, networkID string, unames []string) (Lookup, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return Lookup{}, err
	}
	if len(unames) < 1 || len(unames) > roster.MaxBatch {
		return Lookup{}, wickr.Invalid("unames", "must hold 1 to %d unames, got %d", roster.MaxBatch, len(unames))
	}
	found, err := s.d.Store.Unames(ctx, networkID, unames)
	if err != nil {
		return Lookup{}, err
	}
	var out Lookup
	for i, u := range unames {
		if name, ok := found[u]; ok {
			out.Successful = append(out.Successful, [2]string{u, name})
			continue
		}
		out.Failed = append(out.Failed, Failure{ID: u, Field: fmt.Sprintf("unames[%d]", i), Reason: "no user of network " + networkID + " has this uname"})
	}
	return out, nil
}

// UpdateUser changes a user's details (names, group, invite fields; the username is permanent).
func (s *Service) UpdateUser(ctx context.Context, awsAccountID, region, networkID, userID string, d roster.UserDetails) (wickrusers.User, error) {
	pol, err := s.policy(ctx, awsAccountID, region, networkID)
	if err != nil {
		return wickrusers.User{}, err
	}
	if err := validID("userId", userID); err != nil {
		return wickrusers.User{}, err
	}
	var after wickrusers.User
	cmd := roster.UpdateUser{NetworkID: networkID, UserID: userID, Details: d, Policy: pol}
	decide := func(st roster.State, now time.Time) ([]roster.Event, error) {
		evs, err := roster.Decide(st, cmd, now)
		if err != nil {
			return nil, err
		}
		after = userFrom(networkID, *st.Users[userID])
		for _, e := range evs {
			if e, ok := e.(roster.UserUpdated); ok {
				after.FirstName, after.LastName, after.GroupID, after.InviteCode, after.CodeValidation, after.Modified =
					e.FirstName, e.LastName, e.GroupID, e.InviteCode, e.CodeValidation, e.At
				if !e.InviteExpiresAt.IsZero() {
					after.InviteExpiresAt = e.InviteExpiresAt
				}
			}
		}
		return evs, nil
	}
	_, _, err = s.d.Rosters.Decision(roster.StreamName(networkID, userID), decide).Do(ctx)
	return after, err
}
