package securitygroups

import (
	"errors"
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// wireGroup is the model's SecurityGroup.
type wireGroup struct {
	ActiveMembers         int         `json:"activeMembers"`
	BotMembers            int         `json:"botMembers"`
	ID                    string      `json:"id"`
	IsDefault             bool        `json:"isDefault"`
	Name                  string      `json:"name"`
	Modified              int64       `json:"modified"` // epoch seconds
	SecurityGroupSettings sg.Settings `json:"securityGroupSettings"`
}

func toWire(g Group) wireGroup {
	return wireGroup{ActiveMembers: g.ActiveMembers, BotMembers: g.BotMembers, ID: g.ID, IsDefault: g.IsDefault, Name: g.Name,
		Modified: g.Modified.Unix(), SecurityGroupSettings: g.Settings}
}

// wireUser is the model's User, as ListSecurityGroupUsers answers it.
type wireUser struct {
	UserID            string   `json:"userId"`
	FirstName         string   `json:"firstName,omitempty"`
	LastName          string   `json:"lastName,omitempty"`
	Username          string   `json:"username"`
	SecurityGroups    []string `json:"securityGroups"`
	IsAdmin           bool     `json:"isAdmin"`
	Suspended         bool     `json:"suspended"`
	Status            int      `json:"status"`
	Type              string   `json:"type"`
	ChallengeFailures int      `json:"challengeFailures"`
	IsUser            bool     `json:"isUser"`
	InviteCode        string   `json:"inviteCode,omitempty"`
	CodeValidation    bool     `json:"codeValidation"`
	Uname             string   `json:"uname"`
}

func toWireUser(u wickrusers.User, now time.Time) wireUser {
	return wireUser{UserID: u.UserID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, SecurityGroups: []string{u.GroupID},
		Suspended: roster.SuspendedAt(u.Suspended, u.LockedUntil, now), Status: u.Status, Type: "user", ChallengeFailures: u.Failures, IsUser: true, InviteCode: u.InviteCode,
		CodeValidation: u.CodeValidation, Uname: wickr.UsernameHash(u.Username)}
}

func caller(k *awsproto.Call) Caller { return Caller{AwsAccountID: k.AWSAccount(), Region: k.Region} }

const groupPath = "/networks/:networkId/security-groups/:groupId"

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateSecurityGroup", Method: http.MethodPost, Path: "/networks/:networkId/security-groups", Fn: svc.create},
		{Name: "ListSecurityGroups", Method: http.MethodGet, Path: "/networks/:networkId/security-groups", ReadOnly: true, Fn: svc.list},
		{Name: "GetSecurityGroup", Method: http.MethodGet, Path: groupPath, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			g, err := svc.Get(k.Ctx, caller(k), k.Param("networkId"), k.Param("groupId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"securityGroup": toWire(g)}, nil
		}},
		{Name: "UpdateSecurityGroup", Method: http.MethodPatch, Path: groupPath, Fn: svc.update},
		{Name: "DeleteSecurityGroup", Method: http.MethodDelete, Path: groupPath, Fn: func(k *awsproto.Call) (int, any, error) {
			nid, gid := k.Param("networkId"), k.Param("groupId")
			if err := svc.Delete(k.Ctx, caller(k), nid, gid); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"message": "Security group " + gid + " deleted; its users moved to the default security group",
				"networkId": nid, "groupId": gid}, nil
		}},
		{Name: "ListSecurityGroupUsers", Method: http.MethodGet, Path: groupPath + "/users", ReadOnly: true, Fn: svc.users},
	}
}

func (svc *Service) create(k *awsproto.Call) (int, any, error) {
	var in struct {
		Name     *string   `json:"name"`
		Settings *sg.Patch `json:"securityGroupSettings"`
	}
	token, err := wickrproto.ClientToken(k)
	if err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(wickrproto.Required("name", in.Name), wickrproto.Required("securityGroupSettings", in.Settings)); err != nil {
		return 0, nil, err
	}
	g, err := svc.CreateGroup(k.Ctx, caller(k), k.Param("networkId"), *in.Name, *in.Settings, token)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"securityGroup": toWire(g)}, nil
}

func (svc *Service) list(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, false, "id", "name")
	if err != nil {
		return 0, nil, err
	}
	groups, next, err := svc.List(k.Ctx, caller(k), k.Param("networkId"),
		wickrnetworks.Page{Sort: l.SortFields[0], Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults})
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireGroup, len(groups))
	for i, g := range groups {
		out[i] = toWire(g)
	}
	resp := map[string]any{"securityGroups": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}

func (svc *Service) update(k *awsproto.Call) (int, any, error) {
	var in struct {
		Name     *string   `json:"name"`
		Settings *sg.Patch `json:"securityGroupSettings"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	g, err := svc.Update(k.Ctx, caller(k), k.Param("networkId"), k.Param("groupId"), in.Name, in.Settings)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"securityGroup": toWire(g)}, nil
}

func (svc *Service) users(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, true, "username", "firstName", "lastName")
	if err != nil {
		return 0, nil, err
	}
	users, next, err := svc.Users(k.Ctx, caller(k), k.Param("networkId"), k.Param("groupId"),
		wickrusers.UserPage{Sort: l.SortFields, Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults})
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireUser, len(users))
	now := svc.d.Now()
	for i, u := range users {
		out[i] = toWireUser(u, now)
	}
	resp := map[string]any{"users": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}
