package account_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr/account"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden), and the
// removal of a network that gives the account's trial back.
var examples = []eventtest.Example[account.Event]{
	eventtest.Ex[account.Event](account.NetworkRegistered{NetworkID: "56019692", Trial: true, At: gAt}),
	eventtest.Ex[account.Event](account.TrialGranted{NetworkID: "56019692", At: gAt}),
	eventtest.Ex[account.Event](account.NetworkRemoved{NetworkID: "56019692", OnTrial: true, At: gAt}),
	// A network deleted before the plan change its grant was for (the grant goes back to the account).
	eventtest.Variant[account.Event]("trial_returned", account.NetworkRemoved{NetworkID: "56019692", TrialReturned: true, At: gAt}),
}

// TestEventTable checks the account's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, account.Events, examples...)
}
