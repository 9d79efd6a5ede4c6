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
