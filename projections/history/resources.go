package history

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// Resources returns what an event touched: its stream's id and the ids its payload names.
//
// It gives exactly what decoding the payload with encoding/json into a map of its top-level members
// would (FuzzResources compares the two), without building that map: the payload is validated once,
// its top-level members are read in place, and only the values of the members that name ids are
// decoded (a plain string without escapes is taken as it is). Payloads it does not read in place (a
// key with an escape) take encoding/json's path.
func Resources(stream string, data []byte) []string {
	r := resourceSet{}
	if _, id, ok := strings.Cut(stream, "-"); ok {
		r.add(id)
	}
	if !json.Valid(data) {
		return r.out
	}
	members, ok := topMembers(data)
	if !ok {
		return resourcesDecoded(r, data)
	}
	// In name order, the last of equal names winning (a map's semantics): the cap keeps the same ids
	// in every replay.
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for i, m := range members {
		if (i+1 < len(members) && members[i+1].key == m.key) || !isIDMember(m.key) {
			continue
		}
		r.value(m.raw)
	}
	return r.out
}

// resourcesDecoded is Resources through encoding/json (keys with escapes).
func resourcesDecoded(r resourceSet, data []byte) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return r.out
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if isIDMember(k) {
			r.value(top[k])
		}
	}
	return r.out
}

// resourceSet collects the distinct resources of one event, within the limits.
type resourceSet struct {
	seen map[string]bool
	out  []string
}

func (r *resourceSet) add(v string) {
	if v == "" || len(v) > MaxResourceBytes || !utf8.ValidString(v) || strings.ContainsRune(v, 0) || r.seen[v] || len(r.out) >= MaxResourcesPerEvent {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[v] = true
	r.out = append(r.out, v)
}

// value adds the id, or ids, of one member's value: a string or an array of strings; anything
// else names nothing.
func (r *resourceSet) value(raw []byte) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !slices.Contains(raw, '\\') && utf8.Valid(raw) {
		r.add(string(raw[1 : n-1])) // what json.Unmarshal gives for a string without escapes
		return
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		r.add(one)
		return
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, v := range many {
			r.add(v)
		}
	}
}

// idSuffixes are the endings, compared case-insensitively, of a member that names ids.
var idSuffixes = []string{"id", "ids", "e164", "phonenumber"}

// isIDMember reports whether a member's name ends in one of idSuffixes, with Unicode simple case
// folding (as the regular expression (?i)(ids?|e164|phonenumber)$ matches).
func isIDMember(k string) bool {
	for _, suf := range idSuffixes {
		n := utf8.RuneCountInString(suf)
		i := len(k)
		for range n {
			if i == 0 {
				break
			}
			_, size := utf8.DecodeLastRuneInString(k[:i])
			i -= size
		}
		if utf8.RuneCountInString(k[i:]) == n && strings.EqualFold(k[i:], suf) {
			return true
		}
	}
	return false
}

// member is one top-level member of a JSON object: its name and its value's bytes.
type member struct {
	key string
	raw []byte
}

// topMembers reads the top-level members of data, a valid JSON document (json.Valid), in place; ok is
// false when data is not an object, or when a member's name holds an escape.
func topMembers(data []byte) ([]member, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	var out []member
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != '}' {
		end := stringEnd(data, i)
		key := data[i+1 : end-1]
		if slices.Contains(key, '\\') {
			return nil, false
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the ':'
		vend := valueEnd(data, i)
		out = append(out, member{key: string(key), raw: data[i:vend]})
		i = skipSpace(data, vend)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return out, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}
