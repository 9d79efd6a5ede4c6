package users

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrusers"
)

// CreateResult is BatchCreateUser's outcome: the users created (or found created by the same
// request before) and the refused items.
type CreateResult struct {
	Successful []wickrusers.User
	Failed     []Failure
}

// batch is one BatchCreateUser request on its way: its items with their ids, and each item's fate.
type batch struct {
	networkID string
	items     []roster.NewUser // normalized username, UserID allocated
	failed    map[int]Failure  // by item index
}

// fail refuses item i for err, whose fields are relative to the item.
func (b *batch) fail(i int, err error) { b.refuse(i, wickr.Prefix(fmt.Sprintf("users[%d]", i), err)) }

// refuse refuses item i for err, whose fields are rooted at the request.
func (b *batch) refuse(i int, err error) {
	if r := wickr.Reasons(err); len(r) > 0 {
		b.failed[i] = Failure{ID: b.items[i].UserID, Field: r[0].Field, Reason: r[0].Reason}
		return
	}
	b.failed[i] = Failure{ID: b.items[i].UserID, Field: fmt.Sprintf("users[%d]", i), Reason: err.Error()}
}

// live are the indexes of the items not refused yet.
func (b *batch) live() []int {
	var out []int
	for i := range b.items {
		if _, ok := b.failed[i]; !ok {
			out = append(out, i)
		}
	}
	return out
}

// BatchTimeout bounds a BatchCreateUser once admitted: it no longer ends with its caller's context.
const BatchTimeout = time.Minute

// BatchCreateUser invites users (1–50) into a network of the caller; clientToken ("" for none)
// makes a retried request name the same users.
//
// Once its items are checked and its network found, a batch runs to its end (for at most
// BatchTimeout) even if its caller goes away: a decision the event store took for a caller that
// left is still appended (its caller sees only its context's error), so a batch stopped between
// taking seats and recording users, or between claiming names and recording users, would keep
// them taken with no user holding them.
func (s *Service) BatchCreateUser(ctx context.Context, awsAccountID, region, networkID, clientToken string, items []roster.NewUser) (CreateResult, error) {
	if len(items) < 1 || len(items) > roster.MaxBatch {
		return CreateResult{}, wickr.Invalid("users", "must hold 1 to %d users, got %d", roster.MaxBatch, len(items))
	}
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return CreateResult{}, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), BatchTimeout)
	defer cancel()
	b := &batch{networkID: networkID, items: make([]roster.NewUser, len(items)), failed: map[int]Failure{}}
	// The slot of the ids is read while the seats are taken: it needs only the usernames.
	names, bad := make([]string, len(items)), make([]bool, len(items))
	for i, it := range items {
		n, err := wickr.NormalizeUsername("username", it.Username)
		names[i], bad[i] = n, err != nil
	}
	var ids []string
	var replayed []bool
	var slotErr error
	slotted := make(chan struct{})
	go func() {
		defer close(slotted)
		ids, replayed, slotErr = s.slot(ctx, networkID, clientToken, names, bad)
	}()
	pol, errs, seats, err := s.admit(ctx, networkID, items, b, nil)
	<-slotted
	if errors.Is(err, network.ErrTrialCap) && slotErr == nil && slices.Contains(replayed, true) {
		// A retried request whose users the first one recorded: they hold their seats already.
		pol, errs, seats, err = s.admit(ctx, networkID, items, b, replayed)
	}
	if err == nil && slotErr != nil {
		s.giveBack(context.WithoutCancel(ctx), networkID, seats)
		err = slotErr
	}
	if err != nil {
		return CreateResult{}, err
	}
	for i := range b.items {
		b.items[i].UserID = ids[i]
		if errs[i] != nil {
			b.fail(i, errs[i])
		}
	}
	return s.create(ctx, b, pol, seats)
}

