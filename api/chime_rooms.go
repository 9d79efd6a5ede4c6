package api

import (
	"context"
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimerooms"
)

// ChimeRooms is what the room and room-membership operations need.
type ChimeRooms interface {
	CreateRoom(ctx context.Context, awsAccountID, accountID, name, clientRequestToken, createdBy string) (chimerooms.Room, error)
	GetRoom(ctx context.Context, awsAccountID, accountID, roomID string) (chimerooms.Room, error)
	ListRooms(ctx context.Context, awsAccountID, accountID, memberID, token string, limit int) ([]chimerooms.Room, string, error)
	UpdateRoom(ctx context.Context, awsAccountID, accountID, roomID, name string) (chimerooms.Room, error)
	DeleteRoom(ctx context.Context, awsAccountID, accountID, roomID, by string) error
	CreateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role, invitedBy string) (chimerooms.Membership, error)
	BatchCreateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID string, items []room.MembershipItem, invitedBy string) ([]error, error)
	ListRoomMemberships(ctx context.Context, awsAccountID, accountID, roomID, token string, limit int) ([]chimerooms.Membership, string, error)
	UpdateRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, role string) (chimerooms.Membership, error)
	DeleteRoomMembership(ctx context.Context, awsAccountID, accountID, roomID, memberID, by string) error
	RedactRoomMessage(ctx context.Context, awsAccountID, accountID, roomID, messageID, by string) error
}

type wireRoom struct {
	RoomId, AccountId, Name, CreatedBy, CreatedTimestamp, UpdatedTimestamp string
}

func toWireRoom(r chimerooms.Room) wireRoom {
	return wireRoom{RoomId: r.RoomID, AccountId: r.AccountID, Name: r.Name, CreatedBy: r.CreatedBy,
		CreatedTimestamp: awsproto.Timestamp(r.CreatedAt), UpdatedTimestamp: awsproto.Timestamp(r.UpdatedAt)}
}

type wireMember struct {
	AccountId, Email, FullName, MemberId, MemberType string
}

type wireMembership struct {
	InvitedBy        string
	Member           wireMember
	Role             string
	RoomId           string
	UpdatedTimestamp string
}

func toWireMembership(accountID string, m chimerooms.Membership) wireMembership {
	return wireMembership{InvitedBy: m.InvitedBy, Role: m.Role, RoomId: m.RoomID, UpdatedTimestamp: awsproto.Timestamp(m.UpdatedAt),
		Member: wireMember{AccountId: accountID, Email: m.Email, FullName: m.FullName, MemberId: m.MemberID, MemberType: m.MemberType}}
}

func roomOps(svc ChimeRooms) []awsproto.Operation {
	oneRoom := func(status int) func(chimerooms.Room, error) (int, any, error) {
		return func(r chimerooms.Room, err error) (int, any, error) {
			if err != nil {
				return 0, nil, err
			}
			return status, map[string]any{"Room": toWireRoom(r)}, nil
		}
	}
	oneMembership := func(k *awsproto.Call, status int) func(chimerooms.Membership, error) (int, any, error) {
		return func(m chimerooms.Membership, err error) (int, any, error) {
			if err != nil {
				return 0, nil, err
			}
			return status, map[string]any{"RoomMembership": toWireMembership(k.Param("accountId"), m)}, nil
		}
	}
	const rooms = "/accounts/:accountId/rooms"
	const oneRoomPath = rooms + "/:roomId"
	const memberships = oneRoomPath + "/memberships"
	return []awsproto.Operation{
		{Name: "CreateRoom", Method: http.MethodPost, Path: rooms, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Name, ClientRequestToken *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.Name == nil {
				return 0, nil, awsproto.BadRequest("Name is required")
			}
			return oneRoom(http.StatusCreated)(svc.CreateRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.Name, awsproto.Deref(in.ClientRequestToken), k.Caller.ARN()))
		}},
		{Name: "GetRoom", Method: http.MethodGet, Path: oneRoomPath, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			return oneRoom(http.StatusOK)(svc.GetRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId")))
		}},
		{Name: "ListRooms", Method: http.MethodGet, Path: rooms, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(50, 99)
			if err != nil {
				return 0, nil, err
			}
			list, next, err := svc.ListRooms(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("member-id"), k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			out := make([]wireRoom, len(list))
			for i, r := range list {
				out[i] = toWireRoom(r)
			}
			return http.StatusOK, awsproto.Paged(map[string]any{"Rooms": out}, next), nil
		}},
		{Name: "UpdateRoom", Method: http.MethodPost, Path: oneRoomPath, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Name *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.Name == nil {
				return oneRoom(http.StatusOK)(svc.GetRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId")))
			}
			return oneRoom(http.StatusOK)(svc.UpdateRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), *in.Name))
		}},
		{Name: "DeleteRoom", Method: http.MethodDelete, Path: oneRoomPath, Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DeleteRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Caller.ARN()); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
		{Name: "CreateRoomMembership", Method: http.MethodPost, Path: memberships, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ MemberId, Role *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.MemberId == nil {
				return 0, nil, awsproto.BadRequest("MemberId is required")
			}
			return oneMembership(k, http.StatusCreated)(svc.CreateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"),
				*in.MemberId, awsproto.Deref(in.Role), k.Caller.ARN()))
		}},
		{Name: "BatchCreateRoomMembership", Method: http.MethodPost, Path: memberships, Query: "batch-create", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct {
				MembershipItemList []struct{ MemberId, Role *string }
			}
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.MembershipItemList == nil {
				return 0, nil, awsproto.BadRequest("MembershipItemList is required")
			}
			items := make([]room.MembershipItem, len(in.MembershipItemList))
			for i, it := range in.MembershipItemList {
				items[i] = room.MembershipItem{MemberID: awsproto.Deref(it.MemberId), Role: awsproto.Deref(it.Role)}
			}
			errs, err := svc.BatchCreateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), items, k.Caller.ARN())
			if err != nil {
				return 0, nil, err
			}
			out := []map[string]string{}
			for i, e := range errs {
				if e != nil {
					w := awsproto.ToWire(e)
					out = append(out, map[string]string{"MemberId": items[i].MemberID, "ErrorCode": w.Code, "ErrorMessage": w.Msg})
				}
			}
			return http.StatusCreated, map[string]any{"Errors": out}, nil
		}},
		{Name: "ListRoomMemberships", Method: http.MethodGet, Path: memberships, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(50, 99)
			if err != nil {
				return 0, nil, err
			}
			list, next, err := svc.ListRoomMemberships(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			out := make([]wireMembership, len(list))
			for i, m := range list {
				out[i] = toWireMembership(k.Param("accountId"), m)
			}
			return http.StatusOK, awsproto.Paged(map[string]any{"RoomMemberships": out}, next), nil
		}},
		{Name: "UpdateRoomMembership", Method: http.MethodPost, Path: memberships + "/:memberId", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Role *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			return oneMembership(k, http.StatusOK)(svc.UpdateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"),
				k.Param("memberId"), awsproto.Deref(in.Role)))
		}},
		{Name: "RedactRoomMessage", Method: http.MethodPost, Path: oneRoomPath + "/messages/:messageId", Query: "redact", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.RedactRoomMessage(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Param("messageId"), k.Caller.ARN()); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, nil, nil
		}},
		{Name: "DeleteRoomMembership", Method: http.MethodDelete, Path: memberships + "/:memberId", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DeleteRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Param("memberId"), k.Caller.ARN()); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
	}
}
