package users

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Operations are the slice's route table.
func (s *Service) Operations() []awsproto.Operation {
	svc := handlers{s}
	const users = "/networks/:networkId/users"
	return []awsproto.Operation{
		{Name: "BatchCreateUser", Method: http.MethodPost, Path: users, Fn: svc.batchCreate},
		{Name: "ListUsers", Method: http.MethodGet, Path: users, ReadOnly: true, Fn: svc.listUsers},
		{Name: "UpdateUser", Method: http.MethodPatch, Path: users, Fn: svc.updateUser},
		{Name: "GetUsersCount", Method: http.MethodGet, Path: users + "/count", ReadOnly: true, Fn: svc.usersCount},
		{Name: "GetUser", Method: http.MethodGet, Path: users + "/:userId", ReadOnly: true, Fn: svc.getUser},
		{Name: "BatchDeleteUser", Method: http.MethodPost, Path: users + "/batch-delete", Fn: svc.batchDelete},
		{Name: "BatchToggleUserSuspendStatus", Method: http.MethodPatch, Path: users + "/toggleSuspend", Fn: svc.toggleSuspend},
		{Name: "BatchReinviteUser", Method: http.MethodPatch, Path: users + "/re-invite", Fn: svc.reinvite},
		{Name: "BatchLookupUserUname", Method: http.MethodPost, Path: users + "/uname-lookup", Fn: svc.lookup},
	}
}

// handlers are the HTTP handlers of the operations, over the use cases.
type handlers struct{ *Service }

// wireUser is the model's User.
type wireUser struct {
	UserID            string   `json:"userId"`
	FirstName         string   `json:"firstName,omitempty"`
	LastName          string   `json:"lastName,omitempty"`
	Username          string   `json:"username"`
	SecurityGroups    []string `json:"securityGroups"`
	IsAdmin           bool     `json:"isAdmin"`
	Suspended         bool     `json:"suspended"`
	Status            int      `json:"status"`
	OtpEnabled        bool     `json:"otpEnabled"`
	Type              string   `json:"type"`
	ChallengeFailures int      `json:"challengeFailures"`
	IsInviteExpired   bool     `json:"isInviteExpired"`
	IsUser            bool     `json:"isUser"`
	InviteCode        string   `json:"inviteCode,omitempty"`
	CodeValidation    bool     `json:"codeValidation"`
	Uname             string   `json:"uname"`
}

func toWire(u wickrusers.User, now time.Time) wireUser {
	return wireUser{UserID: u.UserID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, SecurityGroups: []string{u.GroupID},
		Suspended: roster.SuspendedAt(u.Suspended, u.LockedUntil, now), Status: u.Status, Type: "user", ChallengeFailures: u.Failures,
		IsInviteExpired: u.Status == roster.StatusPending && !now.Before(u.InviteExpiresAt), IsUser: true,
		InviteCode: u.InviteCode, CodeValidation: u.CodeValidation, Uname: wickr.UsernameHash(u.Username)}
}