// admit checks the items against the network's policy (its groups, SSO) and takes the seats of the
// valid ones, in one decision on the network stream (one append, coalesced with concurrent batches):
// the policy is the one the seats were taken under. It fills b.items with the checked items
// (normalized username, a placeholder id) and returns each item's error and the seats taken. The
// items marked in held (users a retried request's first run recorded) take no seat.
func (s *Service) admit(ctx context.Context, networkID string, items []roster.NewUser, b *batch, held []bool) (roster.Policy, []error, int, error) {
	var pol roster.Policy
	errs := make([]error, len(items))
	seats := 0
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(networkID), func(st network.State, now time.Time) ([]network.Event, error) {
		if !st.Live() {
			return nil, domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
		}
		pol, seats = policyOf(st), 0
		for i, it := range items {
			it.UserID = "1" // a placeholder: the slot is chosen once the usernames are known
			if b.items[i], _, errs[i] = roster.ValidateNewUser(it, pol); errs[i] == nil && (held == nil || !held[i]) {
				seats++
			}
		}
		if seats == 0 {
			return nil, nil
		}
		return network.Decide(st, network.TakeSeats{NetworkID: networkID, N: seats}, now)
	})
	if err != nil {
		return pol, nil, 0, err
	}
	return pol, errs, seats, nil
}

// slot picks the ids of a batch: the first slot (attempt 0, 1, …) whose ids are free or held by the
// same users (a retried request), read on the slot's roster block. names are the normalized
// usernames, bad marks the items that are refused whatever the slot. replayed marks the items whose
// user the slot holds already (recorded by the same request before, not deleted).
func (s *Service) slot(ctx context.Context, networkID, clientToken string, names []string, bad []bool) (ids []string, replayed []bool, err error) {
	for attempt := 0; ; attempt++ {
		ids = batchIDs(networkID, clientToken, attempt, len(names))
		free := true
		_, err = s.d.Rosters.Repo.ExecuteFunc(ctx, roster.StreamName(networkID, ids[0]), func(st roster.State, _ time.Time) ([]roster.Event, error) {
			free, replayed = true, make([]bool, len(ids))
			for i, id := range ids {
				u, ok := st.Users[id]
				switch {
				case ok && (bad[i] || u.Username != names[i]):
					free = false
				case ok:
					replayed[i] = !u.Deleted
				}
			}
			return nil, nil
		})
		if err != nil || free || attempt == 9 {
			return ids, replayed, err
		}
	}
}

// create claims the usernames and records the users of b's valid items (their seats are taken),
// then gives back the seats and names of the items refused on the way.
func (s *Service) create(ctx context.Context, b *batch, pol roster.Policy, seats int) (CreateResult, error) {
	live := b.live()
	if len(live) == 0 {
		return CreateResult{Failed: b.failures()}, nil
	}
	claimed := s.claim(ctx, b, live)
	out, invitedN, err := s.record(ctx, b, claimed, pol)
	// Seats of the items refused after the seats were taken, and of users already recorded by the
	// same request before, go back.
	s.giveBack(context.WithoutCancel(ctx), b.networkID, seats-invitedN)
	var refused []int
	for _, i := range claimed {
		if _, ok := b.failed[i]; ok || err != nil {
			refused = append(refused, i)
		}
	}
	s.releaseNames(context.WithoutCancel(ctx), b, refused)
	if err != nil {
		return CreateResult{}, err
	}
	out.Failed = b.failures()
	return out, nil
}

func (b *batch) failures() []Failure {
	var out []Failure
	for i := range b.items {
		if f, ok := b.failed[i]; ok {
			out = append(out, f)
		}
	}
	return out
}

