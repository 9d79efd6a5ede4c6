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

// one answers with a bot.
func one(status int) func(chimeaccounts.Bot, error) (int, any, error) {
	return func(b chimeaccounts.Bot, err error) (int, any, error) {
		if err != nil {
			return 0, nil, err
		}
		return status, map[string]any{"Bot": toWireBot(b)}, nil
	}
}

// Operations are the slice's route table (the handlers are the methods of handlers).
func (svc *Service) Operations() []awsproto.Operation {
	h := handlers{svc}
	const bot = "/accounts/:accountId/bots/:botId"
	return []awsproto.Operation{
		{Name: "CreateBot", Method: http.MethodPost, Path: "/accounts/:accountId/bots", Fn: h.createBot},
		{Name: "ListBots", Method: http.MethodGet, Path: "/accounts/:accountId/bots", ReadOnly: true, Fn: h.listBots},
		{Name: "GetBot", Method: http.MethodGet, Path: bot, ReadOnly: true, Fn: h.getBot},
		{Name: "UpdateBot", Method: http.MethodPost, Path: bot, Fn: h.updateBot},
		{Name: "RegenerateSecurityToken", Method: http.MethodPost, Path: bot, Query: "regenerate-security-token", Fn: h.regenerateSecurityToken},
		{Name: "PutEventsConfiguration", Method: http.MethodPut, Path: bot + "/events-configuration", Fn: h.putEventsConfiguration},
		{Name: "GetEventsConfiguration", Method: http.MethodGet, Path: bot + "/events-configuration", ReadOnly: true, Fn: h.getEventsConfiguration},
		{Name: "DeleteEventsConfiguration", Method: http.MethodDelete, Path: bot + "/events-configuration", Fn: h.deleteEventsConfiguration},
	}
}

// handlers are the operations' handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) createBot(k *awsproto.Call) (int, any, error) {
	var in struct{ DisplayName, Domain *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.DisplayName == nil {
		return 0, nil, awsproto.BadRequest("DisplayName is required")
	}
	return one(http.StatusCreated)(h.svc.CreateBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.DisplayName, awsproto.Deref(in.Domain)))
}

func (h handlers) listBots(k *awsproto.Call) (int, any, error) {
	limit, err := k.MaxResults(10, 99)
	if err != nil {
		return 0, nil, err
	}
	list, next, err := h.svc.ListBots(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Query("next-token"), limit)
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
}

func (h handlers) getBot(k *awsproto.Call) (int, any, error) {
	return one(http.StatusOK)(h.svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
}

func (h handlers) updateBot(k *awsproto.Call) (int, any, error) {
	var in struct{ Disabled *bool }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Disabled == nil {
		return one(http.StatusOK)(h.svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
	}
	return one(http.StatusOK)(h.svc.UpdateBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"), *in.Disabled))
}

func (h handlers) regenerateSecurityToken(k *awsproto.Call) (int, any, error) {
	return one(http.StatusOK)(h.svc.RegenerateSecurityToken(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")))
}

func (h handlers) putEventsConfiguration(k *awsproto.Call) (int, any, error) {
	var in struct{ LambdaFunctionArn, OutboundEventsHTTPSEndpoint *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	b, err := h.svc.PutEventsConfiguration(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"),
		awsproto.Deref(in.LambdaFunctionArn), awsproto.Deref(in.OutboundEventsHTTPSEndpoint))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, eventsConfig(b), nil
}

func (h handlers) getEventsConfiguration(k *awsproto.Call) (int, any, error) {
	b, err := h.svc.GetBot(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, eventsConfig(b), nil
}

func (h handlers) deleteEventsConfiguration(k *awsproto.Call) (int, any, error) {
	if err := h.svc.DeleteEventsConfiguration(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("botId")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