// wireFailure is the model's BatchUserErrorResponseItem; userId is required (even when the request
// named an empty one).
type wireFailure struct {
	UserID string `json:"userId"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// unameFailure is the model's BatchUnameErrorResponseItem; uname is required.
type unameFailure struct {
	Uname  string `json:"uname"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

type idItem struct {
	UserID string `json:"userId"`
}

func userFailures(fs []Failure) []wireFailure {
	out := []wireFailure{}
	for _, f := range fs {
		out = append(out, wireFailure{UserID: f.ID, Field: f.Field, Reason: f.Reason})
	}
	return out
}

func message(what string, ok, failed int) string {
	return fmt.Sprintf("%d users %s successfully, %d failed", ok, what, failed)
}

func (svc handlers) batchCreate(k *awsproto.Call) (int, any, error) {
	token, err := wickrproto.ClientToken(k)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Users *[]struct {
			FirstName        *string   `json:"firstName"`
			LastName         *string   `json:"lastName"`
			SecurityGroupIDs *[]string `json:"securityGroupIds"`
			Username         *string   `json:"username"`
			InviteCode       *string   `json:"inviteCode"`
			InviteCodeTTL    *int      `json:"inviteCodeTtl"`
			CodeValidation   *bool     `json:"codeValidation"`
		} `json:"users"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("users", in.Users); err != nil {
		return 0, nil, err
	}
	var errs []error
	items := make([]roster.NewUser, len(*in.Users))
	for i, u := range *in.Users {
		field := fmt.Sprintf("users[%d]", i)
		errs = append(errs, wickrproto.Required(field+".username", u.Username), wickrproto.Required(field+".securityGroupIds", u.SecurityGroupIDs))
		items[i] = roster.NewUser{Username: awsproto.Deref(u.Username), FirstName: awsproto.Deref(u.FirstName), LastName: awsproto.Deref(u.LastName),
			InviteCode: awsproto.Deref(u.InviteCode), InviteCodeTTLDays: deref(u.InviteCodeTTL), CodeValidation: deref(u.CodeValidation),
			SecurityGroupIDs: deref(u.SecurityGroupIDs)}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	res, err := svc.BatchCreateUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), token, items)
	if err != nil {
		return 0, nil, err
	}
	now := svc.d.Now()
	ok := []wireUser{}
	for _, u := range res.Successful {
		ok = append(ok, toWire(u, now))
	}
	return http.StatusOK, map[string]any{"message": message("created", len(ok), len(res.Failed)), "successful": ok,
		"failed": userFailures(res.Failed)}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (svc handlers) getUser(k *awsproto.Call) (int, any, error) {
	var from, to time.Time
	var errs []error
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"startTime", &from}, {"endTime", &to}} {
		if v := k.Query(p.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, wickr.Invalid(p.name, "must be a time in epoch seconds, got %q", v))
			}
			*p.dst = time.Unix(int64(f), 0)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	u, err := svc.GetUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("userId"))
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"userId": u.UserID, "username": u.Username, "isAdmin": false, "suspended": roster.SuspendedAt(u.Suspended, u.LockedUntil, svc.d.Now()), "status": u.Status,
		"securityGroupIds": []string{u.GroupID}}
	if u.FirstName != "" {
		out["firstName"] = u.FirstName
	}
	if u.LastName != "" {
		out["lastName"] = u.LastName
	}
	if !u.LastLogin.IsZero() {
		out["lastLogin"] = u.LastLogin.Unix()
		if (from.IsZero() || !u.LastLogin.Before(from)) && (to.IsZero() || !u.LastLogin.After(to)) {
			out["lastActivity"] = u.LastLogin.Unix()
		}
	}
	return http.StatusOK, out, nil
}

func (svc handlers) listUsers(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, true, "username", "firstName", "lastName", "status", "groupId")
	f := wickrusers.UserFilter{FirstName: k.Query("firstName"), LastName: k.Query("lastName"), Username: k.Query("username"), GroupID: k.Query("groupId")}
	if v := k.Query("status"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || (n != roster.StatusPending && n != roster.StatusActive) {
			err = errors.Join(err, wickr.Invalid("status", "must be 1 (pending) or 2 (active), got %q", v))
		}
		f.Status = n
	}
	if err != nil {
		return 0, nil, err
	}
	list, next, err := svc.ListUsers(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), f,
		wickrusers.UserPage{Sort: l.SortFields, Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults})
	if err != nil {
		return 0, nil, err
	}
	now := svc.d.Now()
	out := make([]wireUser, len(list))
	for i, u := range list {
		out[i] = toWire(u, now)
	}
	resp := map[string]any{"users": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}

func (svc handlers) updateUser(k *awsproto.Call) (int, any, error) {
	var in struct {
		UserID      *string `json:"userId"`
		UserDetails *struct {
			FirstName        *string   `json:"firstName"`
			LastName         *string   `json:"lastName"`
			Username         *string   `json:"username"`
			SecurityGroupIDs *[]string `json:"securityGroupIds"`
			InviteCode       *string   `json:"inviteCode"`
			InviteCodeTTL    *int      `json:"inviteCodeTtl"`
			CodeValidation   *bool     `json:"codeValidation"`
		} `json:"userDetails"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("userId", in.UserID); err != nil {
		return 0, nil, err
	}
	var d roster.UserDetails
	if u := in.UserDetails; u != nil {
		d = roster.UserDetails{FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, InviteCode: u.InviteCode,
			SecurityGroupIDs: u.SecurityGroupIDs, InviteCodeTTLDays: u.InviteCodeTTL, CodeValidation: u.CodeValidation}
	}
	u, err := svc.UpdateUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), *in.UserID, d)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"userId": u.UserID, "networkId": u.NetworkID, "securityGroupIds": []string{u.GroupID}, "suspended": roster.SuspendedAt(u.Suspended, u.LockedUntil, svc.d.Now()),
		"modified": u.Modified.Unix(), "status": u.Status, "codeValidation": u.CodeValidation}
	if u.FirstName != "" {
		out["firstName"] = u.FirstName
	}
	if u.LastName != "" {
		out["lastName"] = u.LastName
	}
	if u.InviteCode != "" {
		out["inviteCode"] = u.InviteCode
	}
	if !u.InviteExpiresAt.IsZero() && u.Status == roster.StatusPending {
		out["inviteExpiration"] = u.InviteExpiresAt.Unix()
	}
	return http.StatusOK, out, nil
}

