package projections

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Keyset pages a list sorted by some columns and a unique id, all in one direction: a page is read
// with WHERE (cols…, id) > (or <) the last row's values, so a page costs the same at any depth and a
// row inserted meanwhile is neither skipped nor repeated. Its NextToken carries the sort and the last
// row's values; a token used with another sort is refused.
type Keyset struct {
	Sort string   `json:"s"` // the sort it was issued for, e.g. "username+firstName DESC"
	Keys []string `json:"k"` // the last row's sort values
	ID   string   `json:"i"` // the last row's id
}

// DecodeKeyset reads a NextToken issued for sort ("" token: the first page, nil); an invalid token,
// one issued for another sort, or one whose values hold a NUL or invalid UTF-8 (forged), is
// ErrBadToken.
func DecodeKeyset(token, sort string) (*Keyset, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var k Keyset
	if err != nil || json.Unmarshal(b, &k) != nil || k.ID == "" {
		return nil, fmt.Errorf("%w: nextToken %q was not issued by this list", ErrBadToken, token)
	}
	if k.Sort != sort {
		return nil, fmt.Errorf("%w: nextToken was issued for sort %q, not %q", ErrBadToken, k.Sort, sort)
	}
	for _, v := range append(k.Keys, k.ID) {
		if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
			// Never issued by a list (no stored text holds either), and PostgreSQL refuses both.
			return nil, fmt.Errorf("%w: nextToken holds a NUL or invalid UTF-8", ErrBadToken)
		}
	}
	return &k, nil
}

// Token is the NextToken of a page that ends at the row with these sort values and id.
func (k Keyset) Token() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// KeysetQuery is the SQL of one keyset page over columns cols (already safe SQL expressions) then
// idCol, descending when desc: the condition to AND into the WHERE clause (true for the first page),
// its arguments (numbered from firstArg), and the ORDER BY clause.
func KeysetQuery(k *Keyset, cols []string, idCol string, desc bool, firstArg int) (where string, args []any, orderBy string) {
	all := append(append([]string(nil), cols...), idCol)
	dir, op := "ASC", ">"
	if desc {
		dir, op = "DESC", "<"
	}
	order := make([]string, len(all))
	for i, c := range all {
		order[i] = c + " " + dir
	}
	orderBy = strings.Join(order, ", ")
	if k == nil || len(k.Keys) != len(cols) {
		return "true", nil, orderBy
	}
	ph := make([]string, len(all))
	for i := range all {
		ph[i] = fmt.Sprintf("$%d", firstArg+i)
	}
	for _, v := range k.Keys {
		args = append(args, v)
	}
	args = append(args, k.ID)
	return "(" + strings.Join(all, ", ") + ") " + op + " (" + strings.Join(ph, ", ") + ")", args, orderBy
}
