package projections

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// ErrBadToken is returned for a NextToken that no list issued.
var ErrBadToken = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid NextToken"}

// DecodeToken turns a NextToken back into the key the page ends at ("" for the first page); a token
// that is not base64, is empty, or holds a NUL or invalid UTF-8 is ErrBadToken.
func DecodeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		// A NUL or invalid UTF-8 was never issued (no stored key holds either) and PostgreSQL
		// refuses both: a forged token, not a failure of the service.
		return "", domain.Wrapf(ErrBadToken, "NextToken %.100q is not valid", token)
	}
	return string(b), nil
}

// Page trims a list fetched with limit+1 rows to limit and returns the token of the next page.
func Page[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, base64.RawURLEncoding.EncodeToString([]byte(key(rows[limit-1])))
}
