package retention

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
)

const path = "/networks/:networkId/data-retention-bots"

// message answers a mutation with the model's message.
func message(msg string) (int, any, error) {
	return http.StatusOK, map[string]string{"message": msg}, nil
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateDataRetentionBot", Method: http.MethodPost, Path: path, Fn: func(k *awsproto.Call) (int, any, error) {
			id, err := wickrproto.NetworkID(k)
			if err != nil {
				return 0, nil, err
			}
			if err := svc.CreateBot(k.Ctx, k.AWSAccount(), k.Region, id); err != nil {
				return 0, nil, err
			}
			return message("Data retention bot provisioned successfully for network " + id)
		}},
		{Name: "CreateDataRetentionBotChallenge", Method: http.MethodPost, Path: path + "/challenge", Fn: func(k *awsproto.Call) (int, any, error) {
			id, err := wickrproto.NetworkID(k)
			if err != nil {
				return 0, nil, err
			}
			c, err := svc.CreateChallenge(k.Ctx, k.AWSAccount(), k.Region, id)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]string{"challenge": c}, nil
		}},
		{Name: "GetDataRetentionBot", Method: http.MethodGet, Path: path, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			st, err := svc.Bot(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
			if err != nil {
				return 0, nil, err
			}
			out := map[string]any{"botExists": st.Exists, "isBotActive": st.Active, "isDataRetentionBotRegistered": st.Registered,
				"isDataRetentionServiceEnabled": st.ServiceEnabled, "isPubkeyMsgAcked": st.PubkeyAcked}
			if st.BotName != "" {
				out["botName"] = st.BotName
			}
			return http.StatusOK, out, nil
		}},
		{Name: "UpdateDataRetention", Method: http.MethodPatch, Path: path, Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct {
				ActionType *string `json:"actionType"`
			}
			id, err := wickrproto.NetworkID(k)
			if err != nil {
				return 0, nil, err
			}
			if err := wickrproto.Decode(k, &in); err != nil {
				return 0, nil, err
			}
			if err := wickrproto.Required("actionType", in.ActionType); err != nil {
				return 0, nil, err
			}
			if err := svc.Update(k.Ctx, k.AWSAccount(), k.Region, id, *in.ActionType); err != nil {
				return 0, nil, err
			}
			return message("Data retention " + *in.ActionType + " applied to network " + id)
		}},
		{Name: "DeleteDataRetentionBot", Method: http.MethodDelete, Path: path, Fn: func(k *awsproto.Call) (int, any, error) {
			id, err := wickrproto.NetworkID(k)
			if err != nil {
				return 0, nil, err
			}
			if err := svc.DeleteBot(k.Ctx, k.AWSAccount(), k.Region, id); err != nil {
				return 0, nil, err
			}
			return message("Data retention bot and all associated data deleted for network " + id)
		}},
	}
}
