package domains

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type wireDomain struct {
	DomainName        string `json:"DomainName"`
	Status            string `json:"Status"`
	TxtRecordName     string `json:"TxtRecordName"`
	TxtRecordValue    string `json:"TxtRecordValue"`
	ClaimedTimestamp  string `json:"ClaimedTimestamp"`
	VerifiedTimestamp string `json:"VerifiedTimestamp,omitempty"`
}

func toWireDomain(d chimeaccounts.Domain) wireDomain {
	w := wireDomain{DomainName: d.Name, Status: d.Status, TxtRecordName: d.TXTName, TxtRecordValue: d.TXTValue, ClaimedTimestamp: awsproto.Timestamp(d.ClaimedAt)}
	if d.VerifiedAt != nil {
		w.VerifiedTimestamp = awsproto.Timestamp(*d.VerifiedAt)
	}
	return w
}

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	one := func(status int) func(chimeaccounts.Domain, error) (int, any, error) {
		return func(d chimeaccounts.Domain, err error) (int, any, error) {
			if err != nil {
				return 0, nil, err
			}
			return status, map[string]any{"Domain": toWireDomain(d)}, nil
		}
	}
	return []awsproto.Operation{
		{Name: "AddDomain", Method: http.MethodPost, Path: "/console/accounts/:accountId/domains", Fn: func(k *awsproto.Call) (int, any, error) {
			var in struct{ DomainName *string }
			if err := k.Decode(&in); err != nil {
				return 0, nil, err
			}
			if in.DomainName == nil {
				return 0, nil, awsproto.BadRequest("DomainName is required")
			}
			return one(http.StatusCreated)(svc.ClaimDomain(k.Ctx, k.AWSAccount(), k.Param("accountId"), *in.DomainName))
		}},
		{Name: "ListDomains", Method: http.MethodGet, Path: "/console/accounts/:accountId/domains", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			list, err := svc.ListDomains(k.Ctx, k.AWSAccount(), k.Param("accountId"))
			if err != nil {
				return 0, nil, err
			}
			out := make([]wireDomain, len(list))
			for i, d := range list {
				out[i] = toWireDomain(d)
			}
			return http.StatusOK, map[string]any{"Domains": out}, nil
		}},
		{Name: "GetDomain", Method: http.MethodGet, Path: "/console/accounts/:accountId/domains/:domain", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			return one(http.StatusOK)(svc.GetDomain(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("domain")))
		}},
		{Name: "VerifyDomain", Method: http.MethodPost, Path: "/console/accounts/:accountId/domains/:domain", Query: "verify", Fn: func(k *awsproto.Call) (int, any, error) {
			return one(http.StatusOK)(svc.VerifyDomain(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("domain")))
		}},
		{Name: "RemoveDomain", Method: http.MethodDelete, Path: "/console/accounts/:accountId/domains/:domain", Fn: func(k *awsproto.Call) (int, any, error) {
			if err := svc.RemoveDomain(k.Ctx, k.AWSAccount(), k.Param("accountId"), k.Param("domain")); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}},
	}
}
