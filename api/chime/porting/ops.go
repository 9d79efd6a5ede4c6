package porting

import (
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/projections/chimenumbers"
)

func toWirePortIn(p chimenumbers.PortIn) map[string]any {
	w := map[string]any{"PortInOrderId": p.OrderID, "Status": p.Status, "ProductType": p.Request.ProductType,
		"PhoneNumbers": p.Request.PhoneNumbers, "PortDate": awsproto.Timestamp(p.Request.PortAt), "Documents": p.Documents,
		"CreatedTimestamp": awsproto.Timestamp(p.CreatedAt), "UpdatedTimestamp": awsproto.Timestamp(p.UpdatedAt)}
	if p.FOCAt != nil {
		w["FocDate"] = awsproto.Timestamp(*p.FOCAt)
	}
	if p.LinkExpires != nil {
		w["UploadLinkExpiresTimestamp"] = awsproto.Timestamp(*p.LinkExpires)
	}
	return w
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, awsproto.BadRequest(field + " must be an RFC 3339 time such as 2026-12-01T15:00:00Z")
	}
	return t, nil
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	const order = "/console/port-in-orders/:id"
	return []awsproto.Operation{
		{Name: "CreatePortInOrder", Method: http.MethodPost, Path: "/console/port-in-orders", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct {
				ProductType, BillingTelephoneNumber, AuthorizingPerson, CurrentCarrier, ServiceAccountNumber string
				ServicePin, ServiceAddress, CustomerName, PortDate                                           string
				PhoneNumbers                                                                                 []string
				BtnOption                                                                                    int
			}
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			at, err := parseTime("PortDate", in.PortDate)
			if err != nil {
				return 0, nil, err
			}
			p, err := svc.SubmitPortIn(k.Ctx, k.AWSAccount(), porting.Request{ProductType: in.ProductType, PhoneNumbers: in.PhoneNumbers,
				BillingTelephoneNumber: in.BillingTelephoneNumber, AuthorizingPerson: in.AuthorizingPerson, CurrentCarrier: in.CurrentCarrier,
				ServiceAccountNumber: in.ServiceAccountNumber, ServiceAddress: in.ServiceAddress,
				CustomerName: in.CustomerName, PortAt: at, BTNOption: in.BtnOption}, in.ServicePin)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, map[string]any{"PortInOrder": toWirePortIn(p)}, nil
		}},
		{Name: "GetPortInOrder", Method: http.MethodGet, Path: order, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			p, err := svc.GetPortIn(k.Ctx, k.AWSAccount(), k.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"PortInOrder": toWirePortIn(p)}, nil
		}},
		{Name: "ListPortInOrders", Method: http.MethodGet, Path: "/console/port-in-orders", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			list, err := svc.ListPortIns(k.Ctx, k.AWSAccount())
			if err != nil {
				return 0, nil, err
			}
			out := make([]map[string]any, len(list))
			for i, p := range list {
				out[i] = toWirePortIn(p)
			}
			return http.StatusOK, map[string]any{"PortInOrders": out}, nil
		}},
		{Name: "UpdatePortInOrderStatus", Method: http.MethodPost, Path: order, Query: "update-status", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Status, Note, FocDate string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			foc, err := parseTime("FocDate", in.FocDate)
			if err != nil {
				return 0, nil, err
			}
			p, failed, err := svc.TransitionPortIn(k.Ctx, k.AWSAccount(), k.Param("id"), in.Status, in.Note, foc)
			if err != nil {
				return 0, nil, err
			}
			if failed == nil {
				failed = []string{}
			}
			return http.StatusOK, map[string]any{"PortInOrder": toWirePortIn(p), "NumbersNotActivated": failed}, nil
		}},
		{Name: "RequestPortInDocuments", Method: http.MethodPost, Path: order, Query: "request-documents", Fn: func(k *awsproto.Call) (int, any, error) {
			tok, exp, err := svc.RequestPortInDocuments(k.Ctx, k.AWSAccount(), k.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"UploadToken": tok, "ExpiresTimestamp": awsproto.Timestamp(exp)}, nil
		}},
		{Name: "UploadPortInDocument", Method: http.MethodPut, Path: order + "/documents/:name", RawBody: true, Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.UploadPortInDocument(k.Ctx, k.AWSAccount(), k.Param("id"), k.Query("token"), k.Param("name"), k.Body); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
		{Name: "SetPortOutPin", Method: http.MethodPut, Path: "/console/phone-numbers/:id/port-out-pin", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ Pin string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if err := svc.SetPortOutPIN(k.Ctx, k.AWSAccount(), k.Param("id"), in.Pin); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
		{Name: "ValidatePortOut", Method: http.MethodPost, Path: "/console/phone-numbers/:id", Query: "port-out", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ AwsAccountId, Pin string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if err := svc.PortOut(k.Ctx, k.Param("id"), in.AwsAccountId, in.Pin); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"PhoneNumberId": k.Param("id"), "Status": "PortedOut"}, nil
		}},
	}
}
