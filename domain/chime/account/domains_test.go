package account_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
)

func TestDomainClaims(t *testing.T) {
	t.Parallel()
	claim := account.DomainClaimAdded{Domain: "example.com", TXTName: "_amazonchime.example.com", TXTValue: "v", At: now}
	alice := account.UserAdded{UserID: "u1", Email: "alice@example.com", UserType: "PrivateUser", LicenseType: "Pro"}
	bob := account.UserAdded{UserID: "u2", Email: "bob@other.org", UserType: "PrivateUser", LicenseType: "Pro"}
	verified := account.DomainVerified{Domain: "example.com", At: now}
	cases := []struct {
		name    string
		given   []account.Event
		when    account.Command
		want    []account.Event
		wantErr error
	}{
		{"claim", []account.Event{created}, account.AddDomainClaim{AccountID: "a1", Domain: "example.com", TXTName: "_amazonchime.example.com", TXTValue: "v"},
			[]account.Event{claim}, nil},
		{"claim again is a no-op", []account.Event{created, claim}, account.AddDomainClaim{AccountID: "a1", Domain: "example.com"}, nil, nil},
		{"verify turns Team into EnterpriseLWA", []account.Event{created, claim}, account.VerifyDomainClaim{AccountID: "a1", Domain: "example.com"},
			[]account.Event{verified, account.AccountTypeChanged{AccountType: "EnterpriseLWA"}}, nil},
		{"verify unknown", []account.Event{created}, account.VerifyDomainClaim{AccountID: "a1", Domain: "nope.com"}, nil, account.ErrNoSuchClaim},
		{"remove a pending claim", []account.Event{created, claim}, account.RemoveDomainClaim{AccountID: "a1", Domain: "example.com"},
			[]account.Event{account.DomainClaimRemoved{Domain: "example.com", At: now}}, nil},
		{"remove a verified domain suspends and signs out its users", []account.Event{created, claim, alice, bob, verified, account.AccountTypeChanged{AccountType: "EnterpriseLWA"}},
			account.RemoveDomainClaim{AccountID: "a1", Domain: "example.com"},
			[]account.Event{account.DomainClaimRemoved{Domain: "example.com", WasVerified: true, At: now, DeleteUsersAt: now.Add(account.UserDeletionDelay)},
				account.UserSuspended{UserID: "u1"}, account.UserLoggedOut{UserID: "u1", At: now}}, nil},
		{"Enterprise with a domain cannot be deleted", []account.Event{created, claim, verified, account.AccountTypeChanged{AccountType: "EnterpriseLWA"}},
			account.Delete{AccountID: "a1"}, nil, account.ErrNotEmpty},
		{"pending claim blocks deletion", []account.Event{created, claim}, account.Delete{AccountID: "a1"}, nil, account.ErrNotEmpty},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := account.Decide(given(tc.given...), tc.when, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v %v\nwant %#v", got, err, tc.want)
			}
		})
	}
}