func (svc handlers) usersCount(k *awsproto.Call) (int, any, error) {
	c, err := svc.GetUsersCount(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"pending": c.Pending, "active": c.Active, "rejected": c.Rejected, "remaining": c.Remaining,
		"total": c.Total}, nil
}

// userIDs reads the userIds body member of a batch over users and its X-Client-Token.
func userIDs(k *awsproto.Call) ([]string, string, error) {
	token, err := wickrproto.ClientToken(k)
	if err != nil {
		return nil, "", err
	}
	var in struct {
		UserIDs *[]string `json:"userIds"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return nil, "", err
	}
	if err := wickrproto.Required("userIds", in.UserIDs); err != nil {
		return nil, "", err
	}
	return *in.UserIDs, token, nil
}

func batchAnswer(what string, res BatchResult) map[string]any {
	ok := []idItem{}
	for _, id := range res.Successful {
		ok = append(ok, idItem{id})
	}
	return map[string]any{"message": message(what, len(ok), len(res.Failed)), "successful": ok, "failed": userFailures(res.Failed)}
}

func (svc handlers) batchDelete(k *awsproto.Call) (int, any, error) {
	ids, token, err := userIDs(k)
	if err != nil {
		return 0, nil, err
	}
	res, err := svc.BatchDeleteUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), token, ids)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, batchAnswer("deleted", res), nil
}

func (svc handlers) toggleSuspend(k *awsproto.Call) (int, any, error) {
	var suspend bool
	switch v := k.Query("suspend"); v {
	case "true":
		suspend = true
	case "false":
	case "":
		return 0, nil, wickr.Invalid("suspend", "is required")
	default:
		return 0, nil, wickr.Invalid("suspend", "must be true or false, got %q", v)
	}
	ids, _, err := userIDs(k)
	if err != nil {
		return 0, nil, err
	}
	res, err := svc.BatchToggleUserSuspendStatus(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), suspend, ids)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, batchAnswer(map[bool]string{true: "suspended", false: "unsuspended"}[suspend], res), nil
}

func (svc handlers) reinvite(k *awsproto.Call) (int, any, error) {
	ids, _, err := userIDs(k)
	if err != nil {
		return 0, nil, err
	}
	res, err := svc.BatchReinviteUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), ids)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, batchAnswer("reinvited", res), nil
}

func (svc handlers) lookup(k *awsproto.Call) (int, any, error) {
	if _, err := wickrproto.ClientToken(k); err != nil {
		return 0, nil, err
	}
	var in struct {
		Unames *[]string `json:"unames"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("unames", in.Unames); err != nil {
		return 0, nil, err
	}
	res, err := svc.BatchLookupUserUname(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), *in.Unames)
	if err != nil {
		return 0, nil, err
	}
	ok := []map[string]string{}
	for _, p := range res.Successful {
		ok = append(ok, map[string]string{"uname": p[0], "username": p[1]})
	}
	failed := []unameFailure{}
	for _, f := range res.Failed {
		failed = append(failed, unameFailure{Uname: f.ID, Field: f.Field, Reason: f.Reason})
	}
	return http.StatusOK, map[string]any{"message": fmt.Sprintf("%d unames found, %d not found", len(ok), len(failed)),
		"successful": ok, "failed": failed}, nil
}
