package account_test

import (
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
)

// TestUnassignNumberOfANamedNumber: the undo of an association (AssociatePhoneNumberWithUser, when
// the number refuses after the account recorded it) names the number it assigned, and takes away
// that number only: a number another call gave the user since is the user's to keep.
func TestUnassignNumberOfANamedNumber(t *testing.T) {
	t.Parallel()
	u1 := account.UserAdded{UserID: "u1", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: now}
	mine := account.UserNumberAssigned{UserID: "u1", E164: "+12065550100"}
	cases := []struct {
		name  string
		given []account.Event
		when  account.UnassignNumber
		want  []account.Event
	}{
		{name: "the number named is the user's: it goes", given: []account.Event{created, u1, mine},
			when: account.UnassignNumber{AccountID: "a1", UserID: "u1", E164: "+12065550100"},
			want: []account.Event{account.UserNumberUnassigned{UserID: "u1", E164: "+12065550100"}}},
		{name: "the user has another number since: it stays", given: []account.Event{created, u1, mine,
			account.UserNumberUnassigned{UserID: "u1", E164: "+12065550100"}, account.UserNumberAssigned{UserID: "u1", E164: "+12065550199"}},
			when: account.UnassignNumber{AccountID: "a1", UserID: "u1", E164: "+12065550100"}},
		{name: "the user has no number: nothing to do", given: []account.Event{created, u1},
			when: account.UnassignNumber{AccountID: "a1", UserID: "u1", E164: "+12065550100"}},
		{name: "without a number named, whichever the user has goes", given: []account.Event{created, u1, account.UserNumberAssigned{UserID: "u1", E164: "+12065550199"}},
			when: account.UnassignNumber{AccountID: "a1", UserID: "u1"},
			want: []account.Event{account.UserNumberUnassigned{UserID: "u1", E164: "+12065550199"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := account.Decide(given(tc.given...), tc.when, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// TestUsersLeavingWithTheAccountGiveTheirNumbersBack: deleting an account (an Enterprise account
// keeps its users once its domains are removed) and the 90-day deletion of a removed domain's users
// took the users away with their primary numbers still assigned to them: the numbers stayed Assigned
// to users who no longer existed, and could be neither disassociated nor deleted. Both unassign the
// numbers first, as a Team account's removal of a user does.
func TestUsersLeavingWithTheAccountGiveTheirNumbersBack(t *testing.T) {
	t.Parallel()
	claim := account.DomainClaimAdded{Domain: "example.com", At: now}
	verified := account.DomainVerified{Domain: "example.com", At: now}
	lwa := account.AccountTypeChanged{AccountType: account.TypeEnterpriseLWA}
	alice := account.UserAdded{UserID: "u1", Email: "alice@example.com", UserType: "PrivateUser", LicenseType: "Pro", CreatedAt: now}
	bob := account.UserAdded{UserID: "u2", Email: "bob@other.org", UserType: "PrivateUser", LicenseType: "Pro", CreatedAt: now}
	removed := account.DomainClaimRemoved{Domain: "example.com", WasVerified: true, At: now, DeleteUsersAt: now.Add(account.UserDeletionDelay)}
	base := []account.Event{created, claim, alice, bob, verified, lwa, removed, account.UserSuspended{UserID: "u1"},
		account.UserNumberAssigned{UserID: "u1", E164: "+12065550100"}, account.UserNumberAssigned{UserID: "u2", E164: "+12065550101"}}

	got, err := account.Decide(given(base...), account.Delete{AccountID: "a1"}, now)
	want := []account.Event{account.UserNumberUnassigned{UserID: "u1", E164: "+12065550100"},
		account.UserNumberUnassigned{UserID: "u2", E164: "+12065550101"}, account.Deleted{DeletedAt: now}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("delete:\n got %#v %v\nwant %#v", got, err, want)
	}

	later := now.Add(account.UserDeletionDelay)
	got, err = account.Decide(given(base...), account.PurgeDomainUsers{AccountID: "a1", Domain: "example.com"}, later)
	want = []account.Event{account.UserNumberUnassigned{UserID: "u1", E164: "+12065550100"}, account.UserRemoved{UserID: "u1"},
		account.DomainUsersPurged{Domain: "example.com", At: later}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("purge:\n got %#v %v\nwant %#v", got, err, want)
	}
}
