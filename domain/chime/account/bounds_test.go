package account_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
)

// TestUnboundedMembersAreRefused: a member without a bound let one request's event exceed the event
// store's append limit (the call failed with a 500); an Alexa room ARN and the sign-in delegate
// groups of an account are bounded.
func TestUnboundedMembersAreRefused(t *testing.T) {
	t.Parallel()
	lwa := created
	lwa.AccountType = account.TypeEnterpriseLWA
	u1 := account.UserAdded{UserID: "u1", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: now}
	arn := "arn:aws:a4b:us-east-1:111122223333:room/" + strings.Repeat("<", account.MaxAlexaRoomARN)
	_, err := account.Decide(given(created, u1), account.UpdateUser{AccountID: "a1", UserChange: account.UserChange{UserID: "u1",
		Alexa: &account.AlexaMetadata{Enabled: true, RoomARN: arn}}}, now)
	if !errors.Is(err, account.ErrInvalidUser) {
		t.Fatalf("a %d-byte room ARN: %v", len(arn), err)
	}
	groups := func(from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf("group-%d", i))
		}
		return out
	}
	st := given(lwa, account.DelegateGroupsAssociated{Groups: groups(0, account.MaxDelegateGroups-1)})
	if evs, err := account.Decide(st, account.AssociateDelegateGroups{AccountID: "a1", Groups: groups(0, account.MaxDelegateGroups)}, now); err != nil || len(evs) != 1 {
		t.Fatalf("the last group the account may have: %v %v", evs, err)
	}
	if _, err := account.Decide(st, account.AssociateDelegateGroups{AccountID: "a1", Groups: groups(0, account.MaxDelegateGroups+1)}, now); !errors.Is(err, account.ErrInvalidUser) {
		t.Fatalf("one group too many: %v", err)
	}
}
