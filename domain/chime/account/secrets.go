package account

import (
	"github.com/belfry/belfry/domain"
)

// Credentials in account events (the password hash of UserRegistered, the PINs of UserAdded,
// UserRegistered and PersonalPINReset, the security tokens of BotCreated and BotTokenRegenerated) are
// domain.Sealed under the key of their subject: a user's under UserKeySubject, a bot's under
// BotKeySubject, both of the account's tenant. Decide refuses a credential that is missing or sealed
// under another key, so destroying a subject's key (when the user is removed or the account deleted)
// shreds exactly that subject's credentials. Events stored before sealing carry plain values in their
// Legacy* members; they still decode, and Decide never writes those members.

// UserKeySubject is the key subject of a user's credentials.
func UserKeySubject(userID string) string { return "user/" + userID }

// BotKeySubject is the key subject of a bot's security token.
func BotKeySubject(botID string) string { return "bot/" + botID }

// ErrUnsealed is a credential that reached a command in clear or under another subject's key.
var ErrUnsealed = &domain.Error{Kind: domain.KindInvalid, Msg: "credential not sealed under its subject's key"}

func checkSealed(accountID, subject, field string, s domain.Sealed) error {
	want := domain.SubjectKeyID(accountID, subject)
	if len(s.Data) == 0 || s.KeyID != want {
		return domain.Wrapf(ErrUnsealed, "%s must be sealed under key %s, got key %q", field, want, s.KeyID)
	}
	return nil
}
