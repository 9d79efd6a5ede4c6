package messaging

import (
	"context"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// policy reads, through the command path (decisions without events, on freshly read state), the
// networks and security groups of the participants. Users that are deleted, suspended or of a network
// that is not live are left out (conversation.Policy.Known).
func (s *Service) policy(ctx context.Context, ps []conversation.Participant) (conversation.Policy, error) {
	p := conversation.Policy{Networks: map[string]conversation.NetworkPolicy{}, Groups: map[string]sg.Settings{}}
	groups := map[string]map[string]sg.Settings{}
	byBlock := map[string][]conversation.Participant{}
	for _, x := range ps {
		if x.Guest() {
			continue
		}
		if _, done := groups[x.NetworkID]; !done {
			g, err := s.network(ctx, x.NetworkID, &p)
			if err != nil {
				return p, err
			}
			groups[x.NetworkID] = g
		}
		stream := roster.StreamName(x.NetworkID, x.UserID)
		byBlock[stream] = append(byBlock[stream], x)
	}
	for stream, users := range byBlock {
		_, err := s.d.Rosters.Repo.ExecuteFunc(ctx, stream, func(st roster.State, _ time.Time) ([]roster.Event, error) {
			for _, x := range users {
				u, err := st.User(x.UserID)
				if err != nil || u.Suspended {
					continue
				}
				if g, ok := groups[x.NetworkID][u.GroupID]; ok {
					p.Groups[x.Key()] = g
				}
			}
			return nil, nil
		})
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// network reads one network's policy into p and returns its groups' settings (nil: not live).
func (s *Service) network(ctx context.Context, id string, p *conversation.Policy) (map[string]sg.Settings, error) {
	var groups map[string]sg.Settings
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(id), func(st network.State, _ time.Time) ([]network.Event, error) {
		groups = nil
		if !st.Live() {
			return nil, nil
		}
		np := conversation.NetworkPolicy{Region: st.Region, ReadReceipts: st.Settings.ReadReceiptStatus, BlockedGuests: map[string]bool{}}
		for h := range st.BlockedGuests {
			np.BlockedGuests[h] = true
		}
		p.Networks[id] = np
		groups = make(map[string]sg.Settings, len(st.Groups))
		for gid, g := range st.Groups {
			groups[gid] = g.Settings
		}
		return nil, nil
	})
	if domain.KindOf(err) == domain.KindNotFound {
		return nil, nil
	}
	return groups, err
}

// guestExists checks that a guest account is registered.
func (s *Service) guestExists(ctx context.Context, hash string) (bool, error) {
	st, _, err := s.d.Guests.Repo.Load(ctx, guest.StreamPrefix+hash)
	return st.Live, err
}
