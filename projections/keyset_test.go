package projections_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/belfry/belfry/projections"
)

// TestForgedKeysetTokensAreRefused: a token whose values hold a NUL or invalid UTF-8 was never
// issued by a list (and PostgreSQL would refuse the query: a 500): ErrBadToken; a token a list
// issued decodes to what it carries.
func TestForgedKeysetTokensAreRefused(t *testing.T) {
	const sort = "username DESC"
	for _, raw := range []string{`{"s":"username DESC","k":["a\u0000b"],"i":"1"}`, `{"s":"username DESC","k":["a"],"i":"1\u0000"}`} {
		tok := base64.RawURLEncoding.EncodeToString([]byte(raw))
		if _, err := projections.DecodeKeyset(tok, sort); !errors.Is(err, projections.ErrBadToken) {
			t.Fatalf("%s: %v, want ErrBadToken", raw, err)
		}
	}
	issued := projections.Keyset{Sort: sort, Keys: []string{"zoë"}, ID: "1042"}
	k, err := projections.DecodeKeyset(issued.Token(), sort)
	if err != nil || k.Keys[0] != "zoë" || k.ID != "1042" {
		t.Fatalf("an issued token: %+v %v", k, err)
	}
}

// TestForgedPageTokensAreRefused: the same for the tokens of key-ordered lists (DecodeToken).
func TestForgedPageTokensAreRefused(t *testing.T) {
	for _, raw := range []string{"a\x00b", "\xff\xfe"} {
		if _, err := projections.DecodeToken(base64.RawURLEncoding.EncodeToString([]byte(raw))); !errors.Is(err, projections.ErrBadToken) {
			t.Fatalf("%q: %v, want ErrBadToken", raw, err)
		}
	}
	if k, err := projections.DecodeToken(base64.RawURLEncoding.EncodeToString([]byte("acct/zoë"))); err != nil || k != "acct/zoë" {
		t.Fatalf("an issued token: %q %v", k, err)
	}
}
