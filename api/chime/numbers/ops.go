package numbers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/projections/chimenumbers"
)

func toWireOrder(o chimenumbers.Order) map[string]any {
	nums := make([]map[string]string, len(o.Numbers))
	for i, n := range o.Numbers {
		nums[i] = map[string]string{"E164PhoneNumber": n.E164, "Status": n.Status}
	}
	return map[string]any{"PhoneNumberOrderId": o.OrderID, "ProductType": o.ProductType, "Status": o.Status,
		"OrderedPhoneNumbers": nums, "CreatedTimestamp": awsproto.Timestamp(o.CreatedAt), "UpdatedTimestamp": awsproto.Timestamp(o.UpdatedAt)}
}

func toWireNumber(svc *Service, n chimenumbers.Number) map[string]any {
	sms := n.Type == phonenumber.TypeLocal
	w := map[string]any{
		"PhoneNumberId": n.E164, "E164PhoneNumber": n.E164, "Country": n.Country, "Type": n.Type, "ProductType": n.ProductType,
		"Status": n.Status, "CallingNameStatus": svc.CallingNameStatusOf(n),
		"Capabilities": map[string]bool{"InboundCall": true, "OutboundCall": true, "InboundSMS": sms, "OutboundSMS": sms,
			"InboundMMS": false, "OutboundMMS": false},
		"Associations":     []map[string]string{},
		"CreatedTimestamp": awsproto.Timestamp(n.CreatedAt), "UpdatedTimestamp": awsproto.Timestamp(n.UpdatedAt),
	}
	if n.CallingName != "" {
		w["CallingName"] = n.CallingName
	}
	if n.AccountID != nil && n.UserID != nil && n.AssociatedAt != nil {
		at := awsproto.Timestamp(*n.AssociatedAt)
		w["Associations"] = []map[string]string{{"Name": "AccountId", "Value": *n.AccountID, "AssociatedTimestamp": at},
			{"Name": "UserId", "Value": *n.UserID, "AssociatedTimestamp": at}}
	}
	if n.DeletedAt != nil {
		w["DeletionTimestamp"] = awsproto.Timestamp(*n.DeletedAt)
	}
	return w
}

type wireNumberError struct {
	PhoneNumberID string `json:"PhoneNumberId"`
	ErrorCode     string `json:"ErrorCode"`
	ErrorMessage  string `json:"ErrorMessage"`
}

// associationsExist is the wire error of a number refused because it is still assigned: the
// ErrorCode PhoneNumberAssociationsExist names that case (guide §6.7), in a batch's items as in the
// BadRequestException of DeletePhoneNumber and of UpdatePhoneNumber (an assigned number stays a
// BusinessCalling one).
func associationsExist(err error) error {
	if !errors.Is(err, phonenumber.ErrAssigned) {
		return err
	}
	w := awsproto.ToWire(err)
	return &awsproto.WireError{Status: w.Status, Type: w.Type, Code: "PhoneNumberAssociationsExist", Msg: w.Msg}
}

