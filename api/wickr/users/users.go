// Package users is the slice of a Wickr network's users (guide §14): BatchCreateUser, GetUser,
// ListUsers, UpdateUser, BatchDeleteUser, BatchToggleUserSuspendStatus, BatchReinviteUser,
// BatchLookupUserUname and GetUsersCount.
//
// Users live on roster blocks (domain/wickr/roster), their usernames on sharded directory streams
// (domain/wickr/directory), their seats on the network stream (see package domain/wickr). So
// BatchCreateUser is: check every item against the network's groups and take the seats of the valid
// ones, in one decision on the network stream (one append, coalesced with concurrent batches; the
// trial's cap), while the slot of the ids is read; claim their usernames shard by shard (at most 8
// appends, coalesced with concurrent batches), record the users on their roster block (one append of
// one event) and wait, bounded, for the users read model (the answer is built from the decision), then
// give back the seats and names of the items refused on the way. Every item is decided alone: a
// refused one is a `failed` entry with its field and reason, and the others are created.
//
// User ids: the 50 ids of a batch are consecutive and fall in one roster block: a slot of 50 ids
// among the 10-digit ids, drawn at random, or derived from the network and the X-Client-Token when
// the request has one, so that a retried request names the same users and completes the first
// (claiming a username again for its id, and recording the same user again, change nothing; the
// seats taken again are given back). A slot whose ids hold other users is passed over for the next.
//
// Deleting users gives back their seats and their usernames (the e-mail may be invited again, as a
// new user). Reads come from the users read model (projections/wickrusers); GetUsersCount reads its
// counters, never a count over the users.
//
// The users of a deleted security group are moved by package securitygroups (at once, and by its
// sweep's reactor MoveOrphans); the end users' client API (registration through the invite, sign-in
// with the group's password rules and lockout) is package api/wickr/client.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"strconv"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Store reads users from the users read model (wickrusers.Store implements it).
type Store interface {
	User(ctx context.Context, networkID, userID string) (wickrusers.User, error)
	Users(ctx context.Context, networkID string, f wickrusers.UserFilter, p wickrusers.UserPage) ([]wickrusers.User, string, error)
	Unames(ctx context.Context, networkID string, unames []string) (map[string]string, error)
	Counts(ctx context.Context, networkID string) (wickrusers.Counts, error)
}

// NetworkStore reads a network of the caller (wickrnetworks.Store implements it).
type NetworkStore interface {
	Network(ctx context.Context, awsAccountID, region, id string) (wickrnetworks.Network, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks     usecase.Networks
	Rosters      usecase.Rosters
	Directories  usecase.Directories
	Store        Store
	NetworkStore NetworkStore
	Now          func() time.Time
	Logger       *slog.Logger
}

// Service runs the users' use cases.
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

// Failure is one refused item of a batch: the user id (or uname, or app id), the field and the reason.
type Failure struct{ ID, Field, Reason string }

// policy checks that networkID is the caller's and returns what the roster needs of it (its groups,
// SSO), read under the network stream's serialization (its state's maps change in place).
func (s *Service) policy(ctx context.Context, awsAccountID, region, networkID string) (roster.Policy, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return roster.Policy{}, err
	}
	var p roster.Policy
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(networkID), func(st network.State, now time.Time) ([]network.Event, error) {
		if !st.Live() {
			return nil, domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
		}
		p = policyOf(st)
		return nil, nil
	})
	return p, err
}

// policyOf is what the roster needs of a network's state (a copy: the state's maps change in place).
func policyOf(st network.State) roster.Policy {
	p := roster.Policy{Groups: make(map[string]sg.Settings, len(st.Groups)), SSO: st.OIDC != nil}
	for id, g := range st.Groups {
		p.Groups[id] = g.Settings
	}
	return p
}

// giveBack releases n seats of the network; a failure is logged (the seat count is then too high
// until a recount, which refuses nothing but trial users beyond the cap).
func (s *Service) giveBack(ctx context.Context, networkID string, n int) {
	if n <= 0 {
		return
	}
	if _, err := s.d.Networks.Repo.Execute(ctx, network.StreamName(networkID), network.ReleaseSeats{NetworkID: networkID, N: n}); err != nil {
		s.d.Logger.Error("wickr users: releasing seats failed", "network", networkID, "seats", n, "err", err)
	}
}

// Ids of a batch: slots of MaxBatch consecutive 10-digit ids (the first digit not 0), each inside one
// roster block (RosterBlockSize is a multiple of MaxBatch, and so is the first id).
const (
	firstID = 1_000_000_000
	slots   = (10_000_000_000 - firstID) / roster.MaxBatch
)

// batchIDs are the n ids of slot attempt of a batch: random without a client token, else derived
// from the network, the token and the attempt.
func batchIDs(networkID, clientToken string, attempt, n int) []string {
	var seed [8]byte
	if clientToken == "" {
		_, _ = rand.Read(seed[:])
	} else {
		h := sha256.Sum256([]byte("wickr-users\x00" + networkID + "\x00" + clientToken + "\x00" + strconv.Itoa(attempt)))
		copy(seed[:], h[:])
	}
	base := firstID + (binary.BigEndian.Uint64(seed[:])%slots)*roster.MaxBatch
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.FormatUint(base+uint64(i), 10)
	}
	return ids
}

// userFrom is a roster user as the read model would show it.
func userFrom(networkID string, u roster.User) wickrusers.User {
	return wickrusers.User{NetworkID: networkID, UserID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		GroupID: u.GroupID, InviteCode: u.InviteCode, Status: u.Status, Failures: u.Failures, Suspended: u.Suspended,
		CodeValidation: u.CodeValidation, InviteExpiresAt: u.InviteExpiresAt, LastLogin: u.LastLogin, LockedUntil: u.LockedUntil,
		Created: u.Created, Modified: u.Modified}
}

// invited is a user as its invitation records it.
func invited(e roster.UserInvited) wickrusers.User {
	return wickrusers.User{NetworkID: e.NetworkID, UserID: e.UserID, Username: e.Username, FirstName: e.FirstName, LastName: e.LastName,
		GroupID: e.GroupID, InviteCode: e.InviteCode, Status: roster.StatusPending, CodeValidation: e.CodeValidation,
		InviteExpiresAt: e.InviteExpiresAt, Created: e.At, Modified: e.At}
}

// failureOf is the Failure of a refused roster item, with field when the refusal names none.
func failureOf(f roster.ItemFailure, field string) Failure {
	if f.Field == "" {
		return Failure{ID: f.ID, Field: field, Reason: f.Reason}
	}
	return Failure{ID: f.ID, Field: f.Field, Reason: f.Reason}
}

// validID checks a user id of a request.
func validID(field, id string) error { return wickr.ValidNumericID(field, id) }
