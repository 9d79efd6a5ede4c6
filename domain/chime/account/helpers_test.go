package account_test

import (
	"encoding/json"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// sealedUser and sealedBot stand for credentials sealed under the subject's key of account a1 (the
// bytes are opaque to the domain).
func sealedUser(userID string, tag byte) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID("a1", account.UserKeySubject(userID)), Data: []byte{0xC0, tag, 0x01, 0x02}}
}

func sealedBot(botID string) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID("a1", account.BotKeySubject(botID)), Data: []byte{0xB0, 0x75}}
}
