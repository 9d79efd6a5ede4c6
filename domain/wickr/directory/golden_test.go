package directory_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr/directory"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden), and a
// company id's claim.
var examples = []eventtest.Example[directory.Event]{
	eventtest.Ex[directory.Event](directory.ClaimsMade{Claims: []directory.Claim{{Name: "alice.jones@example.com", Owner: "1042"},
		{Name: "bob.smith@example.com", Owner: "1043"}}, At: gAt}),
	eventtest.Ex[directory.Event](directory.Released{Claim: directory.Claim{Name: "alice.jones@example.com", Owner: "1042"}, At: gAt}),
	// A company id, claimed at a generation of its network's SSO configuration.
	eventtest.Variant[directory.Event]("company_id", directory.ClaimsMade{Claims: []directory.Claim{{Name: "ue1-acme_corp", Owner: "56019692"}},
		Generation: 3, At: gAt}),
}

// TestEventTable checks the directory's event table against the package and its golden files (run
// with BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, directory.Events, examples...)
}
