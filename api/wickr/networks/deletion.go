package networks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// Deletions is the work queue of network deletions (wickrdeletions.Store implements it): the
// networks whose deletion is pending and the roster blocks a network used.
type Deletions interface {
	PendingDeletions(ctx context.Context, limit int) ([]string, error)
	RosterBlocks(ctx context.Context, networkID string) ([]string, error)
}

// KeyShredder destroys every subject key of a tenant (infra/datakeys.Store implements it).
type KeyShredder interface {
	DestroyTenant(ctx context.Context, tenant string) error
}

// Fanout is what the deletion of a network fans out to: the work queue, the roster blocks, the
// directory shards and the network's keys. A nil Fanout leaves deletions pending.
type Fanout struct {
	Deletions Deletions
	Rosters   usecase.Rosters
	Directory usecase.Repository[directory.State, directory.Command, directory.Event]
	Keys      KeyShredder
}

// deletionSweepBatch bounds the networks one sweep deletes; the next sweep takes the rest.
const deletionSweepBatch = 20

// CompleteDeletions carries on every pending network deletion (DeleteNetwork only requests it) and
// returns how many it completed. Each is resumable after a crash at any point, since every step is
// idempotent and the network stays pending until its Deleted event is applied:
//  1. the network's keys are destroyed (crypto-shredding: the sealed passwords of its users and
//     bots, the data-retention bot's, the OIDC and OpenTDF secrets become unreadable for good);
//  2. its live users are deleted through the roster's command path, block by block, 50 at a time;
//  3. the usernames of all its users are released on the directory shards, and its SSO company id;
//  4. CompleteDeletion deletes its bots and data-retention bot and the network (Deleted).
func (s *Service) CompleteDeletions(ctx context.Context) (int, error) {
	if s.d.Fanout == nil {
		return 0, nil
	}
	ids, err := s.d.Fanout.Deletions.PendingDeletions(ctx, deletionSweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		done, err := s.completeDeletion(ctx, id)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// completeDeletion runs the steps of one network's deletion; false when there was nothing to do.
func (s *Service) completeDeletion(ctx context.Context, id string) (bool, error) {
	f := s.d.Fanout
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(id))
	if err != nil || st.Status != network.StatusDeleting {
		return false, err // deleted already (the queue is late), or not being deleted
	}
	if err := f.Keys.DestroyTenant(ctx, id); err != nil {
		return false, err
	}
	firsts, err := f.Deletions.RosterBlocks(ctx, id)
	if err != nil {
		return false, err
	}
	claims := map[string][]directory.Claim{} // directory shard stream → the usernames held there
	for _, first := range firsts {
		if err := s.deleteBlockUsers(ctx, id, first, claims); err != nil {
			return false, err
		}
	}
	for _, stream := range sortedKeys(claims) {
		if _, err := f.Directory.Execute(ctx, stream, directory.ReleaseNames{Claims: claims[stream]}); err != nil {
			return false, err
		}
	}
	if st.OIDC != nil && st.OIDC.CompanyID != "" {
		cl := directory.Claim{Name: strings.ToLower(st.OIDC.CompanyID), Owner: id}
		if _, err := f.Directory.Execute(ctx, directory.CompanyIDStream(st.OIDC.CompanyID), directory.ReleaseNames{Claims: []directory.Claim{cl}}); err != nil {
			return false, err
		}
	}
	_, _, err = s.d.Networks.Command(network.StreamName(id), network.CompleteDeletion{NetworkID: id}).Do(ctx)
	if errors.Is(err, network.ErrNotFound) {
		return false, nil // another process completed it
	}
	if err == nil {
		s.d.Logger.Info("network deleted", "network", id)
	}
	return err == nil, err
}

// deleteBlockUsers deletes the live users of one roster block, 50 per command, and adds the
// usernames of all the block's users to claims, by directory shard. The block is read under its
// stream's lock, and only copies leave it: Evolve updates the block's map of users in place, which
// any other command on the block does meanwhile.
func (s *Service) deleteBlockUsers(ctx context.Context, networkID, first string, claims map[string][]directory.Claim) error {
	stream := roster.StreamName(networkID, first)
	var live []string
	err := s.d.Fanout.Rosters.Repo.Inspect(ctx, stream, true, func(block roster.State) error {
		for id, u := range block.Users {
			shard := directory.StreamName(networkID, u.Username)
			claims[shard] = append(claims[shard], directory.Claim{Name: u.Username, Owner: id})
			if !u.Deleted {
				live = append(live, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(live)
	for chunk := range slices.Chunk(live, roster.MaxBatch) {
		// Decided on the block as it is then: a user deleted meanwhile is a refused item, not a refusal.
		cmd := roster.DeleteUsers{NetworkID: networkID, UserIDs: chunk}
		if _, err := s.d.Fanout.Rosters.Repo.ExecuteFunc(ctx, stream, func(st roster.State, now time.Time) ([]roster.Event, error) {
			evs, _, err := roster.DecideBatch(st, cmd, now)
			return evs, err
		}); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
