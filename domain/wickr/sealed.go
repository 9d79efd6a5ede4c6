package wickr

import (
	"strconv"

	"github.com/belfry/belfry/domain"
)

// ErrUnsealed is a secret that reached a command in clear or sealed under another subject's key.
var ErrUnsealed = &domain.Error{Kind: domain.KindInvalid, Msg: "secret not sealed under its subject's key"}

// CheckSealed checks that a secret is sealed under the key of subject in network (the tenant), so that
// destroying that key shreds exactly that subject's secrets.
func CheckSealed(networkID, subject, field string, s domain.Sealed) error {
	want := domain.SubjectKeyID(networkID, subject)
	if len(s.Data) == 0 {
		return FieldErr(ErrUnsealed, field, "is required")
	}
	if s.KeyID != want {
		return FieldErr(ErrUnsealed, field, "must be sealed under key %s, got key %q", want, s.KeyID)
	}
	return nil
}

// Key subjects of a network's secrets.
const (
	SubjectRetentionBot = "retention-bot"
	SubjectOIDC         = "oidc"
	SubjectOpenTDF      = "opentdf"
)

// RetentionBotSubject is the key subject of the data-retention bot's passwords in the n-th
// incarnation of a network's bot (n ≥ 1): deleting the bot destroys its key, so a bot created again
// seals its passwords under a key of its own.
func RetentionBotSubject(n int) string {
	if n <= 1 {
		return SubjectRetentionBot
	}
	return SubjectRetentionBot + "/" + strconv.Itoa(n)
}

// UserSubject is the key subject of a user's password.
func UserSubject(userID string) string { return "user/" + userID }

// BotSubject is the key subject of a bot's password (its challenge).
func BotSubject(botID string) string { return "bot/" + botID }

// GuestSubject is the key subject of a guest's password (guests belong to no network: their tenant
// is GuestTenant).
func GuestSubject(usernameHash string) string { return "guest/" + usernameHash }

// GuestTenant is the tenant of guest accounts' keys.
const GuestTenant = "wickr-guests"
