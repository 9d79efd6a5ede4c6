package guest_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/guest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

var gHash = wickr.UsernameHash("dana.guest@example.org")

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[guest.Event]{
	eventtest.Ex[guest.Event](guest.Registered{Username: "dana.guest@example.org", UsernameHash: gHash,
		Password: domain.Sealed{KeyID: domain.SubjectKeyID(wickr.GuestTenant, wickr.GuestSubject(gHash)), Data: []byte{0x3f, 0xa2, 0x19, 0xc4, 0x7e}}, At: gAt}),
	eventtest.Ex[guest.Event](guest.Deleted{At: gAt}),
}

// TestEventTable checks the guest's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, guest.Events, examples...)
}
