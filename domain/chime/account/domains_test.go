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

// TestRemovedDomainUsersStaySuspended: guide §1.1.4, the "Remove domain" dialog — the domain's users
// "will be suspended", "lose their ability to access Amazon Chime", "After 90 days, users in this
// domain will be deleted", and "I understand that this action cannot be reversed". BatchUnsuspendUser
// must not give such a user access back (nor, so, take it out of the 90-day deletion).
func TestRemovedDomainUsersStaySuspended(t *testing.T) {
	t.Parallel()
	claim := account.DomainClaimAdded{Domain: "example.com", TXTName: "_amazonchime.example.com", TXTValue: "v", At: now}
	alice := account.UserAdded{UserID: "u1", Email: "alice@example.com", UserType: "PrivateUser", LicenseType: "Pro"}
	bob := account.UserAdded{UserID: "u2", Email: "bob@example.org", UserType: "PrivateUser", LicenseType: "Pro"}
	s := given(created, claim, alice, bob, account.DomainVerified{Domain: "example.com", At: now},
		account.AccountTypeChanged{AccountType: "EnterpriseLWA"}, account.UserSuspended{UserID: "u2"})
	removed, err := account.Decide(s, account.RemoveDomainClaim{AccountID: "a1", Domain: "example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range removed {
		s = account.Evolve(s, e)
	}
	events, items, err := account.DecideBatch(s, account.BatchUnsuspendUser{AccountID: "a1", UserIDs: []string{"u1", "u2"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []account.Event{account.UserUnsuspended{UserID: "u2", Registration: account.RegistrationUnregistered}}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events %#v, want %#v (only the user outside the removed domain)", events, want)
	}
	if len(items) != 1 || items[0].UserID != "u1" || items[0].Code != account.ItemConflict {
		t.Fatalf("item errors %#v, want one Conflict for u1", items)
	}
	// After 90 days the removed domain's user is deleted.
	purged, err := account.Decide(s, account.PurgeDomainUsers{AccountID: "a1", Domain: "example.com"}, now.Add(account.UserDeletionDelay))
	if err != nil || len(purged) == 0 || purged[0] != (account.UserRemoved{UserID: "u1"}) {
		t.Fatalf("purge: %#v %v", purged, err)
	}
}
