package api

import (
	"context"
	"net/http"

	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ChimeUsers is what the user operations need.
type ChimeUsers interface {
	CreateUser(ctx context.Context, awsAccountID, accountID, email, username, userType string) (chimeaccounts.User, error)
	GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error)
}

type wireUser struct {
	UserID                 string `json:"UserId"`
	AccountID              string `json:"AccountId"`
	PrimaryEmail           string `json:"PrimaryEmail"`
	DisplayName            string `json:"DisplayName,omitempty"`
	LicenseType            string `json:"LicenseType"`
	UserType               string `json:"UserType"`
	UserRegistrationStatus string `json:"UserRegistrationStatus"`
}

func toWireUser(u chimeaccounts.User) wireUser {
	return wireUser{UserID: u.UserID, AccountID: u.AccountID, PrimaryEmail: u.Email, DisplayName: u.Username,
		LicenseType: u.LicenseType, UserType: u.UserType, UserRegistrationStatus: u.RegistrationStatus}
}

func userOps(svc ChimeUsers) []operation {
	return []operation{
		{Name: "CreateUser", Method: http.MethodPost, Path: "/accounts/:accountId/users", Query: "create", Fn: func(k *call) (int, any, error) {
			var in struct {
				Email, Username, UserType *string
			}
			if err := k.decode(&in); err != nil {
				return 0, nil, err
			}
			if in.Email == nil {
				return 0, nil, BadRequest("Email is required")
			}
			u, err := svc.CreateUser(k.ctx, k.caller.AWSAccount(), k.param("accountId"), *in.Email, deref(in.Username), deref(in.UserType))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, map[string]any{"User": toWireUser(u)}, nil
		}},
		{Name: "GetUser", Method: http.MethodGet, Path: "/accounts/:accountId/users/:userId", ReadOnly: true, Fn: func(k *call) (int, any, error) {
			u, err := svc.GetUser(k.ctx, k.caller.AWSAccount(), k.param("accountId"), k.param("userId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"User": toWireUser(u)}, nil
		}},
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
