package numbers_test

import (
	"context"
	"sync"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/phonenumber"
)

// TestReleaseLeavesAnotherUsersNumber: two calls associate one number with two users at once; the
// account records it for both, the number's stream for the first only, and the second call's own
// number step (refused) has not run yet when an administrator disassociates the second user. The
// account takes the number from the second user; releasing it on the number's stream must not end
// the first user's assignment, which the number's stream holds.
func TestReleaseLeavesAnotherUsersNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const aws, num = fixtureAWS, "+12065550100"
	f := newFixture([]string{"alice@example.com", "bob@example.com"}, num)
	svc, accounts, nums, acct, alice, bob := f.svc, f.accounts, f.nums, f.acct, f.users[0], f.users[1]

	// Once the account recorded the number for bob, before the number's stream does: alice's call
	// runs through, then the administrator disassociates bob.
	var once sync.Once
	nums.BeforeCommand(func(_ string, cmd phonenumber.Command) {
		if a, ok := cmd.(phonenumber.Associate); !ok || a.UserID != bob {
			return
		}
		once.Do(func() {
			if err := svc.AssociatePhoneNumberWithUser(ctx, aws, acct, alice, num); err != nil {
				t.Errorf("associate with alice: %v", err)
			}
			if err := svc.DisassociatePhoneNumberFromUser(ctx, aws, acct, bob); err != nil {
				t.Errorf("disassociate bob: %v", err)
			}
			if n, _, _ := nums.Load(ctx, phonenumber.StreamName(num)); n.Status != phonenumber.StatusAssigned || n.UserID != alice {
				t.Errorf("after bob's disassociation the number is %s for %q, want assigned to alice", n.Status, n.UserID)
			}
		})
	})
	_ = svc.AssociatePhoneNumberWithUser(ctx, aws, acct, bob, num) // refused or not, the number must stay alice's
	st, _, _ := accounts.Load(ctx, account.StreamName(acct))
	a, _ := st.Members.Get(alice)
	b, _ := st.Members.Get(bob)
	n, _, _ := nums.Load(ctx, phonenumber.StreamName(num))
	if n.Status != phonenumber.StatusAssigned || n.UserID != alice || a.PrimaryNumber != num || b.PrimaryNumber != "" {
		t.Fatalf("the number's stream says %s for %q; the account says alice has %q, bob %q: want alice's on both",
			n.Status, n.UserID, a.PrimaryNumber, b.PrimaryNumber)
	}
}