func numberError(id string, err error) wireNumberError {
	w := awsproto.ToWire(associationsExist(err))
	code := w.Code
	if code == "" {
		code = "ServiceFailure"
	}
	return wireNumberError{PhoneNumberID: id, ErrorCode: code, ErrorMessage: w.Msg}
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	number := func(status int) func(chimenumbers.Number, error) (int, any, error) {
		return func(n chimenumbers.Number, err error) (int, any, error) {
			if err != nil {
				return 0, nil, err
			}
			return status, map[string]any{"PhoneNumber": toWireNumber(svc, n)}, nil
		}
	}
	return []awsproto.Operation{
		{Name: "SearchAvailablePhoneNumbers", Method: http.MethodGet, Path: "/search", Query: "phone-numbers", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(100, 500)
			if err != nil {
				return 0, nil, err
			}
			q := phonenumber.Query{AreaCode: k.Query("area-code"), City: k.Query("city"), Country: k.Query("country"), State: k.Query("state"),
				TollFreePrefix: k.Query("toll-free-prefix"), Type: k.Query("phone-number-type")}
			nums, next, err := svc.SearchAvailable(k.Ctx, q, k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			resp := map[string]any{"E164PhoneNumbers": nums}
			if next != "" {
				resp["NextToken"] = next
			}
			return http.StatusOK, resp, nil
		}},
		{Name: "ListSupportedPhoneNumberCountries", Method: http.MethodGet, Path: "/phone-number-countries", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			pt := k.Query("product-type")
			if !phonenumber.ValidProduct(pt) {
				return 0, nil, awsproto.BadRequest("product-type must be BusinessCalling, VoiceConnector or SipMediaApplicationDialIn")
			}
			var out []map[string]any
			for _, c := range phonenumber.Countries(pt) {
				out = append(out, map[string]any{"CountryCode": c.Code, "SupportedPhoneNumberTypes": c.Types})
			}
			if out == nil {
				out = []map[string]any{}
			}
			return http.StatusOK, map[string]any{"PhoneNumberCountries": out}, nil
		}},
		{Name: "CreatePhoneNumberOrder", Method: http.MethodPost, Path: "/phone-number-orders", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct {
				ProductType      *string
				E164PhoneNumbers []string
			}
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.ProductType == nil || in.E164PhoneNumbers == nil {
				return 0, nil, awsproto.BadRequest("ProductType and E164PhoneNumbers are required")
			}
			o, err := svc.CreatePhoneNumberOrder(k.Ctx, k.AWSAccount(), *in.ProductType, in.E164PhoneNumbers)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, map[string]any{"PhoneNumberOrder": toWireOrder(o)}, nil
		}},
		{Name: "GetPhoneNumberOrder", Method: http.MethodGet, Path: "/phone-number-orders/:orderId", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			o, err := svc.GetPhoneNumberOrder(k.Ctx, k.AWSAccount(), k.Param("orderId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"PhoneNumberOrder": toWireOrder(o)}, nil
		}},
		{Name: "ListPhoneNumberOrders", Method: http.MethodGet, Path: "/phone-number-orders", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(100, 500)
			if err != nil {
				return 0, nil, err
			}
			list, next, err := svc.ListPhoneNumberOrders(k.Ctx, k.AWSAccount(), k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			out := make([]map[string]any, len(list))
			for i, o := range list {
				out[i] = toWireOrder(o)
			}
			resp := map[string]any{"PhoneNumberOrders": out}
			if next != "" {
				resp["NextToken"] = next
			}
			return http.StatusOK, resp, nil
		}},
		{Name: "GetPhoneNumber", Method: http.MethodGet, Path: "/phone-numbers/:id", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			return number(http.StatusOK)(svc.GetPhoneNumber(k.Ctx, k.AWSAccount(), k.Param("id")))
		}},
		{Name: "ListPhoneNumbers", Method: http.MethodGet, Path: "/phone-numbers", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			limit, err := k.MaxResults(100, 500)
			if err != nil {
				return 0, nil, err
			}
			f := chimenumbers.Filter{Status: k.Query("status"), ProductType: k.Query("product-type"), FilterName: k.Query("filter-name"), FilterValue: k.Query("filter-value")}
			if f.FilterName != "" && f.FilterName != "AccountId" && f.FilterName != "UserId" {
				return 0, nil, awsproto.BadRequest("filter-name must be AccountId or UserId")
			}
			list, next, err := svc.ListPhoneNumbers(k.Ctx, k.AWSAccount(), f, k.Query("next-token"), limit)
			if err != nil {
				return 0, nil, err
			}
			out := make([]map[string]any, len(list))
			for i, n := range list {
				out[i] = toWireNumber(svc, n)
			}
			resp := map[string]any{"PhoneNumbers": out}
			if next != "" {
				resp["NextToken"] = next
			}
			return http.StatusOK, resp, nil
		}},
		{Name: "UpdatePhoneNumber", Method: http.MethodPost, Path: "/phone-numbers/:id", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ ProductType, CallingName *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			n, err := svc.UpdatePhoneNumber(k.Ctx, k.AWSAccount(), k.Param("id"), in.ProductType, in.CallingName)
			return number(http.StatusOK)(n, associationsExist(err))
		}},
		{Name: "BatchUpdatePhoneNumber", Method: http.MethodPost, Path: "/phone-numbers", Query: "batch-update", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct {
				UpdatePhoneNumberRequestItems []struct{ PhoneNumberId, ProductType, CallingName *string }
			}
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if len(in.UpdatePhoneNumberRequestItems) == 0 || len(in.UpdatePhoneNumberRequestItems) > 500 {
				return 0, nil, awsproto.BadRequest("UpdatePhoneNumberRequestItems must hold 1-500 items")
			}
			// A malformed item refuses the request before any item is applied: a 400 changes nothing.
			for i, it := range in.UpdatePhoneNumberRequestItems {
				if it.PhoneNumberId == nil {
					return 0, nil, awsproto.BadRequest("UpdatePhoneNumberRequestItems[" + strconv.Itoa(i) + "].PhoneNumberId is required")
				}
			}
			errs := []wireNumberError{}
			for _, it := range in.UpdatePhoneNumberRequestItems {
				if _, err := svc.UpdatePhoneNumber(k.Ctx, k.AWSAccount(), *it.PhoneNumberId, it.ProductType, it.CallingName); err != nil {
					errs = append(errs, numberError(*it.PhoneNumberId, err))
				}
			}
			return http.StatusOK, map[string]any{"PhoneNumberErrors": errs}, nil
		}},
		{Name: "DeletePhoneNumber", Method: http.MethodDelete, Path: "/phone-numbers/:id", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DeletePhoneNumber(k.Ctx, k.AWSAccount(), k.Param("id")); err != nil {
				return 0, nil, associationsExist(err)
			}
			return http.StatusNoContent, nil, nil
		}},
		{Name: "BatchDeletePhoneNumber", Method: http.MethodPost, Path: "/phone-numbers", Query: "batch-delete", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ PhoneNumberIds []string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if len(in.PhoneNumberIds) == 0 || len(in.PhoneNumberIds) > 500 {
				return 0, nil, awsproto.BadRequest("PhoneNumberIds must hold 1-500 ids")
			}
			errs := []wireNumberError{}
			for _, id := range in.PhoneNumberIds {
				if err := svc.DeletePhoneNumber(k.Ctx, k.AWSAccount(), id); err != nil {
					errs = append(errs, numberError(id, err))
				}
			}
			return http.StatusOK, map[string]any{"PhoneNumberErrors": errs}, nil
		}},
		{Name: "RestorePhoneNumber", Method: http.MethodPost, Path: "/phone-numbers/:id", Query: "restore", Fn: func(k *awsproto.Call) (int, any, error) {
			return number(http.StatusOK)(svc.RestorePhoneNumber(k.Ctx, k.AWSAccount(), k.Param("id")))
		}},
		{Name: "AssociatePhoneNumberWithUser", Method: http.MethodPost, Path: "/accounts/:accountId/users/:userId", Query: "associate-phone-number", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ E164PhoneNumber *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.E164PhoneNumber == nil {
				return 0, nil, awsproto.BadRequest("E164PhoneNumber is required")
			}
			if err := svc.AssociatePhoneNumberWithUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId"), *in.E164PhoneNumber); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{}, nil
		}},
		{Name: "DisassociatePhoneNumberFromUser", Method: http.MethodPost, Path: "/accounts/:accountId/users/:userId", Query: "disassociate-phone-number", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.DisassociatePhoneNumberFromUser(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("userId")); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{}, nil
		}},
	}
}
