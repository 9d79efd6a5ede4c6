package account

import (
	"encoding/json"
	"iter"
	"maps"
	"slices"
	"strings"
)

// Index is a map from strings to V, for the collections of State that grow to one entry per user
// (Members, Emails). It behaves as a Go map (a nil *Index is an empty one that reads as nil; Get,
// Len, All), but it is built in two parts so that a large account loads from its snapshot without
// one map insert per user (100,000 inserts cost most of a decode):
//
//   - a frozen part: keys strictly increasing with their values beside them, taken as they come from
//     a snapshot and searched by binary search; an entry removed from it is only marked gone;
//   - an overlay map for the keys added since (every key, for a state folded from events).
//
// A key is in at most one part. Like a map, an Index is shared by every copy of the State holding it
// and changed in place by Evolve (set, remove): the command path serializes every use of a stream's
// state. Reads never change it.
type Index[V any] struct {
	keys  []string // frozen keys, strictly increasing
	vals  []V      // vals[i] is the value of keys[i]
	gone  []bool   // gone[i]: keys[i] was removed (nil until one is)
	ngone int      // how many gone[i] are true
	over  map[string]V
}

// frozenIndex returns an Index of the given keys (strictly increasing, not checked here) and values.
func frozenIndex[V any](keys []string, vals []V) *Index[V] {
	return &Index[V]{keys: keys, vals: vals}
}

// indexOf returns an Index holding the entries of m (nil for a nil m).
func indexOf[V any](m map[string]V) *Index[V] {
	if m == nil {
		return nil
	}
	return &Index[V]{over: m}
}

// find returns the frozen position of k, and whether k is there and not gone.
func (x *Index[V]) find(k string) (int, bool) {
	i, ok := slices.BinarySearch(x.keys, k)
	return i, ok && (x.gone == nil || !x.gone[i])
}

// Get returns the value of k and whether k is in the index.
func (x *Index[V]) Get(k string) (V, bool) {
	if x != nil {
		if i, ok := x.find(k); ok {
			return x.vals[i], true
		}
		if v, ok := x.over[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// Len is the number of entries.
func (x *Index[V]) Len() int {
	if x == nil {
		return 0
	}
	return len(x.keys) - x.ngone + len(x.over)
}

// All yields every entry, in no particular order (as a map's range does).
func (x *Index[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if x == nil {
			return
		}
		for i, k := range x.keys {
			if (x.gone == nil || !x.gone[i]) && !yield(k, x.vals[i]) {
				return
			}
		}
		for k, v := range x.over {
			if !yield(k, v) {
				return
			}
		}
	}
}

// Sorted returns the keys in increasing order and their values (a merge of the frozen part and the
// overlay's entries, sorted).
func (x *Index[V]) Sorted() ([]string, []V) {
	if x == nil {
		return nil, nil
	}
	type entry struct {
		k string
		v V
	}
	over := make([]entry, 0, len(x.over))
	for k, v := range x.over {
		over = append(over, entry{k, v})
	}
	slices.SortFunc(over, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	keys, vals := make([]string, 0, x.Len()), make([]V, 0, x.Len())
	i := 0
	for _, e := range over {
		for ; i < len(x.keys) && x.keys[i] < e.k; i++ {
			if x.gone == nil || !x.gone[i] {
				keys, vals = append(keys, x.keys[i]), append(vals, x.vals[i])
			}
		}
		keys, vals = append(keys, e.k), append(vals, e.v)
	}
	for ; i < len(x.keys); i++ {
		if x.gone == nil || !x.gone[i] {
			keys, vals = append(keys, x.keys[i]), append(vals, x.vals[i])
		}
	}
	return keys, vals
}

// set makes v the value of k.
func (x *Index[V]) set(k string, v V) {
	if i, ok := slices.BinarySearch(x.keys, k); ok {
		x.vals[i] = v
		if x.gone != nil && x.gone[i] {
			x.gone[i] = false
			x.ngone--
		}
		return
	}
	if x.over == nil {
		x.over = map[string]V{}
	}
	x.over[k] = v
}

// remove removes k (nothing when it is absent).
func (x *Index[V]) remove(k string) {
	if i, ok := x.find(k); ok {
		if x.gone == nil {
			x.gone = make([]bool, len(x.keys))
		}
		var zero V
		x.gone[i], x.vals[i] = true, zero
		x.ngone++
		return
	}
	delete(x.over, k)
}

// MarshalJSON writes the index as a JSON object (as a map would be).
func (x *Index[V]) MarshalJSON() ([]byte, error) {
	if x == nil {
		return []byte("null"), nil
	}
	return json.Marshal(maps.Collect(x.All()))
}

// UnmarshalJSON reads a JSON object into the index (its overlay).
func (x *Index[V]) UnmarshalJSON(b []byte) error {
	var m map[string]V
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*x = Index[V]{over: m}
	if m == nil {
		x.over = map[string]V{}
	}
	return nil
}
