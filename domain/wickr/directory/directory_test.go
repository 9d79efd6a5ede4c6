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

// TestCompanyIDGenerations: a company id is claimed at the generation of its network's SSO
// configuration; the network claims it again at a newer generation (a registration that read the
// network later), and a release for a network that left the id at generation G leaves a claim of
// generation G or later.
func TestCompanyIDGenerations(t *testing.T) {
	t.Parallel()
	acme := directory.Claim{Name: "acme_x", Owner: "11111111"}
	claim := func(gen int) directory.ClaimNames {
		return directory.ClaimNames{Claims: []directory.Claim{acme}, Fields: []string{"companyId"}, Generation: gen}
	}
	atOne := given(directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 1, At: now})
	cases := []struct {
		name  string
		state directory.State
		when  directory.Command
		want  []directory.Event
	}{
		{"a first claim records its generation", given(), claim(1), []directory.Event{directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 1, At: now}}},
		{"claimed again at the same generation: nothing", atOne, claim(1), nil},
		{"claimed again at an older generation: nothing", given(directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 3}), claim(2), nil},
		{"claimed again at a newer generation: recorded", atOne, claim(2), []directory.Event{directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 2, At: now}}},
		{"released when the network left it at a later generation", atOne, directory.ReleaseNames{Claims: []directory.Claim{acme}, Before: 2},
			[]directory.Event{directory.Released{Claim: acme, At: now}}},
		{"left when claimed at the generation the network left it", given(directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 2}),
			directory.ReleaseNames{Claims: []directory.Claim{acme}, Before: 2}, nil},
		{"a claim stored without a generation is older than any", given(directory.ClaimsMade{Claims: []directory.Claim{acme}}),
			directory.ReleaseNames{Claims: []directory.Claim{acme}, Before: 1}, []directory.Event{directory.Released{Claim: acme, At: now}}},
		{"a release without Before takes any generation", given(directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 7}),
			directory.ReleaseNames{Claims: []directory.Claim{acme}}, []directory.Event{directory.Released{Claim: acme, At: now}}},
		{"a generation is forgotten with its claim", given(directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 5}, directory.Released{Claim: acme}),
			claim(1), []directory.Event{directory.ClaimsMade{Claims: []directory.Claim{acme}, Generation: 1, At: now}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := directory.Decide(tc.state, tc.when, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
	if _, err := directory.Decide(atOne, directory.ClaimNames{Claims: []directory.Claim{{Name: "acme_x", Owner: "22222222"}}, Generation: 9}, now); !errors.Is(err, directory.ErrTaken) {
		t.Fatal("another network's claim is refused whatever its generation:", err)
	}
}
