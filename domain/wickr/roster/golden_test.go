package roster_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

var (
	gAt     = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	gExpiry = gAt.Add(roster.InviteTTL)
)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[roster.Event]{
	eventtest.Ex[roster.Event](roster.UserInvited{NetworkID: "56019692", UserID: "1042", Username: "alice.jones@example.com", FirstName: "Alice",
		LastName: "Jones", GroupID: "Kx3mT9qa", InviteCode: "7QK2-M9ZA", CodeValidation: true, InviteExpiresAt: gExpiry, At: gAt}),
	eventtest.Ex[roster.Event](roster.UsersInvited{NetworkID: "56019692", UserIDs: []string{"1042", "1043"}, Users: []roster.Invitee{
		{Username: "alice.jones@example.com", FirstName: "Alice", LastName: "Jones", GroupID: "Kx3mT9qa", InviteCode: "7QK2-M9ZA",
			CodeValidation: true, InviteExpiresAt: gExpiry},
		{Username: "bob.smith@example.com", FirstName: "Bob", LastName: "Smith", GroupID: "Pq7wN2rb", InviteCode: "3HX8-WQ4L",
			CodeValidation: true, InviteExpiresAt: gExpiry.Add(24 * time.Hour)}}, At: gAt}),
	eventtest.Ex[roster.Event](roster.UserReinvited{UserID: "1042", InviteExpiresAt: gExpiry, At: gAt}),
	eventtest.Ex[roster.Event](roster.UserRegistered{UserID: "1042",
		Password: domain.Sealed{KeyID: domain.SubjectKeyID("56019692", wickr.UserSubject("1042")), Data: []byte{0x51, 0x8e, 0x0b, 0xd7, 0x22}}, At: gAt}),
	eventtest.Ex[roster.Event](roster.UserUpdated{UserID: "1042", FirstName: "Alicia", LastName: "Jones-Ortiz", GroupID: "Pq7wN2rb",
		InviteCode: "3HX8-WQ4L", CodeValidation: true, InviteExpiresAt: gExpiry, At: gAt}),
	eventtest.Ex[roster.Event](roster.UserMoved{UserID: "1042", GroupID: "Kx3mT9qa", At: gAt}),
	eventtest.Ex[roster.Event](roster.UserSuspended{UserID: "1042", At: gAt}),
	eventtest.Ex[roster.Event](roster.UserUnsuspended{UserID: "1042", At: gAt}),
	eventtest.Ex[roster.Event](roster.UserDeleted{UserID: "1042", At: gAt}),
	eventtest.Variant[roster.Event]("client_token", roster.UserDeleted{UserID: "1042", ClientToken: "4b1d6c0e-57a2-4f3e-9a61-0c2f5e8d7b13", At: gAt}),
	eventtest.Ex[roster.Event](roster.DeviceRegistered{UserID: "1042", AppID: "c0f4e1d2-8a3b-4c5d-9e6f-7a8b9c0d1e2f", Type: "iOS", At: gAt}),
	eventtest.Ex[roster.Event](roster.DeviceWasReset{UserID: "1042", AppID: "c0f4e1d2-8a3b-4c5d-9e6f-7a8b9c0d1e2f", Reason: "admin", At: gAt}),
	eventtest.Ex[roster.Event](roster.SignedIn{UserID: "1042", AppID: "c0f4e1d2-8a3b-4c5d-9e6f-7a8b9c0d1e2f", At: gAt}),
	eventtest.Ex[roster.Event](roster.SignInFailed{UserID: "1042", AppID: "c0f4e1d2-8a3b-4c5d-9e6f-7a8b9c0d1e2f", Failures: 3, At: gAt}),
	eventtest.Ex[roster.Event](roster.UserLockedOut{UserID: "1042", Until: gAt.Add(24 * time.Hour), At: gAt}),
	eventtest.Ex[roster.Event](roster.UserUnlocked{UserID: "1042", Reason: "auto24h", At: gAt}),
	eventtest.Ex[roster.Event](roster.UserRegisteredSSO{UserID: "1042", Subject: "00u1a2b3c4d5e6f7g8h9", At: gAt}),
	eventtest.Ex[roster.Event](roster.PasswordResetRequested{UserID: "1042", ExpiresAt: gAt.Add(roster.PasswordResetTTL), At: gAt}),
	eventtest.Ex[roster.Event](roster.PasswordReset{UserID: "1042",
		Password: domain.Sealed{KeyID: domain.SubjectKeyID("56019692", wickr.UserSubject("1042")), Data: []byte{0x9c, 0x31, 0x4e, 0x07, 0xb5}}, At: gAt}),
}

// TestEventTable checks the roster's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, roster.Events, examples...)
}
