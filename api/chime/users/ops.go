package users

import (
	"net/http"
	"strconv"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/wire"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type wireUserError struct {
	UserID       string `json:"UserId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// wireUserChange is UpdateUserRequestItem (and UpdateUser's body).
type wireUserChange struct {
	UserID                   *string `json:"UserId"`
	LicenseType              *string
	UserType                 *string
	AlexaForBusinessMetadata *wire.Alexa
}

func (w wireUserChange) change(userID string) account.UserChange {
	ch := account.UserChange{UserID: userID, LicenseType: w.LicenseType, UserType: w.UserType}
	if a := w.AlexaForBusinessMetadata; a != nil {
		ch.Alexa = &account.AlexaMetadata{Enabled: a.IsAlexaForBusinessEnabled != nil && *a.IsAlexaForBusinessEnabled, RoomARN: awsproto.Deref(a.AlexaForBusinessRoomArn)}
	}
	return ch
}

func userErrors(items []account.ItemError) map[string]any {
	out := make([]wireUserError, len(items))
	for i, it := range items {
		out[i] = wireUserError{UserID: it.UserID, ErrorCode: it.Code, ErrorMessage: it.Message}
	}
	return map[string]any{"UserErrors": out}
}

// userResp answers with a user.
func userResp(status int) func(chimeaccounts.User, error) (int, any, error) {
	return func(u chimeaccounts.User, err error) (int, any, error) {
		if err != nil {
			return 0, nil, err
		}
		return status, map[string]any{"User": wire.ToUser(u)}, nil
	}
}

// idList decodes the UserIdList of a batch call.
func idList(k *awsproto.Call) ([]string, error) {
	var in struct{ UserIdList []string }
	if err := k.Decode(&in); err != nil {
		return nil, err
	}
	if in.UserIdList == nil {
		return nil, awsproto.BadRequest("UserIdList is required")
	}
	return in.UserIdList, nil
}

// Operations are the slice's route table (the handlers are the methods of handlers).
func (svc *Service) Operations() []awsproto.Operation {
	h := handlers{svc}
	return []awsproto.Operation{
		{Name: "CreateUser", Method: http.MethodPost, Path: "/accounts/:accountId/users", Query: "create", Fn: h.createUser},
		{Name: "InviteUsers", Method: http.MethodPost, Path: "/accounts/:accountId/users", Query: "add", Fn: h.inviteUsers},
		{Name: "GetUser", Method: http.MethodGet, Path: "/accounts/:accountId/users/:userId", ReadOnly: true, Fn: h.getUser},
		{Name: "ListUsers", Method: http.MethodGet, Path: "/accounts/:accountId/users", ReadOnly: true, Fn: h.listUsers},
		{Name: "UpdateUser", Method: http.MethodPost, Path: "/accounts/:accountId/users/:userId", Fn: h.updateUser},
		{Name: "BatchUpdateUser", Method: http.MethodPost, Path: "/accounts/:accountId/users", Fn: h.batchUpdateUser},
		{Name: "BatchSuspendUser", Method: http.MethodPost, Path: "/accounts/:accountId/users", Query: "suspend", Fn: h.batchSuspendUser},
		{Name: "BatchUnsuspendUser", Method: http.MethodPost, Path: "/accounts/:accountId/users", Query: "unsuspend", Fn: h.batchUnsuspendUser},
		{Name: "LogoutUser", Method: http.MethodPost, Path: "/accounts/:accountId/users/:userId", Query: "logout", Fn: h.logoutUser},
		{Name: "ResetPersonalPIN", Method: http.MethodPost, Path: "/accounts/:accountId/users/:userId", Query: "reset-personal-pin", Fn: h.resetPersonalPIN},
	}
}

// handlers are the operations' handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) createUser(k *awsproto.Call) (int, any, error) {
	var in struct{ Email, Username, UserType *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Email == nil {
		return 0, nil, awsproto.BadRequest("Email is required")
	}
	return userResp(http.StatusCreated)(h.svc.CreateUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.Email, awsproto.Deref(in.Username), awsproto.Deref(in.UserType)))
}

func (h handlers) inviteUsers(k *awsproto.Call) (int, any, error) {
	var in struct {
		UserEmailList []string
		UserType      *string
	}
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.UserEmailList == nil {
		return 0, nil, awsproto.BadRequest("UserEmailList is required")
	}
	invites, err := h.svc.InviteUsers(k.Ctx, k.AWSAccount(), k.Param("accountId"), in.UserEmailList, awsproto.Deref(in.UserType))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]string, len(invites))
	for i, v := range invites {
		out[i] = map[string]string{"InviteId": v.InviteID, "Status": v.Status, "EmailAddress": v.Email, "EmailStatus": v.EmailStatus}
	}
	return http.StatusCreated, map[string]any{"Invites": out}, nil
}

func (h handlers) getUser(k *awsproto.Call) (int, any, error) {
	return userResp(http.StatusOK)(h.svc.GetUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId")))
}

func (h handlers) listUsers(k *awsproto.Call) (int, any, error) {
	limit, err := k.MaxResults(100, 200)
	if err != nil {
		return 0, nil, err
	}
	ut := k.Query("user-type")
	if ut != "" && ut != account.UserTypePrivate && ut != account.UserTypeSharedDevice {
		return 0, nil, awsproto.BadRequest("user-type must be PrivateUser or SharedDevice")
	}
	list, next, err := h.svc.ListUsers(k.Ctx, k.AWSAccount(), k.Param("accountId"),
		chimeaccounts.UserFilter{Email: k.Query("user-email"), UserType: ut}, k.Query("next-token"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wire.User, len(list))
	for i, u := range list {
		out[i] = wire.ToUser(u)
	}
	resp := map[string]any{"Users": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return http.StatusOK, resp, nil
}

func (h handlers) updateUser(k *awsproto.Call) (int, any, error) {
	var in wireUserChange
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	return userResp(http.StatusOK)(h.svc.UpdateUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), in.change(k.Param("userId"))))
}

func (h handlers) batchUpdateUser(k *awsproto.Call) (int, any, error) {
	var in struct{ UpdateUserRequestItems []wireUserChange }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.UpdateUserRequestItems == nil {
		return 0, nil, awsproto.BadRequest("UpdateUserRequestItems is required")
	}
	cmd := account.BatchUpdateUser{AccountID: k.Param("accountId")}
	for i, it := range in.UpdateUserRequestItems {
		if it.UserID == nil || *it.UserID == "" {
			return 0, nil, awsproto.BadRequest("UpdateUserRequestItems[" + strconv.Itoa(i) + "].UserId is required")
		}
		cmd.Items = append(cmd.Items, it.change(*it.UserID))
	}
	items, err := h.svc.Batch(k.Ctx, k.AWSAccount(), cmd.AccountID, cmd)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userErrors(items), nil
}

func (h handlers) batchSuspendUser(k *awsproto.Call) (int, any, error) {
	ids, err := idList(k)
	if err != nil {
		return 0, nil, err
	}
	items, err := h.svc.Batch(k.Ctx, k.AWSAccount(), k.Param("accountId"), account.BatchSuspendUser{AccountID: k.Param("accountId"), UserIDs: ids})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userErrors(items), nil
}

func (h handlers) batchUnsuspendUser(k *awsproto.Call) (int, any, error) {
	ids, err := idList(k)
	if err != nil {
		return 0, nil, err
	}
	items, err := h.svc.Batch(k.Ctx, k.AWSAccount(), k.Param("accountId"), account.BatchUnsuspendUser{AccountID: k.Param("accountId"), UserIDs: ids})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userErrors(items), nil
}

func (h handlers) logoutUser(k *awsproto.Call) (int, any, error) {
	if err := h.svc.LogoutUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h handlers) resetPersonalPIN(k *awsproto.Call) (int, any, error) {
	return userResp(http.StatusOK)(h.svc.ResetPersonalPIN(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId")))
}
