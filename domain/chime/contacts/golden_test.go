package contacts_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/contacts"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var at = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[contacts.Event]{
	eventtest.Ex[contacts.Event](contacts.ContactAdded{OwnerID: "1ab2c3d4-0000-4000-8000-00000000a001",
		ContactID: "5ef6a7b8-0000-4000-8000-00000000b002", ContactAccountID: "9c0d1e2f-0000-4000-8000-00000000c003", At: at}),
	eventtest.Ex[contacts.Event](contacts.ContactRemoved{OwnerID: "1ab2c3d4-0000-4000-8000-00000000a001",
		ContactID: "5ef6a7b8-0000-4000-8000-00000000b002", At: at.Add(time.Hour)}),
	eventtest.Ex[contacts.Event](contacts.DelegateSet{OwnerID: "1ab2c3d4-0000-4000-8000-00000000a001",
		ContactID: "5ef6a7b8-0000-4000-8000-00000000b002", On: true, At: at.Add(30 * time.Minute)}),
}

// TestEventTable checks the event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, contacts.Events, examples...)
}
