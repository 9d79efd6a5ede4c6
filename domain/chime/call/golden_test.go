package call_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2019, 4, 23, 8, 53, 15, 20_000_000, time.UTC)

var placed = call.CallPlaced{ConferenceID: "123a4567-b890-1234-5678-cd90efgh1234", AwsAccountID: "111122223333",
	AccountID: "12a3456b-7c89-012d-3456-78901e23fg45", OrganizerUserID: "1ab2345c-67de-8901-f23g-45h678901j2k",
	OrganizerEmail: "jdoe@example.com", At: gAt, Legs: []call.Leg{{LegID: "1a234567-89bc-01d2-3456-e78f9g01234h", Direction: call.Outbound,
		From: "+12065550100", To: "+12065550101", FromCountry: "US", ToCountry: "US", UserID: "1ab2345c-67de-8901-f23g-45h678901j2k"}}}

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[call.Event]{
	eventtest.Ex[call.Event](placed),
	eventtest.Variant[call.Event]("dial-out", call.CallPlaced{ConferenceID: "2b345678-90cd-12e3-4567-f89a0b12345c", AwsAccountID: "111122223333",
		AccountID: "12a3456b-7c89-012d-3456-78901e23fg45", OrganizerUserID: "1ab2345c-67de-8901-f23g-45h678901j2k", MeetingID: "5c7d9e2f-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
		At: gAt, Legs: []call.Leg{{LegID: "3c456789-01de-23f4-5678-a90b1c23456d", Direction: call.Outbound, From: "+12065550100", To: "+13605550199",
			FromCountry: "US", ToCountry: "US"}}}),
	eventtest.Ex[call.Event](call.LegConnected{LegID: "1a234567-89bc-01d2-3456-e78f9g01234h", At: gAt.Add(16 * time.Second)}),
	eventtest.Ex[call.Event](call.LegEnded{LegID: "1a234567-89bc-01d2-3456-e78f9g01234h", Reason: call.ReasonCompleted, At: gAt.Add(28 * time.Second)}),
	eventtest.Ex[call.Event](call.ConferenceEnded{At: gAt.Add(28 * time.Second)}),
}

// TestEventTable checks the event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, call.Events, examples...)
}
