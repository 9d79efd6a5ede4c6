package rooms

import (
	"context"
	"errors"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ErrNotRoomAdmin refuses the member-list export to a member who is not an administrator of the room.
var ErrNotRoomAdmin = &domain.Error{Kind: domain.KindForbidden, Msg: "only room administrators may export the member list"}

// ExportRoomMembers returns a room and all its members (at most room.MaxMembers, in member-id
// order) for the member-list export of guide §1.2.2, to an administrator of the room in the user's
// own account.
func (m *Messages) ExportRoomMembers(ctx context.Context, u chimeaccounts.User, roomID string) (chimerooms.Room, []chimerooms.Membership, error) {
	r, err := m.d.Store.GetRoom(ctx, u.AccountID, roomID)
	if err != nil {
		return r, nil, err
	}
	me, err := m.d.Store.GetMembership(ctx, roomID, u.UserID)
	switch {
	case errors.Is(err, room.ErrMemberNotFound):
		return r, nil, domain.Wrapf(room.ErrNotMember, "only members of the room may export its member list")
	case err != nil:
		return r, nil, err
	case me.Role != room.RoleAdministrator:
		return r, nil, ErrNotRoomAdmin
	}
	var all []chimerooms.Membership
	for token := ""; ; {
		page, next, err := m.d.Store.ListMemberships(ctx, roomID, token, 1000)
		if err != nil {
			return r, nil, err
		}
		all = append(all, page...)
		if next == "" || len(all) >= room.MaxMembers {
			return r, all, nil
		}
		token = next
	}
}
