package numbers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/numbers"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// caughtUp is a read model that has applied everything.
type caughtUp struct{}

func (caughtUp) WaitFor(context.Context, uint64) error { return nil }

// anyNumber is a numbers read model that holds every number asked for.
type anyNumber struct{}

func (anyNumber) Get(_ context.Context, aws, e164 string, _ time.Time) (chimenumbers.Number, error) {
	return chimenumbers.Number{E164: e164, AwsAccountID: aws}, nil
}
func (anyNumber) List(context.Context, string, chimenumbers.Filter, string, int, time.Time) ([]chimenumbers.Number, string, error) {
	return nil, "", nil
}
func (anyNumber) Held(context.Context, []string, time.Time) (map[string]bool, error) { return nil, nil }
func (anyNumber) GetOrder(context.Context, string, string) (chimenumbers.Order, error) {
	return chimenumbers.Order{}, errors.New("no orders in this test")
}
func (anyNumber) ListOrders(context.Context, string, string, int) ([]chimenumbers.Order, string, error) {
	return nil, "", nil
}

// TestAssociateUndoesOnlyItsOwnAssignment: AssociatePhoneNumberWithUser records the user's number on
// the account, then on the number; when the number refuses (here: it went to the deletion queue
// meanwhile), the call undoes the account's step. Between the two steps, the user's number was
// disassociated and another call gave the user a second number: the undo must take away the number
// this call assigned — which the user no longer has — never the second one, which the number's
// stream holds for the user.
func TestAssociateUndoesOnlyItsOwnAssignment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const aws, first, second = "123456789012", "+12065550100", "+12065550101"
	acct, user := uuid.NewString(), uuid.NewString()
	accounts := memrepo.NewLog(account.Initial, account.Evolve, account.Decide)
	accounts.Append(account.StreamName(acct), account.Created{AccountID: acct, AwsAccountID: aws, Name: "Acme", AccountType: account.TypeTeam},
		account.UserAdded{UserID: user, Email: "alice@example.com", UserType: "PrivateUser", LicenseType: "Pro"})
	nums := memrepo.NewLog(phonenumber.Initial, phonenumber.Evolve, phonenumber.Decide)
	for _, n := range []string{first, second} {
		nums.Append(phonenumber.StreamName(n), phonenumber.Acquired{AwsAccountID: aws, OrderID: "o1", ProductType: phonenumber.ProductBusinessCall,
			Type: phonenumber.TypeLocal, Country: "US", At: time.Now()})
	}
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	svc := numbers.New(numbers.Deps{Numbers: nums, NumbersRM: caughtUp{}, Accounts: usecase.Accounts{Repo: accounts, RM: caughtUp{}, RYW: ryw},
		Store: anyNumber{}, RYW: ryw})

	// The concurrent calls run once the account recorded the first number, before the number does.
	var once sync.Once
	nums.BeforeCommand(func(_ string, cmd phonenumber.Command) {
		if a, ok := cmd.(phonenumber.Associate); !ok || a.E164 != first {
			return
		}
		once.Do(func() {
			if err := svc.DisassociatePhoneNumberFromUser(ctx, aws, acct, user); err != nil {
				t.Errorf("disassociate: %v", err)
			}
			if err := svc.DeletePhoneNumber(ctx, aws, first); err != nil {
				t.Errorf("delete the first number: %v", err)
			}
			if err := svc.AssociatePhoneNumberWithUser(ctx, aws, acct, user, second); err != nil {
				t.Errorf("associate the second number: %v", err)
			}
		})
	})
	if err := svc.AssociatePhoneNumberWithUser(ctx, aws, acct, user, first); !errors.Is(err, phonenumber.ErrWrongState) {
		t.Fatalf("associating a number that went to the deletion queue: %v", err)
	}
	st, _, _ := accounts.Load(ctx, account.StreamName(acct))
	u, _ := st.Members.Get(user)
	n, _, _ := nums.Load(ctx, phonenumber.StreamName(second))
	if n.Status != phonenumber.StatusAssigned || n.UserID != user {
		t.Fatalf("the second number is %s for %q", n.Status, n.UserID)
	}
	if u.PrimaryNumber != second {
		t.Fatalf("the account says the user's number is %q, the number's stream says %s: the undo took away another call's assignment",
			u.PrimaryNumber, second)
	}
}
