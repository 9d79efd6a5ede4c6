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

// fixtureAWS is the AWS account of newFixture's numbers and Chime account.
const fixtureAWS = "123456789012"

// fixture is a Team account with users and Business Calling numbers in memory, and the numbers slice
// over them.
type fixture struct {
	svc      *numbers.Service
	accounts *memrepo.Repo[account.State, account.Command, account.Event]
	nums     *memrepo.Repo[phonenumber.State, phonenumber.Command, phonenumber.Event]
	acct     string
	users    []string // the ids of the users of emails, in order
}

// newFixture makes an account with a Pro user per address of emails and acquires e164s.
func newFixture(emails []string, e164s ...string) fixture {
	f := fixture{acct: uuid.NewString()}
	evs := []account.Event{account.Created{AccountID: f.acct, AwsAccountID: fixtureAWS, Name: "Acme", AccountType: account.TypeTeam}}
	for _, email := range emails {
		id := uuid.NewString()
		f.users = append(f.users, id)
		evs = append(evs, account.UserAdded{UserID: id, Email: email, UserType: "PrivateUser", LicenseType: "Pro"})
	}
	f.accounts = memrepo.NewLog(account.Initial, account.Evolve, account.Decide)
	f.accounts.Append(account.StreamName(f.acct), evs...)
	f.nums = memrepo.NewLog(phonenumber.Initial, phonenumber.Evolve, phonenumber.Decide)
	for _, n := range e164s {
		f.nums.Append(phonenumber.StreamName(n), phonenumber.Acquired{AwsAccountID: fixtureAWS, OrderID: "o1", ProductType: phonenumber.ProductBusinessCall,
			Type: phonenumber.TypeLocal, Country: "US", At: time.Now()})
	}
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	f.svc = numbers.New(numbers.Deps{Numbers: f.nums, NumbersRM: caughtUp{}, Accounts: usecase.Accounts{Repo: f.accounts, RM: caughtUp{}, RYW: ryw},
		Store: anyNumber{}, RYW: ryw})
	return f
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
	const first, second = "+12065550100", "+12065550101"
	f := newFixture([]string{"alice@example.com"}, first, second)
	svc, accounts, nums, acct, user := f.svc, f.accounts, f.nums, f.acct, f.users[0]

	// The concurrent calls run once the account recorded the first number, before the number does.
	var once sync.Once
	nums.BeforeCommand(func(_ string, cmd phonenumber.Command) {
		if a, ok := cmd.(phonenumber.Associate); !ok || a.E164 != first {
			return
		}
		once.Do(func() {
			if err := svc.DisassociatePhoneNumberFromUser(ctx, fixtureAWS, acct, user); err != nil {
				t.Errorf("disassociate: %v", err)
			}
			if err := svc.DeletePhoneNumber(ctx, fixtureAWS, first); err != nil {
				t.Errorf("delete the first number: %v", err)
			}
			if err := svc.AssociatePhoneNumberWithUser(ctx, fixtureAWS, acct, user, second); err != nil {
				t.Errorf("associate the second number: %v", err)
			}
		})
	})
	if err := svc.AssociatePhoneNumberWithUser(ctx, fixtureAWS, acct, user, first); !errors.Is(err, phonenumber.ErrWrongState) {
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
