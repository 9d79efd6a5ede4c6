package bots

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type wireBot struct {
	BotID            string `json:"BotId"`
	UserID           string `json:"UserId"`
	DisplayName      string `json:"DisplayName"`
	BotType          string `json:"BotType"`
	Disabled         bool   `json:"Disabled"`
	BotEmail         string `json:"BotEmail"`
	SecurityToken    string `json:"SecurityToken"`
	CreatedTimestamp string `json:"CreatedTimestamp"`
	UpdatedTimestamp string `json:"UpdatedTimestamp"`
}

func toWireBot(b chimeaccounts.Bot) wireBot {
	return wireBot{BotID: b.BotID, UserID: b.UserID, DisplayName: b.DisplayName, BotType: "ChatBot", Disabled: b.Disabled,
		BotEmail: b.Email, SecurityToken: b.SecurityToken, CreatedTimestamp: awsproto.Timestamp(b.CreatedAt), UpdatedTimestamp: awsproto.Timestamp(b.UpdatedAt)}
}

func eventsConfig(b chimeaccounts.Bot) map[string]any {
	cfg := map[string]any{"BotId": b.BotID}
	if b.LambdaARN != nil {
		cfg["LambdaFunctionArn"] = *b.LambdaARN
	}
	if b.HTTPSEndpoint != nil {
		cfg["OutboundEventsHTTPSEndpoint"] = *b.HTTPSEndpoint
	}
	return map[string]any{"EventsConfiguration": cfg}
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	one := func(status int) func(chimeaccounts.Bot, error) (int, any, error) {
		return func(b chimeaccounts.Bot, err error) (int, any, error) {
			if err != nil {
				return 0, nil, err
			}
			return status, map[string]any{"Bot": toWireBot(b)}, nil
		}
	}
	const bot = "/accounts/:accountId/bots/:botId"
	return []awsproto.Operation{
		{Name: "CreateBot", Method: http.MethodPost, Path: "/accounts/:accountId/bots", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ DisplayName, Domain *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.DisplayName == nil {
				return 0, nil, awsproto.BadRequest("DisplayName is required")
			}
			return one(http.StatusCreated)(svc.CreateBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.DisplayName, awsproto.Deref(in.Domain)))
		}},
		{Name: "ListBots", Method: http.MethodGet, Path: "/accounts/:accountId/bots", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(10, 99)
			if err != nil {
				return 0, nil, err
			}
			list, next, err := svc.ListBots(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			out := make([]wireBot, len(list))
			for i, b := range list {
				out[i] = toWireBot(b)
			}
			resp := map[string]any{"Bots": out}
			if next != "" {
				resp["NextToken"] = next
			}
			return http.StatusOK, resp, nil
		}},
		{Name: "GetBot", Method: http.MethodGet, Path: bot, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			return one(http.StatusOK)(svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
		}},
		{Name: "UpdateBot", Method: http.MethodPost, Path: bot, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Disabled *bool }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.Disabled == nil {
				return one(http.StatusOK)(svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
			}
			return one(http.StatusOK)(svc.UpdateBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"), *in.Disabled))
		}},
		{Name: "RegenerateSecurityToken", Method: http.MethodPost, Path: bot, Query: "regenerate-security-token", Fn: func(k *awsproto.Call) (int, any, error) {
			return one(http.StatusOK)(svc.RegenerateSecurityToken(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
		}},
		{Name: "PutEventsConfiguration", Method: http.MethodPut, Path: bot + "/events-configuration", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ LambdaFunctionArn, OutboundEventsHTTPSEndpoint *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			b, err := svc.PutEventsConfiguration(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"),
				awsproto.Deref(in.LambdaFunctionArn), awsproto.Deref(in.OutboundEventsHTTPSEndpoint))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, eventsConfig(b), nil
		}},
		{Name: "GetEventsConfiguration", Method: http.MethodGet, Path: bot + "/events-configuration", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			b, err := svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, eventsConfig(b), nil
		}},
		{Name: "DeleteEventsConfiguration", Method: http.MethodDelete, Path: bot + "/events-configuration", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DeleteEventsConfiguration(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
	}
}
