package accounts

import (
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type wireAccount struct {
	AccountID            string              `json:"AccountId"`
	AwsAccountID         string              `json:"AwsAccountId"`
	Name                 string              `json:"Name"`
	AccountType          string              `json:"AccountType"`
	AccountStatus        string              `json:"AccountStatus"`
	DefaultLicense       string              `json:"DefaultLicense"`
	SupportedLicenses    []string            `json:"SupportedLicenses"`
	CreatedTimestamp     string              `json:"CreatedTimestamp"`
	SigninDelegateGroups []wireDelegateGroup `json:"SigninDelegateGroups"`
}

type wireDelegateGroup struct {
	GroupName string `json:"GroupName"`
}

func toWireAccount(a chimeaccounts.Account) wireAccount {
	w := wireAccount{AccountID: a.AccountID, AwsAccountID: a.AwsAccountID, Name: a.Name, AccountType: a.AccountType,
		AccountStatus: a.AccountStatus, DefaultLicense: a.DefaultLicense, SupportedLicenses: a.SupportedLicenses,
		CreatedTimestamp: awsproto.Timestamp(a.CreatedAt), SigninDelegateGroups: []wireDelegateGroup{}}
	for _, g := range a.DelegateGroups {
		w.SigninDelegateGroups = append(w.SigninDelegateGroups, wireDelegateGroup{GroupName: g})
	}
	return w
}

// Operations are the slice's route table (the handlers are the methods of handlers).
func (svc *Service) Operations() []awsproto.Operation {
	h := handlers{svc}
	return []awsproto.Operation{
		{Name: "CreateAccount", Method: http.MethodPost, Path: "/accounts", Fn: h.createAccount},
		{Name: "ListAccounts", Method: http.MethodGet, Path: "/accounts", ReadOnly: true, Fn: h.listAccounts},
		{Name: "GetAccount", Method: http.MethodGet, Path: "/accounts/:accountId", ReadOnly: true, Fn: h.getAccount},
		{Name: "UpdateAccount", Method: http.MethodPost, Path: "/accounts/:accountId", Fn: h.updateAccount},
		{Name: "DeleteAccount", Method: http.MethodDelete, Path: "/accounts/:accountId", Fn: h.deleteAccount},
		{Name: "AssociateSigninDelegateGroupsWithAccount", Method: http.MethodPost, Path: "/accounts/:accountId", Query: "associate-signin-delegate-groups",
			Fn: h.associateSigninDelegateGroupsWithAccount},
		{Name: "DisassociateSigninDelegateGroupsFromAccount", Method: http.MethodPost, Path: "/accounts/:accountId", Query: "disassociate-signin-delegate-groups",
			Fn: h.disassociateSigninDelegateGroupsFromAccount},
		{Name: "GetAccountSettings", Method: http.MethodGet, Path: "/accounts/:accountId/settings", ReadOnly: true, Fn: h.getAccountSettings},
		{Name: "UpdateAccountSettings", Method: http.MethodPut, Path: "/accounts/:accountId/settings", Fn: h.updateAccountSettings},
	}
}

// handlers are the operations' handlers: the wire in and out around one use case each.
type handlers struct{ svc *Service }

func (h handlers) createAccount(k *awsproto.Call) (int, any, error) {
	var in struct{ Name *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return 0, nil, awsproto.BadRequest("Name is required")
	}
	a, err := h.svc.CreateAccount(k.Ctx, k.AWSAccount(), *in.Name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"Account": toWireAccount(a)}, nil
}

func (h handlers) listAccounts(k *awsproto.Call) (int, any, error) {
	limit, err := k.MaxResults(100, 200)
	if err != nil {
		return 0, nil, err
	}
	list, next, err := h.svc.ListAccounts(k.Ctx, k.AWSAccount(),
		chimeaccounts.ListFilter{NamePrefix: k.Query("name"), UserEmail: k.Query("user-email")}, k.Query("next-token"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wireAccount, len(list))
	for i, a := range list {
		out[i] = toWireAccount(a)
	}
	resp := map[string]any{"Accounts": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return http.StatusOK, resp, nil
}

func (h handlers) getAccount(k *awsproto.Call) (int, any, error) {
	a, err := h.svc.GetAccount(k.Ctx, k.AWSAccount(), k.Param("accountId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"Account": toWireAccount(a)}, nil
}

func (h handlers) updateAccount(k *awsproto.Call) (int, any, error) {
	var in struct {
		Name           *string
		DefaultLicense *string
	}
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	a, err := h.svc.UpdateAccount(k.Ctx, k.AWSAccount(), k.Param("accountId"), in.Name, in.DefaultLicense)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"Account": toWireAccount(a)}, nil
}

func (h handlers) deleteAccount(k *awsproto.Call) (int, any, error) {
	if err := h.svc.DeleteAccount(k.Ctx, k.AWSAccount(), k.Param("accountId")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h handlers) associateSigninDelegateGroupsWithAccount(k *awsproto.Call) (int, any, error) {
	var in struct{ SigninDelegateGroups []wireDelegateGroup }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.SigninDelegateGroups == nil {
		return 0, nil, awsproto.BadRequest("SigninDelegateGroups is required")
	}
	groups := make([]string, len(in.SigninDelegateGroups))
	for i, g := range in.SigninDelegateGroups {
		groups[i] = g.GroupName
	}
	if err := h.svc.SetDelegateGroups(k.Ctx, k.AWSAccount(), k.Param("accountId"), groups, true); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{}, nil
}

func (h handlers) disassociateSigninDelegateGroupsFromAccount(k *awsproto.Call) (int, any, error) {
	var in struct{ GroupNames []string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.GroupNames == nil {
		return 0, nil, awsproto.BadRequest("GroupNames is required")
	}
	if err := h.svc.SetDelegateGroups(k.Ctx, k.AWSAccount(), k.Param("accountId"), in.GroupNames, false); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{}, nil
}

func (h handlers) getAccountSettings(k *awsproto.Call) (int, any, error) {
	drc, edo, err := h.svc.GetAccountSettings(k.Ctx, k.AWSAccount(), k.Param("accountId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"AccountSettings": map[string]bool{"DisableRemoteControl": drc, "EnableDialOut": edo}}, nil
}

func (h handlers) updateAccountSettings(k *awsproto.Call) (int, any, error) {
	var in struct {
		AccountSettings *struct {
			DisableRemoteControl *bool
			EnableDialOut        *bool
		}
	}
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.AccountSettings == nil {
		return 0, nil, awsproto.BadRequest("AccountSettings is required")
	}
	err := h.svc.UpdateAccountSettings(k.Ctx, k.AWSAccount(), k.Param("accountId"),
		in.AccountSettings.DisableRemoteControl, in.AccountSettings.EnableDialOut)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
