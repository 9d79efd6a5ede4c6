package directory_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
)

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func given(events ...directory.Event) directory.State {
	s := directory.Initial()
	for _, e := range events {
		s = directory.Evolve(s, e)
	}
	return s
}

func TestClaims(t *testing.T) {
	t.Parallel()
	alice := directory.Claim{Name: "alice@example.com", Owner: "1001"}
	held := given(directory.ClaimsMade{Claims: []directory.Claim{alice}})
	evs, failed := directory.DecideClaims(held, directory.ClaimNames{
		Claims: []directory.Claim{{Name: "alice@example.com", Owner: "1002"}, alice, {Name: "bob@example.com", Owner: "1003"}, {Name: "bob@example.com", Owner: "1004"}},
		Fields: []string{"users[0].username", "users[1].username", "users[2].username", "users[3].username"}}, now)
	if want := []directory.Event{directory.ClaimsMade{Claims: []directory.Claim{{Name: "bob@example.com", Owner: "1003"}}, At: now}}; !reflect.DeepEqual(evs, want) {
		t.Fatalf("%#v", evs)
	}
	if len(failed) != 2 || failed[0].Claim.Owner != "1002" || failed[1].Claim.Owner != "1004" || !errors.Is(failed[0].Err, directory.ErrTaken) ||
		wickr.Reasons(failed[1].Err)[0].Field != "users[3].username" {
		t.Fatalf("the name held by another and the second claim of one batch fail: %v", failed)
	}
	if evs, err := directory.Decide(held, directory.ClaimNames{Claims: []directory.Claim{alice}}, now); err != nil || evs != nil {
		t.Fatal("claiming again for the holder changes nothing", evs, err)
	}
	if _, err := directory.Decide(held, directory.ClaimNames{Claims: []directory.Claim{{Name: alice.Name, Owner: "9"}}}, now); !errors.Is(err, directory.ErrTaken) {
		t.Fatal(err)
	}
	evs, _ = directory.Decide(held, directory.ReleaseNames{Claims: []directory.Claim{alice, {Name: "bob@example.com", Owner: "1"}}}, now)
	if !reflect.DeepEqual(evs, []directory.Event{directory.Released{Claim: alice, At: now}}) {
		t.Fatalf("only the holder releases: %#v", evs)
	}
	if _, failed := directory.DecideClaims(given(directory.ClaimsMade{Claims: []directory.Claim{alice}}, directory.Released{Claim: alice}),
		directory.ClaimNames{Claims: []directory.Claim{{Name: alice.Name, Owner: "2"}}}, now); failed != nil {
		t.Fatal("a released name can be claimed again")
	}
	if !strings.HasPrefix(directory.StreamName("12345678", "alice@example.com"), "wickr.directory-12345678-") || directory.CompanyIDStream("UE1-Demo") != "wickr.companyid-ue1-demo" {
		t.Fatal("stream names")
	}
}
