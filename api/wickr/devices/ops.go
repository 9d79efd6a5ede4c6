package devices

import (
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
)

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	const devices = "/networks/:networkId/users/:userId/devices"
	return []awsproto.Operation{
		{Name: "ListDevicesForUser", Method: http.MethodGet, Path: devices, ReadOnly: true, Fn: svc.list},
		{Name: "BatchResetDevicesForUser", Method: http.MethodPatch, Path: devices, Fn: svc.reset},
	}
}

// wireDevice is the model's BasicDeviceObject.
type wireDevice struct {
	AppID      string `json:"appId"`
	Created    string `json:"created"`
	LastLogin  string `json:"lastLogin"`
	StatusText string `json:"statusText"`
	Suspend    bool   `json:"suspend"`
	Type       string `json:"type"`
}

func (svc *Service) list(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, true, Sorts...)
	if err != nil {
		return 0, nil, err
	}
	list, next, err := svc.ListDevicesForUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("userId"),
		Page{Sort: l.SortFields, Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults})
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireDevice, len(list))
	for i, d := range list {
		out[i] = wireDevice{AppID: d.AppID, Created: d.Created.UTC().Format(time.RFC3339), LastLogin: d.LastLogin.UTC().Format(time.RFC3339),
			StatusText: d.Status, Type: d.Type}
	}
	resp := map[string]any{"devices": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}

func (svc *Service) reset(k *awsproto.Call) (int, any, error) {
	if _, err := wickrproto.ClientToken(k); err != nil {
		return 0, nil, err
	}
	var in struct {
		AppIDs *[]string `json:"appIds"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("appIds", in.AppIDs); err != nil {
		return 0, nil, err
	}
	ok, failed, err := svc.BatchResetDevicesForUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Param("userId"), *in.AppIDs)
	if err != nil {
		return 0, nil, err
	}
	okOut := []map[string]string{}
	for _, a := range ok {
		okOut = append(okOut, map[string]string{"appId": a})
	}
	failOut := []map[string]string{}
	for _, f := range failed {
		failOut = append(failOut, map[string]string{"appId": f.AppID, "field": f.Field, "reason": f.Reason})
	}
	return http.StatusOK, map[string]any{"message": "devices reset", "successful": okOut, "failed": failOut}, nil
}
