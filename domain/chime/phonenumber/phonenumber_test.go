package phonenumber_test

import (
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/settings"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

const num = "+12065550100"

func state(events ...phonenumber.Event) phonenumber.State {
	s := phonenumber.Initial()
	for _, e := range events {
		s = phonenumber.Evolve(s, e)
	}
	return s
}

func TestNumberLifecycle(t *testing.T) {
	t.Parallel()
	acq := phonenumber.Acquired{AwsAccountID: "111", OrderID: "o1", ProductType: "BusinessCalling", Type: "Local", Country: "US", At: now}
	del := phonenumber.Deleted{At: now.Add(-time.Hour)}
	oldDel := phonenumber.Deleted{At: now.Add(-8 * 24 * time.Hour)}
	assoc := phonenumber.Associated{AccountID: "a", UserID: "u", At: now}
	cases := []struct {
		name    string
		given   []phonenumber.Event
		when    phonenumber.Command
		wantErr error
		wantN   int
	}{
		{"acquire from the pool", nil, phonenumber.Acquire{E164: num, AwsAccountID: "111", OrderID: "o1", ProductType: "BusinessCalling"}, nil, 1},
		{"acquire a number not in the pool", nil, phonenumber.Acquire{E164: "+19995550100", AwsAccountID: "111"}, phonenumber.ErrNotAvailable, 0},
		{"acquire a held number", []phonenumber.Event{acq}, phonenumber.Acquire{E164: num, AwsAccountID: "222", OrderID: "o2"}, phonenumber.ErrNotAvailable, 0},
		{"same order again", []phonenumber.Event{acq}, phonenumber.Acquire{E164: num, AwsAccountID: "111", OrderID: "o1"}, nil, 0},
		{"released after 7 days", []phonenumber.Event{acq, oldDel}, phonenumber.Acquire{E164: num, AwsAccountID: "222", OrderID: "o2"}, nil, 1},
		{"still queued after 1 hour", []phonenumber.Event{acq, del}, phonenumber.Acquire{E164: num, AwsAccountID: "222", OrderID: "o2"}, phonenumber.ErrNotAvailable, 0},
		{"another tenant cannot touch it", []phonenumber.Event{acq}, phonenumber.Delete{E164: num, AwsAccountID: "222"}, phonenumber.ErrNotFound, 0},
		{"delete an assigned number", []phonenumber.Event{acq, assoc}, phonenumber.Delete{E164: num, AwsAccountID: "111"}, phonenumber.ErrAssigned, 0},
		{"restore from the queue", []phonenumber.Event{acq, del}, phonenumber.Restore{E164: num, AwsAccountID: "111"}, nil, 1},
		{"restore after release", []phonenumber.Event{acq, oldDel}, phonenumber.Restore{E164: num, AwsAccountID: "111"}, phonenumber.ErrNotFound, 0},
		{"assign a deleted number", []phonenumber.Event{acq, del}, phonenumber.Associate{E164: num, AwsAccountID: "111", AccountID: "a", UserID: "u"}, phonenumber.ErrWrongState, 0},
		{"disassociate its user", []phonenumber.Event{acq, assoc}, phonenumber.Disassociate{E164: num, AwsAccountID: "111", UserID: "u"}, nil, 1},
		{"disassociate whichever user", []phonenumber.Event{acq, assoc}, phonenumber.Disassociate{E164: num, AwsAccountID: "111"}, nil, 1},
		{"disassociate another user: the assignment stays", []phonenumber.Event{acq, assoc}, phonenumber.Disassociate{E164: num, AwsAccountID: "111", UserID: "v"}, nil, 0},
		{"calling name of 16", []phonenumber.Event{acq}, phonenumber.Update{E164: num, AwsAccountID: "111", CallingName: ptr("abcdefghijklmnop")}, settings.ErrInvalidCallingName, 0},
		{"calling name twice within 7 days", []phonenumber.Event{acq, phonenumber.Updated{ProductType: "BusinessCalling", CallingName: "A", CallingNameAt: now.Add(-time.Hour)}},
			phonenumber.Update{E164: num, AwsAccountID: "111", CallingName: ptr("B")}, settings.ErrTooSoon, 0},
		{"clear the calling name", []phonenumber.Event{acq, phonenumber.Updated{ProductType: "BusinessCalling", CallingName: "A", CallingNameAt: now.Add(-8 * 24 * time.Hour)}},
			phonenumber.Update{E164: num, AwsAccountID: "111", CallingName: ptr("")}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := phonenumber.Decide(state(tc.given...), tc.when, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || len(got) != tc.wantN {
				t.Fatalf("got %#v %v", got, err)
			}
		})
	}
}

func TestOrderCompletes(t *testing.T) {
	t.Parallel()
	o := phonenumber.InitialOrder()
	evs, err := phonenumber.DecideOrder(o, phonenumber.CreateOrder{OrderID: "o", AwsAccountID: "1", ProductType: "BusinessCalling", Numbers: []string{num, "+12065550101"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o = phonenumber.EvolveOrder(o, e)
	}
	for _, r := range []phonenumber.RecordResult{{E164: num, Acquired: true}, {E164: "+12065550101", Acquired: false, Reason: "taken"}} {
		evs, _ := phonenumber.DecideOrder(o, r, now)
		for _, e := range evs {
			o = phonenumber.EvolveOrder(o, e)
		}
	}
	if o.Status != phonenumber.OrderPartial {
		t.Fatalf("status %s", o.Status)
	}
	if _, err := phonenumber.DecideOrder(phonenumber.InitialOrder(), phonenumber.CreateOrder{ProductType: "BusinessCalling", Numbers: make([]string, 501)}, now); !errors.Is(err, phonenumber.ErrOrderTooLarge) {
		t.Fatalf("501 numbers: %v", err)
	}
	if _, err := phonenumber.DecideOrder(phonenumber.InitialOrder(), phonenumber.CreateOrder{ProductType: "BusinessCalling", Numbers: []string{"555-0100"}}, now); !errors.Is(err, phonenumber.ErrInvalidNumber) {
		t.Fatalf("bad number: %v", err)
	}
}

func TestSearchPool(t *testing.T) {
	t.Parallel()
	n := 0
	for _, a := range phonenumber.Pool() {
		if (phonenumber.Query{AreaCode: "206"}).Match(a) {
			n++
		}
	}
	if n != 200 {
		t.Fatalf("206 has %d numbers", n)
	}
	if !(phonenumber.Query{TollFreePrefix: "800", Type: "TollFree"}).Match(phonenumber.Available{TollFreePrefix: "800", Type: "TollFree"}) {
		t.Fatal("toll-free match")
	}
}

// TestAssignedNumberKeepsItsProductType: only a BusinessCalling number is assigned to a user
// (Associate refuses any other), so UpdatePhoneNumber must not turn an assigned number into a
// VoiceConnector or SIP media application one behind its user's back; renaming it, or setting the
// product type it already has, is fine.
func TestAssignedNumberKeepsItsProductType(t *testing.T) {
	t.Parallel()
	acq := phonenumber.Acquired{AwsAccountID: "111", OrderID: "o1", ProductType: "BusinessCalling", Type: "Local", Country: "US", At: now}
	assigned := state(acq, phonenumber.Associated{AccountID: "a", UserID: "u", At: now})
	for _, p := range []string{phonenumber.ProductVoiceConn, phonenumber.ProductSipMediaApp} {
		evs, err := phonenumber.Decide(assigned, phonenumber.Update{E164: num, AwsAccountID: "111", ProductType: ptr(p)}, now)
		if !errors.Is(err, phonenumber.ErrAssigned) {
			t.Fatalf("an assigned number made %s: %v %v; want ErrAssigned", p, evs, err)
		}
	}
	if evs, err := phonenumber.Decide(assigned, phonenumber.Update{E164: num, AwsAccountID: "111", ProductType: ptr(phonenumber.ProductBusinessCall),
		CallingName: ptr("Front desk")}, now); err != nil || len(evs) != 1 {
		t.Fatalf("renaming an assigned number: %v %v", evs, err)
	}
}
