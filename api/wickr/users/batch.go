package users

import (
	"context"
	"fmt"
	"time"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// BatchResult is the outcome of a batch over user ids: the ids it applied to (including those
// already in the state asked) and the refused ones.
type BatchResult struct {
	Successful []string
	Failed     []Failure
}

// perBlock runs a batch command over the roster blocks its user ids fall in. The request's own rules
// (1–50 ids, no bulk operation under SSO) are the roster's, checked on the whole list first; then the
// malformed and repeated ids are refused, and each block decides its ids. seen sees each block's
// state and events inside its decision (the state changes in place after it; a decision may run
// more than once, the last one counts).
func (s *Service) perBlock(ctx context.Context, networkID string, ids []string, mk func([]string) roster.Command,
	seen func(stream string, st roster.State, evs []roster.Event)) (BatchResult, error) {
	if _, _, err := roster.DecideBatch(roster.State{}, mk(ids), s.d.Now()); err != nil {
		return BatchResult{}, err
	}
	var res BatchResult
	index := map[string]int{}
	blocks := map[string][]string{}
	var order []string
	for i, id := range ids {
		field := fmt.Sprintf("userIds[%d]", i)
		if err := validID(field, id); err != nil {
			res.Failed = append(res.Failed, Failure{ID: id, Field: field, Reason: wickr.Reasons(err)[0].Reason})
			continue
		}
		if _, dup := index[id]; dup {
			res.Failed = append(res.Failed, Failure{ID: id, Field: field, Reason: id + " appears twice in the batch"})
			continue
		}
		index[id] = i
		stream := roster.StreamName(networkID, id)
		if _, ok := blocks[stream]; !ok {
			order = append(order, stream)
		}
		blocks[stream] = append(blocks[stream], id)
	}
	var last uint64
	refused := map[string]bool{}
	for _, stream := range order {
		var failed []roster.ItemFailure
		d, err := s.d.Rosters.Repo.ExecuteFunc(ctx, stream, func(st roster.State, now time.Time) ([]roster.Event, error) {
			evs, f, err := roster.DecideBatch(st, mk(blocks[stream]), now)
			failed = f
			if err == nil && seen != nil {
				seen(stream, st, evs)
			}
			return evs, err
		})
		if err != nil {
			return BatchResult{}, err
		}
		last = max(last, d.Position)
		for _, f := range failed {
			refused[f.ID] = true
			res.Failed = append(res.Failed, failureOf(f, fmt.Sprintf("userIds[%d]", index[f.ID])))
		}
	}
	for i, id := range ids {
		if j, ok := index[id]; ok && j == i && !refused[id] {
			res.Successful = append(res.Successful, id)
		}
	}
	s.d.Rosters.RYW.Await(ctx, s.d.Rosters.RM, last)
	return res, nil
}

// BatchDeleteUser deletes users (final); their seats and usernames are given back. clientToken (""
// for none) is the request's X-Client-Token: a retried request answers as the first did, the users
// it deleted successful again.
func (s *Service) BatchDeleteUser(ctx context.Context, awsAccountID, region, networkID, clientToken string, ids []string) (BatchResult, error) {
	pol, err := s.policy(ctx, awsAccountID, region, networkID)
	if err != nil {
		return BatchResult{}, err
	}
	byBlock := map[string][]directory.Claim{}
	res, err := s.perBlock(ctx, networkID, ids, func(ids []string) roster.Command {
		return roster.DeleteUsers{NetworkID: networkID, UserIDs: ids, Policy: pol, ClientToken: clientToken}
	}, func(stream string, st roster.State, evs []roster.Event) {
		byBlock[stream] = nil
		for _, e := range evs {
			if e, ok := e.(roster.UserDeleted); ok {
				byBlock[stream] = append(byBlock[stream], directory.Claim{Name: st.Users[e.UserID].Username, Owner: e.UserID})
			}
		}
	})
	if err != nil {
		return res, err
	}
	var gone []directory.Claim
	for _, cs := range byBlock {
		gone = append(gone, cs...)
	}
	bg := context.WithoutCancel(ctx)
	s.giveBack(bg, networkID, len(gone))
	for _, c := range gone {
		if _, err := s.d.Directories.Repo.Execute(bg, directory.StreamName(networkID, c.Name), directory.ReleaseNames{Claims: []directory.Claim{c}}); err != nil {
			s.d.Logger.Error("wickr users: releasing a deleted user's username failed", "network", networkID, "user", c.Owner, "err", err)
		}
	}
	return res, nil
}

// BatchToggleUserSuspendStatus suspends (their sessions end) or unsuspends users; unsuspending a
// locked-out user unlocks it.
func (s *Service) BatchToggleUserSuspendStatus(ctx context.Context, awsAccountID, region, networkID string, suspend bool, ids []string) (BatchResult, error) {
	pol, err := s.policy(ctx, awsAccountID, region, networkID)
	if err != nil {
		return BatchResult{}, err
	}
	return s.perBlock(ctx, networkID, ids, func(ids []string) roster.Command {
		return roster.ToggleSuspend{NetworkID: networkID, UserIDs: ids, Suspend: suspend, Policy: pol}
	}, nil)
}

// BatchReinviteUser renews the invitations of pending users.
func (s *Service) BatchReinviteUser(ctx context.Context, awsAccountID, region, networkID string, ids []string) (BatchResult, error) {
	if _, err := s.policy(ctx, awsAccountID, region, networkID); err != nil {
		return BatchResult{}, err
	}
	return s.perBlock(ctx, networkID, ids, func(ids []string) roster.Command {
		return roster.Reinvite{NetworkID: networkID, UserIDs: ids}
	}, nil)
}
