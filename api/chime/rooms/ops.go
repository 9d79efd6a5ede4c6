package rooms

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimerooms"
)

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

func oneRoom(status int, r chimerooms.Room, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{"Room": toWireRoom(r)}, nil
}

func oneMembership(k *awsproto.Call, status int, m chimerooms.Membership, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{"RoomMembership": toWireMembership(k.Param("accountId"), m)}, nil
}

// Operations are the slice's route table (the handlers are the methods of handlers).
func (svc *Service) Operations() []awsproto.Operation {
	const rooms = "/accounts/:accountId/rooms"
	const oneRoomPath = rooms + "/:roomId"
	const memberships = oneRoomPath + "/memberships"
	h := handlers{svc}
	return []awsproto.Operation{
		{Name: "CreateRoom", Method: http.MethodPost, Path: rooms, Fn: h.createRoom},
		{Name: "GetRoom", Method: http.MethodGet, Path: oneRoomPath, ReadOnly: true, Fn: h.getRoom},
		{Name: "ListRooms", Method: http.MethodGet, Path: rooms, ReadOnly: true, Fn: h.listRooms},
		{Name: "UpdateRoom", Method: http.MethodPost, Path: oneRoomPath, Fn: h.updateRoom},
		{Name: "DeleteRoom", Method: http.MethodDelete, Path: oneRoomPath, Fn: h.deleteRoom},
		{Name: "CreateRoomMembership", Method: http.MethodPost, Path: memberships, Fn: h.createMembership},
		{Name: "BatchCreateRoomMembership", Method: http.MethodPost, Path: memberships, Query: "batch-create", Fn: h.batchCreateMemberships},
		{Name: "ListRoomMemberships", Method: http.MethodGet, Path: memberships, ReadOnly: true, Fn: h.listMemberships},
		{Name: "UpdateRoomMembership", Method: http.MethodPost, Path: memberships + "/:memberId", Fn: h.updateMembership},
		{Name: "RedactRoomMessage", Method: http.MethodPost, Path: oneRoomPath + "/messages/:messageId", Query: "redact", Fn: h.redactMessage},
		{Name: "DeleteRoomMembership", Method: http.MethodDelete, Path: memberships + "/:memberId", Fn: h.deleteMembership},
	}
}

// handlers are the admin operations' handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) createRoom(k *awsproto.Call) (int, any, error) {
	var in struct{ Name, ClientRequestToken *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return 0, nil, awsproto.BadRequest("Name is required")
	}
	r, err := h.svc.CreateRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.Name, awsproto.Deref(in.ClientRequestToken), k.Caller.ARN())
	return oneRoom(http.StatusCreated, r, err)
}

func (h handlers) getRoom(k *awsproto.Call) (int, any, error) {
	r, err := h.svc.GetRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"))
	return oneRoom(http.StatusOK, r, err)
}

func (h handlers) listRooms(k *awsproto.Call) (int, any, error) {
	limit, err := k.MaxResults(50, 99)
	if err != nil {
		return 0, nil, err
	}
	list, next, err := h.svc.ListRooms(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("member-id"), k.Query("next-token"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireRoom, len(list))
	for i, r := range list {
		out[i] = toWireRoom(r)
	}
	return http.StatusOK, awsproto.Paged(map[string]any{"Rooms": out}, next), nil
}

func (h handlers) updateRoom(k *awsproto.Call) (int, any, error) {
	var in struct{ Name *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return h.getRoom(k)
	}
	r, err := h.svc.UpdateRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), *in.Name)
	return oneRoom(http.StatusOK, r, err)
}

func (h handlers) deleteRoom(k *awsproto.Call) (int, any, error) {
	if err := h.svc.DeleteRoom(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Caller.ARN()); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h handlers) createMembership(k *awsproto.Call) (int, any, error) {
	var in struct{ MemberId, Role *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.MemberId == nil {
		return 0, nil, awsproto.BadRequest("MemberId is required")
	}
	m, err := h.svc.CreateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), *in.MemberId, awsproto.Deref(in.Role), k.Caller.ARN())
	return oneMembership(k, http.StatusCreated, m, err)
}

func (h handlers) batchCreateMemberships(k *awsproto.Call) (int, any, error) {
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
	errs, err := h.svc.BatchCreateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), items, k.Caller.ARN())
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
}

func (h handlers) listMemberships(k *awsproto.Call) (int, any, error) {
	limit, err := k.MaxResults(50, 99)
	if err != nil {
		return 0, nil, err
	}
	list, next, err := h.svc.ListRoomMemberships(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Query("next-token"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireMembership, len(list))
	for i, m := range list {
		out[i] = toWireMembership(k.Param("accountId"), m)
	}
	return http.StatusOK, awsproto.Paged(map[string]any{"RoomMemberships": out}, next), nil
}

func (h handlers) updateMembership(k *awsproto.Call) (int, any, error) {
	var in struct{ Role *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	m, err := h.svc.UpdateRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Param("memberId"), awsproto.Deref(in.Role))
	return oneMembership(k, http.StatusOK, m, err)
}

func (h handlers) redactMessage(k *awsproto.Call) (int, any, error) {
	if err := h.svc.RedactRoomMessage(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Param("messageId"), k.Caller.ARN()); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, nil, nil
}

func (h handlers) deleteMembership(k *awsproto.Call) (int, any, error) {
	if err := h.svc.DeleteRoomMembership(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("roomId"), k.Param("memberId"), k.Caller.ARN()); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
