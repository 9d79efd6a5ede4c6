package domainclaim_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/domainclaim"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[domainclaim.Event]{
	eventtest.Ex[domainclaim.Event](domainclaim.Claimed{AccountID: "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93",
		TXTValue: domainclaim.TXTValuePrefix + "6b2f0e9c4d1a47538e2c", At: gAt}),
	eventtest.Ex[domainclaim.Event](domainclaim.Verified{At: gAt}),
	eventtest.Ex[domainclaim.Event](domainclaim.Removed{At: gAt}),
}

// TestEventTable checks the domain claim's event table against the package and its golden files (run
// with BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, domainclaim.Events, examples...)
}
