package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// MaxDocumentChars bounds a policy document: IAM's limit for a user's policies, in characters, white
// space outside strings not counted (as IAM counts).
const MaxDocumentChars = 2048

// unevaluatedStatementMembers are the statement members of IAM's grammar that iampolicy does not
// evaluate: a statement carrying one would apply more broadly than written.
var unevaluatedStatementMembers = []string{"Condition", "NotResource", "Principal", "NotPrincipal"}

// Parse reads and validates a policy document, as IAM's grammar has it: a document has Version, Id
// and Statement (one statement or a list); a statement has Sid, Effect, Action or NotAction, and
// Resource. Member names are case-sensitive; a member given twice (in any case), an unknown member, a
// member Belfry does not evaluate (Condition, NotResource, Principal, NotPrincipal: the statement
// would apply without it) and a document over MaxDocumentChars are refused. Every error is of kind
// domain.KindInvalid and names the member.
func Parse(b []byte) (Document, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return Document{}, invalid("policy document: not valid JSON: %v", err)
	}
	if n := utf8.RuneCount(compact.Bytes()); n > MaxDocumentChars {
		return Document{}, invalid("policy document: %d characters (white space not counted), over the limit of %d", n, MaxDocumentChars)
	}
	top, err := members(compact.Bytes(), "policy document")
	if err != nil {
		return Document{}, err
	}
	var d Document
	for _, m := range top {
		switch m.name {
		case "Version":
			err = decodeMember(m.value, &d.Version, "Version", "a string")
		case "Id":
			var id string
			err = decodeMember(m.value, &id, "Id", "a string")
		case "Statement":
			d.Statement, err = statements(m.value)
		default:
			err = invalid("policy document: unknown member %q (a policy has Version, Id and Statement; names are case-sensitive)", m.name)
		}
		if err != nil {
			return Document{}, err
		}
	}
	if err := d.Validate(); err != nil {
		return Document{}, invalid("policy document: %v", err)
	}
	return d, nil
}

func invalid(format string, a ...any) error { return domain.Errorf(domain.KindInvalid, format, a...) }

// member is one member of a JSON object, in the order given.
type member struct {
	name  string
	value json.RawMessage
}

// members reads a JSON object's members, refusing a name given twice (matched without regard to
// case, as encoding/json matches names); path names the object in errors.
func members(raw []byte, path string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, invalid("%s must be a JSON object", path)
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return nil, invalid("%s must be a JSON object", path)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, invalid("%s.%s: %v", path, name, err)
		}
		for _, m := range out {
			if strings.EqualFold(m.name, name) {
				return nil, invalid("%s.%s: given twice (as %q and %q)", path, name, m.name, name)
			}
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

// statements reads the Statement member: one statement object or a list of them.
func statements(raw json.RawMessage) ([]Statement, error) {
	var list []json.RawMessage
	if bytes.HasPrefix(raw, []byte("{")) {
		list = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("policy document: Statement must be a statement or a list of statements")
	}
	out := make([]Statement, len(list))
	for i, r := range list {
		path := fmt.Sprintf("policy document: Statement[%d]", i)
		ms, err := members(r, path)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if err := out[i].set(m, fmt.Sprintf("Statement[%d].%s", i, m.name)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// set decodes one member of a statement; field names it in errors.
func (s *Statement) set(m member, field string) error {
	switch m.name {
	case "Sid":
		return decodeMember(m.value, &s.Sid, field, "a string")
	case "Effect":
		return decodeMember(m.value, &s.Effect, field, "a string")
	case "Action":
		return decodeMember(m.value, &s.Action, field, "a string or a list of strings")
	case "NotAction":
		return decodeMember(m.value, &s.NotAction, field, "a string or a list of strings")
	case "Resource":
		return decodeMember(m.value, &s.Resource, field, "a string or a list of strings")
	}
	for _, u := range unevaluatedStatementMembers {
		if strings.EqualFold(m.name, u) {
			return invalid("policy document: %s: Belfry does not evaluate %s, so the statement would apply "+
				"without it; remove it or narrow the statement's actions instead", field, u)
		}
	}
	return invalid("policy document: %s: unknown member (a statement has Sid, Effect, Action or NotAction, and Resource; "+
		"names are case-sensitive)", field)
}

func decodeMember(raw json.RawMessage, v any, field, want string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid("policy document: %s must be %s", field, want)
	}
	return nil
}
