package network_test

import (
	"testing"

	"github.com/belfry/belfry/domain/wickr/network"
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
