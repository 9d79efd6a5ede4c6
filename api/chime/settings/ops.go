package settings

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/account"
)

type wireBucket struct {
	CdrBucket *string `json:"CdrBucket,omitempty"`
}

func bucket(name string) *wireBucket {
	if name == "" {
		return &wireBucket{}
	}
	return &wireBucket{CdrBucket: &name}
}

// Operations are the slice's route table (the handlers are the methods of handlers).
func (svc *Service) Operations() []awsproto.Operation {
	h := handlers{svc}
	return []awsproto.Operation{
		{Name: "GetGlobalSettings", Method: http.MethodGet, Path: "/settings", ReadOnly: true, Fn: h.getGlobalSettings},
		{Name: "UpdateGlobalSettings", Method: http.MethodPut, Path: "/settings", Fn: h.updateGlobalSettings},
		{Name: "GetPhoneNumberSettings", Method: http.MethodGet, Path: "/settings/phone-number", ReadOnly: true, Fn: h.getPhoneNumberSettings},
		{Name: "UpdatePhoneNumberSettings", Method: http.MethodPut, Path: "/settings/phone-number", Fn: h.updatePhoneNumberSettings},
		{Name: "GetUserSettings", Method: http.MethodGet, Path: "/accounts/:accountId/users/:userId/settings", ReadOnly: true, Fn: h.getUserSettings},
		{Name: "UpdateUserSettings", Method: http.MethodPut, Path: "/accounts/:accountId/users/:userId/settings", Fn: h.updateUserSettings},
	}
}

func ptrOrEmpty(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}

// handlers are the operations' handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) getGlobalSettings(k *awsproto.Call) (int, any, error) {
	st, err := h.svc.GlobalSettings(k.Ctx, k.AWSAccount())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"BusinessCalling": bucket(st.BusinessCallingCdrBucket), "VoiceConnector": bucket(st.VoiceConnectorCdrBucket)}, nil
}

func (h handlers) updateGlobalSettings(k *awsproto.Call) (int, any, error) {
	var in struct{ BusinessCalling, VoiceConnector *wireBucket }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	var bc, vc *string
	if in.BusinessCalling != nil {
		bc = ptrOrEmpty(in.BusinessCalling.CdrBucket)
	}
	if in.VoiceConnector != nil {
		vc = ptrOrEmpty(in.VoiceConnector.CdrBucket)
	}
	if err := h.svc.UpdateGlobalSettings(k.Ctx, k.AWSAccount(), bc, vc); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h handlers) getPhoneNumberSettings(k *awsproto.Call) (int, any, error) {
	st, err := h.svc.GlobalSettings(k.Ctx, k.AWSAccount())
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	if st.CallingName != "" {
		out["CallingName"] = st.CallingName
		out["CallingNameUpdatedTimestamp"] = awsproto.Timestamp(st.CallingNameUpdatedAt)
	}
	return http.StatusOK, out, nil
}

func (h handlers) updatePhoneNumberSettings(k *awsproto.Call) (int, any, error) {
	var in struct{ CallingName *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.CallingName == nil {
		return 0, nil, awsproto.BadRequest("CallingName is required")
	}
	if err := h.svc.UpdateCallingName(k.Ctx, k.AWSAccount(), *in.CallingName); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h handlers) getUserSettings(k *awsproto.Call) (int, any, error) {
	t, err := h.svc.GetUserSettings(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"UserSettings": map[string]any{"Telephony": map[string]bool{
		"InboundCalling": t.InboundCalling, "OutboundCalling": t.OutboundCalling, "SMS": t.SMS}}}, nil
}

func (h handlers) updateUserSettings(k *awsproto.Call) (int, any, error) {
	var in struct {
		UserSettings *struct {
			Telephony *struct{ InboundCalling, OutboundCalling, SMS *bool }
		}
	}
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.UserSettings == nil || in.UserSettings.Telephony == nil {
		return 0, nil, awsproto.BadRequest("UserSettings.Telephony is required")
	}
	tp := in.UserSettings.Telephony
	if tp.InboundCalling == nil || tp.OutboundCalling == nil || tp.SMS == nil {
		return 0, nil, awsproto.BadRequest("UserSettings.Telephony needs InboundCalling, OutboundCalling and SMS")
	}
	err := h.svc.UpdateUserSettings(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId"),
		account.Telephony{InboundCalling: *tp.InboundCalling, OutboundCalling: *tp.OutboundCalling, SMS: *tp.SMS})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
