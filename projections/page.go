package projections

import (
	"encoding/base64"

	"github.com/belfry/belfry/domain"
)

// ErrBadToken is returned for a NextToken that no list issued.
var ErrBadToken = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid NextToken"}

// DecodeToken turns a NextToken back into the key the page ends at ("" for the first page).
func DecodeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 {
		return "", domain.Wrapf(ErrBadToken, "NextToken %q is not valid", token)
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
