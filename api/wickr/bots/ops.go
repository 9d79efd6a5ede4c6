package bots

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrnetworks"
)

// wireBot is the model's Bot (and GetBotResponse).
type wireBot struct {
	BotID        string `json:"botId"`
	DisplayName  string `json:"displayName"`
	Username     string `json:"username"`
	Uname        string `json:"uname"`
	Status       int    `json:"status"`
	GroupID      string `json:"groupId"`
	HasChallenge bool   `json:"hasChallenge"`
	Suspended    bool   `json:"suspended"`
	LastLogin    string `json:"lastLogin,omitempty"`
}

func toWire(b wickrnetworks.Bot) wireBot {
	w := wireBot{BotID: b.ID, DisplayName: b.DisplayName, Username: b.Username, Uname: wickr.UsernameHash(b.Username), Status: b.Status,
		GroupID: b.GroupID, HasChallenge: b.HasChallenge, Suspended: b.Suspended}
	if !b.LastLogin.IsZero() {
		w.LastLogin = b.LastLogin.UTC().Format(time.RFC3339)
	}
	return w
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateBot", Method: http.MethodPost, Path: "/networks/:networkId/bots", Fn: svc.createBot},
		{Name: "ListBots", Method: http.MethodGet, Path: "/networks/:networkId/bots", ReadOnly: true, Fn: svc.listBots},
		{Name: "GetBotsCount", Method: http.MethodGet, Path: "/networks/:networkId/bots/count", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			c, err := svc.BotsCount(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]int{"pending": c.Pending, "active": c.Active, "total": c.Total}, nil
		}},
		{Name: "GetBot", Method: http.MethodGet, Path: "/networks/:networkId/bots/:botId", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			b, err := svc.GetBot(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("botId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, toWire(b), nil
		}},
		{Name: "UpdateBot", Method: http.MethodPatch, Path: "/networks/:networkId/bots/:botId", Fn: svc.updateBot},
		{Name: "DeleteBot", Method: http.MethodDelete, Path: "/networks/:networkId/bots/:botId", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DeleteBot(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("botId")); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]string{"message": "Bot " + k.Param("botId") + " deleted successfully"}, nil
		}},
	}
}

func (svc *Service) createBot(k *awsproto.Call) (int, any, error) {
	var in struct {
		Username    *string `json:"username"`
		DisplayName *string `json:"displayName"`
		GroupID     *string `json:"groupId"`
		Challenge   *string `json:"challenge"`
	}
	if _, err := wickrproto.NetworkID(k); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(wickrproto.Required("username", in.Username), wickrproto.Required("groupId", in.GroupID),
		wickrproto.Required("challenge", in.Challenge)); err != nil {
		return 0, nil, err
	}
	b, err := svc.CreateBot(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), CreateInput{Username: *in.Username,
		DisplayName: deref(in.DisplayName), GroupID: *in.GroupID, Challenge: *in.Challenge})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"message": "Bot " + b.Username + " created successfully", "botId": b.ID, "networkId": b.NetworkID,
		"username": b.Username, "displayName": b.DisplayName, "groupId": b.GroupID}, nil
}

func (svc *Service) listBots(k *awsproto.Call) (int, any, error) {
	if _, err := wickrproto.NetworkID(k); err != nil {
		return 0, nil, err
	}
	l, err := wickrproto.ListParams(k, true, "username", "firstName", "displayName", "status", "groupId")
	if err != nil {
		return 0, nil, err
	}
	q := wickrnetworks.BotQuery{DisplayName: k.Query("displayName"), Username: k.Query("username"), GroupID: k.Query("groupId"),
		Sort: l.SortFields, Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults}
	if s := k.Query("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || (n != network.BotPending && n != network.BotActive) {
			return 0, nil, wickr.Invalid("status", "must be 1 (pending) or 2 (active), got %q", s)
		}
		q.Status = n
	}
	list, next, err := svc.ListBots(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), q)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireBot, len(list))
	for i, b := range list {
		out[i] = toWire(b)
	}
	resp := map[string]any{"bots": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}

func (svc *Service) updateBot(k *awsproto.Call) (int, any, error) {
	var in struct {
		DisplayName *string `json:"displayName"`
		GroupID     *string `json:"groupId"`
		Challenge   *string `json:"challenge"`
		Suspend     *bool   `json:"suspend"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	err := svc.UpdateBot(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("botId"),
		UpdateInput{DisplayName: in.DisplayName, GroupID: in.GroupID, Challenge: in.Challenge, Suspend: in.Suspend})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"message": "Bot " + k.Param("botId") + " updated successfully"}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
