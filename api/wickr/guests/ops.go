package guests

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/projections/wickrguests"
)

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	const guests = "/networks/:networkId/guest-users"
	return []awsproto.Operation{
		{Name: "ListGuestUsers", Method: http.MethodGet, Path: guests, ReadOnly: true, Fn: svc.list},
		{Name: "GetGuestUserHistoryCount", Method: http.MethodGet, Path: guests + "/count", ReadOnly: true, Fn: svc.history},
		{Name: "ListBlockedGuestUsers", Method: http.MethodGet, Path: guests + "/blocklist", ReadOnly: true, Fn: svc.blocklist},
		{Name: "UpdateGuestUser", Method: http.MethodPatch, Path: guests + "/:usernameHash", Fn: svc.update},
	}
}

var billingPeriod = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

func page(l wickrproto.List) wickrguests.Page {
	return wickrguests.Page{Sort: l.SortFields[0], Desc: l.Desc, NextToken: l.NextToken, Limit: l.MaxResults}
}

func paged(key string, list any, next string) map[string]any {
	return wickrproto.Paged(map[string]any{key: list}, next)
}

func (svc *Service) list(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, false, "username", "billingPeriod")
	if err != nil {
		return 0, nil, err
	}
	bp := k.Query("billingPeriod")
	if bp != "" && !billingPeriod.MatchString(bp) {
		return 0, nil, wickr.Invalid("billingPeriod", "must be a month as YYYY-MM, got %q", bp)
	}
	list, next, err := svc.ListGuestUsers(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Query("username"), bp, page(l))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]string, len(list))
	for i, g := range list {
		out[i] = map[string]string{"billingPeriod": g.BillingPeriod, "username": g.Username, "usernameHash": g.UsernameHash}
	}
	return http.StatusOK, paged("guestlist", out, next), nil
}

func (svc *Service) history(k *awsproto.Call) (int, any, error) {
	months, err := svc.GetGuestUserHistoryCount(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]string, len(months))
	for i, m := range months {
		out[i] = map[string]string{"month": historyMonth(m.Month), "count": strconv.Itoa(m.Count)}
	}
	return http.StatusOK, map[string]any{"history": out}, nil
}

// historyMonth is a billing period ('YYYY-MM', GuestUser's billingPeriod) as the model's
// GuestUserHistoryCount.month writes it: 'YYYY_MM' ('2024_01').
func historyMonth(billingPeriod string) string {
	return strings.Replace(billingPeriod, "-", "_", 1)
}

func (svc *Service) blocklist(k *awsproto.Call) (int, any, error) {
	l, err := wickrproto.ListParams(k, false, "modified", "username", "admin")
	if err != nil {
		return 0, nil, err
	}
	list, next, err := svc.ListBlockedGuestUsers(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), k.Query("username"), k.Query("admin"), page(l))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]string, len(list))
	for i, b := range list {
		out[i] = map[string]string{"username": b.Username, "admin": b.Admin, "modified": b.Modified, "usernameHash": b.UsernameHash}
	}
	return http.StatusOK, paged("blocklist", out, next), nil
}

func (svc *Service) update(k *awsproto.Call) (int, any, error) {
	var in struct {
		Block *bool `json:"block"`
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Required("block", in.Block); err != nil {
		return 0, nil, err
	}
	hash := k.Param("usernameHash")
	if err := svc.UpdateGuestUser(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"), hash, k.Caller.ARN(), *in.Block); err != nil {
		return 0, nil, err
	}
	verb := map[bool]string{true: "blocked", false: "unblocked"}[*in.Block]
	return http.StatusOK, map[string]any{"message": fmt.Sprintf("Guest user %s %s", hash, verb)}, nil
}
