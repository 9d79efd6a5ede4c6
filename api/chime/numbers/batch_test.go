package numbers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/phonenumber"
)

// caller is an administrator of fixtureAWS.
type caller struct{}

func (caller) AWSAccount() string  { return fixtureAWS }
func (caller) ARN() string         { return "arn:aws:iam::" + fixtureAWS + ":root" }
func (caller) ID() string          { return fixtureAWS }
func (caller) UserName() string    { return "root" }
func (caller) Allowed(string) bool { return true }

func operation(t *testing.T, ops []awsproto.Operation, name string) awsproto.OpFunc {
	t.Helper()
	for _, op := range ops {
		if op.Name == name {
			return op.Fn
		}
	}
	t.Fatalf("no operation %s", name)
	return nil
}

// TestBatchUpdateRefusedAsAWholeAppliesNothing: a raw caller sends BatchUpdatePhoneNumber with a
// valid item followed by one without its required PhoneNumberId. The request is refused (400); a
// refused request must not have updated the numbers of the items before the bad one.
func TestBatchUpdateRefusedAsAWholeAppliesNothing(t *testing.T) {
	t.Parallel()
	const num = "+12065550100"
	f := newFixture(nil, num)
	fn := operation(t, f.svc.Operations(), "BatchUpdatePhoneNumber")
	body := `{"UpdatePhoneNumberRequestItems":[{"PhoneNumberId":"` + num + `","CallingName":"Acme"},{"CallingName":"Other"}]}`
	status, _, err := fn(&awsproto.Call{Ctx: context.Background(), Caller: caller{}, Body: []byte(body)})
	if err == nil || awsproto.ToWire(err).Status != http.StatusBadRequest {
		t.Fatalf("a batch with an item without PhoneNumberId: %d, %v; want 400", status, err)
	}
	if n, _, _ := f.nums.Load(context.Background(), phonenumber.StreamName(num)); n.CallingName != "" {
		t.Fatalf("the refused batch set the calling name of %s to %q", num, n.CallingName)
	}
}
