package account_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/account"
)

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func given(events ...account.Event) account.State {
	s := account.Initial()
	for _, e := range events {
		s = account.Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	one := account.NetworkRegistered{NetworkID: "11111111", At: now}
	trial := account.NetworkRegistered{NetworkID: "22222222", Trial: true, At: now}
	trial2nd := account.NetworkRegistered{NetworkID: "33333333", At: now}
	cases := []struct {
		name    string
		state   account.State
		when    account.Command
		want    []account.Event
		wantErr error
	}{
		{"register", given(), account.RegisterNetwork{NetworkID: "11111111"}, []account.Event{one}, nil},
		{"several networks per account", given(one), account.RegisterNetwork{NetworkID: "22222222", Trial: true}, []account.Event{trial}, nil},
		{"the same registration again", given(one), account.RegisterNetwork{NetworkID: "11111111"}, nil, nil},
		{"one trial per account", given(trial), account.RegisterNetwork{NetworkID: "33333333", Trial: true}, nil, account.ErrTrialUsed},
		{"not handed on", given(one, trial, account.NetworkRemoved{NetworkID: "22222222"}), account.GrantTrial{NetworkID: "11111111"}, nil, account.ErrTrialUsed},
		{"grant to a Standard network", given(one), account.GrantTrial{NetworkID: "11111111"}, []account.Event{account.TrialGranted{NetworkID: "11111111", At: now}}, nil},
		{"grant to an unknown network", given(), account.GrantTrial{NetworkID: "11111111"}, nil, account.ErrUnknown},
		{"remove", given(one), account.RemoveNetwork{NetworkID: "11111111"}, []account.Event{account.NetworkRemoved{NetworkID: "11111111", At: now}}, nil},
		{"deleting a trial network ends network creation", given(trial, account.NetworkRemoved{NetworkID: "22222222", OnTrial: true}), account.RegisterNetwork{NetworkID: "33333333"}, nil, account.ErrBlocked},
		{"a standard network deleted does not", given(one, account.NetworkRemoved{NetworkID: "11111111"}), account.RegisterNetwork{NetworkID: "33333333"},
			[]account.Event{account.NetworkRegistered{NetworkID: "33333333", At: now}}, nil},
		// A grant whose plan change a concurrent deletion refused: the network never was on the trial.
		{"a grant never used is given back with its network", given(one, account.TrialGranted{NetworkID: "11111111"}),
			account.RemoveNetwork{NetworkID: "11111111", NeverTrialled: true},
			[]account.Event{account.NetworkRemoved{NetworkID: "11111111", TrialReturned: true, At: now}}, nil},
		{"the trial given back goes to another network", given(one, trial2nd, account.TrialGranted{NetworkID: "11111111"},
			account.NetworkRemoved{NetworkID: "11111111", TrialReturned: true}), account.GrantTrial{NetworkID: "33333333"},
			[]account.Event{account.TrialGranted{NetworkID: "33333333", At: now}}, nil},
		{"a network that had the trial and left it keeps it used", given(one, account.TrialGranted{NetworkID: "11111111"}),
			account.RemoveNetwork{NetworkID: "11111111"}, []account.Event{account.NetworkRemoved{NetworkID: "11111111", At: now}}, nil},
		{"a network never on the trial gives back nothing it was not granted", given(one, trial, account.NetworkRegistered{NetworkID: "33333333"}),
			account.RemoveNetwork{NetworkID: "33333333", NeverTrialled: true}, []account.Event{account.NetworkRemoved{NetworkID: "33333333", At: now}}, nil},
		{"stored removals return nothing", given(one, account.TrialGranted{NetworkID: "11111111"}, account.NetworkRemoved{NetworkID: "11111111"},
			account.NetworkRegistered{NetworkID: "33333333"}), account.GrantTrial{NetworkID: "33333333"}, nil, account.ErrTrialUsed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := account.Decide(tc.state, tc.when, now)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
		})
	}
}
