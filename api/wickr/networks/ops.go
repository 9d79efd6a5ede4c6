package networks

import (
	"errors"
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrnetworks"
)

// wireNetwork is the model's Network (and GetNetworkResponse).
type wireNetwork struct {
	NetworkID           string `json:"networkId"`
	NetworkName         string `json:"networkName"`
	AccessLevel         string `json:"accessLevel"`
	AwsAccountID        string `json:"awsAccountId"`
	NetworkArn          string `json:"networkArn"`
	FreeTrialExpiration string `json:"freeTrialExpiration,omitempty"`
	EncryptionKeyArn    string `json:"encryptionKeyArn,omitempty"`
}

// ARN is a network's ARN (arn:<partition>:wickr:<region>:<account>:network/<id>).
func ARN(n wickrnetworks.Network) string {
	partition := "aws"
	if n.Region == wickr.GovRegion {
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":wickr:" + n.Region + ":" + n.AwsAccountID + ":network/" + n.ID
}

func toWire(n wickrnetworks.Network) wireNetwork {
	w := wireNetwork{NetworkID: n.ID, NetworkName: n.Name, AccessLevel: n.AccessLevel, AwsAccountID: n.AwsAccountID, NetworkArn: ARN(n),
		EncryptionKeyArn: n.EncryptionKeyArn}
	if n.Trial && !n.TrialExpiresAt.IsZero() {
		w.FreeTrialExpiration = n.TrialExpiresAt.UTC().Format(time.RFC3339)
	}
	return w
}

// wireSetting is the model's Setting.
type wireSetting struct {
	OptionName string `json:"optionName"`
	Value      string `json:"value"`
	Type       string `json:"type"`
}

func settingsList(s network.Settings) map[string]any {
	out := []wireSetting{}
	for _, o := range s.Options() {
		out = append(out, wireSetting{o.Name, o.Value, o.Type})
	}
	return map[string]any{"settings": out}
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "CreateNetwork", Method: http.MethodPost, Path: "/networks", Fn: svc.createNetwork},
		{Name: "ListNetworks", Method: http.MethodGet, Path: "/networks", ReadOnly: true, Fn: svc.listNetworks},
		{Name: "GetNetwork", Method: http.MethodGet, Path: "/networks/:networkId", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			n, err := svc.GetNetwork(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, toWire(n), nil
		}},
		{Name: "UpdateNetwork", Method: http.MethodPatch, Path: "/networks/:networkId", Fn: svc.updateNetwork},
		{Name: "DeleteNetwork", Method: http.MethodDelete, Path: "/networks/:networkId", Fn: func(k *awsproto.Call) (int, any, error) {
			if _, err := wickrproto.ClientToken(k); err != nil {
				return 0, nil, err
			}
			if err := svc.DeleteNetwork(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId")); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"message": "Network " + k.Param("networkId") + " deletion initiated successfully"}, nil
		}},
		{Name: "GetNetworkSettings", Method: http.MethodGet, Path: "/networks/:networkId/settings", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			s, err := svc.NetworkSettings(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, settingsList(s), nil
		}},
		{Name: "UpdateNetworkSettings", Method: http.MethodPatch, Path: "/networks/:networkId/settings", Fn: svc.updateSettings},
	}
}

func (svc *Service) createNetwork(k *awsproto.Call) (int, any, error) {
	var in struct {
		NetworkName            *string `json:"networkName"`
		AccessLevel            *string `json:"accessLevel"`
		EnablePremiumFreeTrial *bool   `json:"enablePremiumFreeTrial"`
		EncryptionKeyArn       *string `json:"encryptionKeyArn"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(wickrproto.Required("networkName", in.NetworkName), wickrproto.Required("accessLevel", in.AccessLevel)); err != nil {
		return 0, nil, err
	}
	n, err := svc.CreateNetwork(k.Ctx, k.AWSAccount(), k.Region, CreateInput{Name: *in.NetworkName, AccessLevel: *in.AccessLevel,
		EncryptionKeyArn: deref(in.EncryptionKeyArn), Trial: in.EnablePremiumFreeTrial != nil && *in.EnablePremiumFreeTrial})
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"networkId": n.ID, "networkName": n.Name}
	if n.EncryptionKeyArn != "" {
		out["encryptionKeyArn"] = n.EncryptionKeyArn
	}
	return http.StatusOK, out, nil
}

func (svc *Service) listNetworks(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, false, "networkId", "networkName")
	if err != nil {
		return 0, nil, err
	}
	list, next, err := svc.ListNetworks(k.Ctx, k.AWSAccount(), k.Region,
		wickrnetworks.Page{Sort: l.SortFields[0], Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults})
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireNetwork, len(list))
	for i, n := range list {
		out[i] = toWire(n)
	}
	resp := map[string]any{"networks": out}
	return http.StatusOK, wickrproto.Paged(resp, next), nil
}

func (svc *Service) updateNetwork(k *awsproto.Call) (int, any, error) {
	var in struct {
		NetworkName            *string `json:"networkName"`
		EncryptionKeyArn       *string `json:"encryptionKeyArn"`
		AccessLevel            *string `json:"accessLevel"`
		EnablePremiumFreeTrial *bool   `json:"enablePremiumFreeTrial"`
	}
	if _, err := wickrproto.ClientToken(k); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("networkName", in.NetworkName); err != nil {
		return 0, nil, err
	}
	err := svc.UpdateNetwork(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), UpdateInput{Name: *in.NetworkName,
		EncryptionKeyArn: in.EncryptionKeyArn, AccessLevel: in.AccessLevel, Trial: in.EnablePremiumFreeTrial})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"message": "Network " + k.Param("networkId") + " updated successfully"}, nil
}

func (svc *Service) updateSettings(k *awsproto.Call) (int, any, error) {
	var in struct {
		Settings *struct {
			EnableClientMetrics *bool `json:"enableClientMetrics"`
			ReadReceiptConfig   *struct {
				Status *string `json:"status"`
			} `json:"readReceiptConfig"`
			DataRetention           *bool                 `json:"dataRetention"`
			EnableTrustedDataFormat *bool                 `json:"enableTrustedDataFormat"`
			ConsentPopup            *network.ConsentPopup `json:"consentPopup"`
		} `json:"settings"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("settings", in.Settings); err != nil {
		return 0, nil, err
	}
	u := network.UpdateSettings{NetworkID: k.Param("networkId"), EnableClientMetrics: in.Settings.EnableClientMetrics,
		DataRetention: in.Settings.DataRetention, EnableTrustedDataFormat: in.Settings.EnableTrustedDataFormat, ConsentPopup: in.Settings.ConsentPopup}
	if r := in.Settings.ReadReceiptConfig; r != nil {
		u.ReadReceiptStatus = r.Status
	}
	s, err := svc.UpdateNetworkSettings(k.Ctx, k.AWSAccount(), k.Region, u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, settingsList(s), nil
}
