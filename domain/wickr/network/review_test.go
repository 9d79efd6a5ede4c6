package network_test

import (
	"testing"

	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// TestTrialOnlyFromStandard: the Premium free trial is for new and Standard networks (guide §7.1,
// "applies to new and Standard plans"; §7.3 STANDARD or NEW → PREMIUM_TRIAL): a paying Premium
// network cannot move to the free trial.
func TestTrialOnlyFromStandard(t *testing.T) {
	run(t, []tcase{
		{"Premium to the trial", given(created, premium), network.ChangePlan{NetworkID: id, Trial: true}, nil, network.ErrTrial, ""},
		{"Premium, back to Standard, then the trial", given(created, premium, network.PlanChanged{AccessLevel: network.Standard, At: now}),
			network.ChangePlan{NetworkID: id, Trial: true}, []network.Event{onTrial}, nil, ""},
	})
}

// TestCreateGroupRetry: a CreateSecurityGroup retried with its X-Client-Token (the group's id derives
// from it) changes nothing and is no refusal; the same token on another request (another name or
// other settings) is refused, not answered with the first request's group; and the id of a deleted
// group is never given to a new group (its users may still be moving to the default group).
func TestCreateGroupRetry(t *testing.T) {
	retry := func(name string, p sg.Patch) network.CreateGroup {
		return network.CreateGroup{NetworkID: id, GroupID: "g1", Name: name, Settings: p, Retry: true}
	}
	noMaps := sg.Patch{LocationAllowMaps: ptr(false)}
	withoutMaps := otherG
	withoutMaps.Settings.LocationAllowMaps = false
	deleted := network.GroupDeleted{GroupID: "g1", MovedTo: "g0", At: now}
	run(t, []tcase{
		{"the same request again", given(created, defaultG, otherG), retry("Field", sg.Patch{}), nil, nil, ""},
		{"the same settings again", given(created, defaultG, withoutMaps), retry("Field", noMaps), nil, nil, ""},
		{"another name under the token", given(created, defaultG, otherG), retry("Other", sg.Patch{}), nil, network.ErrGroupToken, ""},
		{"other settings under the token", given(created, defaultG, otherG), retry("Field", noMaps), nil, network.ErrGroupToken, ""},
		{"the id of a deleted group", given(created, defaultG, otherG, deleted), retry("Field", sg.Patch{}), nil, network.ErrGroupToken, ""},
		{"a deleted group's id without a token", given(created, defaultG, otherG, deleted),
			network.CreateGroup{NetworkID: id, GroupID: "g1", Name: "Field"}, nil, network.ErrGroupToken, ""},
	})
}