// claim claims the usernames of the items at idx, one command per directory shard (concurrently),
// and returns the indexes whose username their user id now holds; the others are refused.
func (s *Service) claim(ctx context.Context, b *batch, idx []int) []int {
	shards := map[string][]int{}
	for _, i := range idx {
		st := directory.StreamName(b.networkID, b.items[i].Username)
		shards[st] = append(shards[st], i)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for stream, is := range shards {
		wg.Go(func() {
			cmd := directory.ClaimNames{}
			for _, i := range is {
				cmd.Claims = append(cmd.Claims, directory.Claim{Name: b.items[i].Username, Owner: b.items[i].UserID})
				cmd.Fields = append(cmd.Fields, fmt.Sprintf("users[%d].username", i))
			}
			var failed []directory.Failure
			_, err := s.d.Directories.Repo.ExecuteFunc(ctx, stream, func(st directory.State, now time.Time) ([]directory.Event, error) {
				evs, f := directory.DecideClaims(st, cmd, now)
				failed = f
				return evs, nil
			})
			mu.Lock()
			defer mu.Unlock()
			for _, i := range is {
				switch {
				case err != nil:
					b.refuse(i, err)
				default:
					for _, f := range failed {
						if f.Claim.Owner == b.items[i].UserID {
							b.refuse(i, f.Err)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	var out []int
	for _, i := range idx {
		if _, ok := b.failed[i]; !ok {
			out = append(out, i)
		}
	}
	return out
}

// record records the users of the items at idx on their roster block and waits for the read model;
// it returns the users (new, or recorded by the same request before) and how many it invited.
func (s *Service) record(ctx context.Context, b *batch, idx []int, pol roster.Policy) (CreateResult, int, error) {
	if len(idx) == 0 {
		return CreateResult{}, 0, nil
	}
	cmd := roster.CreateUsers{NetworkID: b.networkID, Policy: pol}
	for _, i := range idx {
		cmd.Items = append(cmd.Items, b.items[i])
	}
	var users []wickrusers.User
	var failed []roster.ItemFailure
	invitedN := 0
	decide := func(st roster.State, now time.Time) ([]roster.Event, error) {
		evs, f, err := roster.DecideBatch(st, cmd, now)
		users, failed, invitedN = nil, f, 0
		byID := map[string]roster.UserInvited{}
		for _, e := range evs {
			if e, ok := e.(roster.UsersInvited); ok {
				for _, u := range e.Each() {
					byID[u.UserID] = u
				}
			}
		}
		invitedN = len(byID)
		for _, it := range cmd.Items {
			if e, ok := byID[it.UserID]; ok {
				users = append(users, invited(e))
			} else if u, ok := st.Users[it.UserID]; ok && u.Username == it.Username && !u.Deleted {
				users = append(users, userFrom(b.networkID, *u))
			}
		}
		return evs, err
	}
	if _, _, err := s.d.Rosters.Decision(roster.StreamName(b.networkID, b.items[idx[0]].UserID), decide).Do(ctx); err != nil {
		return CreateResult{}, 0, err
	}
	for _, f := range failed {
		for j, it := range cmd.Items {
			if it.UserID == f.ID {
				ff := failureOf(f, fmt.Sprintf("users[%d]", idx[j]))
				ff.Field = reindex(ff.Field, j, idx[j])
				b.failed[idx[j]] = ff
			}
		}
	}
	return CreateResult{Successful: users}, invitedN, nil
}

// reindex rewrites the "users[j]" prefix of a roster field to the item's index in the request.
func reindex(field string, j, i int) string {
	if rest, ok := strings.CutPrefix(field, fmt.Sprintf("users[%d]", j)); ok {
		return fmt.Sprintf("users[%d]", i) + rest
	}
	return field
}

// releaseNames gives back the usernames claimed for the items at idx (their users were not
// recorded); a failure is logged: the name stays held by an id without a user until released.
func (s *Service) releaseNames(ctx context.Context, b *batch, idx []int) {
	for _, i := range idx {
		it := b.items[i]
		stream := directory.StreamName(b.networkID, it.Username)
		rel := directory.ReleaseNames{Claims: []directory.Claim{{Name: it.Username, Owner: it.UserID}}}
		if _, err := s.d.Directories.Repo.Execute(ctx, stream, rel); err != nil {
			s.d.Logger.Error("wickr users: releasing a username failed", "network", b.networkID, "user", it.UserID, "err", err)
		}
	}
}
