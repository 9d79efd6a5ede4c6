package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// ErrUnknownEventType is returned by Registry.Decode for an event type that is not in the table.
var ErrUnknownEventType = errors.New("unknown event type")

// Registry is the one table of a context's stored event types: every event type is listed once, as
// an Entry made by Register, and Decode, the list of event-type names (Types) and the golden-file
// round-trip tests (domain/internal/eventtest) all come from it.
//
// Invariants, checked by NewRegistry when the package is initialised (a violation panics, so the
// program cannot start and every test of the package fails):
//   - each event-type name and each Go type appears once;
//   - each registered Go type implements the context's event type E;
//   - a Go type with an EventType() string method answers the name it is registered under.
//
// A type that implements E but is missing from the table is caught by eventtest.Check, which parses
// the package for every type with an EventType method.
type Registry[E any] struct {
	context string
	entries []Entry[E]
	byName  map[string]int
	byType  map[reflect.Type]int
}

// Entry is one row of a Registry: a stored event-type name and the Go type its JSON decodes into.
type Entry[E any] struct {
	name   string
	goType reflect.Type
	zero   E
	isE    bool
	decode func(data []byte) (E, error)
}

// Name is the stored event-type name (e.g. "chime.account.created.v1").
func (e Entry[E]) Name() string { return e.name }

// GoType is the Go type the event decodes into (a value type, never a pointer).
func (e Entry[E]) GoType() reflect.Type { return e.goType }

// Register makes the entry of event type name, decoded from JSON into a T and returned as an E.
// T must implement E (NewRegistry checks it).
func Register[T any, E any](name string) Entry[E] {
	zero, isE := any(*new(T)).(E)
	return Entry[E]{name: name, goType: reflect.TypeFor[T](), zero: zero, isE: isE,
		decode: func(data []byte) (E, error) {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				var none E
				return none, err
			}
			e, _ := any(v).(E)
			return e, nil
		}}
}

// NewRegistry builds the table of context (a short name such as "account", used in errors); it panics
// when the entries break an invariant of Registry.
func NewRegistry[E any](context string, entries ...Entry[E]) *Registry[E] {
	r := &Registry[E]{context: context, entries: entries, byName: map[string]int{}, byType: map[reflect.Type]int{}}
	for i, e := range entries {
		if err := r.check(e); err != nil {
			panic(fmt.Sprintf("domain: event table of %s: %v", context, err))
		}
		r.byName[e.name], r.byType[e.goType] = i, i
	}
	return r
}

func (r *Registry[E]) check(e Entry[E]) error {
	switch {
	case e.name == "" || e.decode == nil:
		return errors.New("an entry without a name (use Register)")
	case !e.isE:
		return fmt.Errorf("%s: %v does not implement %v", e.name, e.goType, reflect.TypeFor[E]())
	}
	if _, dup := r.byName[e.name]; dup {
		return fmt.Errorf("%s is registered twice", e.name)
	}
	if _, dup := r.byType[e.goType]; dup {
		return fmt.Errorf("%v is registered twice", e.goType)
	}
	if typed, ok := any(e.zero).(interface{ EventType() string }); ok && typed.EventType() != e.name {
		return fmt.Errorf("%v is registered as %s but its EventType() is %s", e.goType, e.name, typed.EventType())
	}
	return nil
}

// Context is the short name of the context the table belongs to.
func (r *Registry[E]) Context() string { return r.context }

// Decode turns a stored event back into an E (holding a value, never a pointer). An event type not in
// the table is an error wrapping ErrUnknownEventType.
func (r *Registry[E]) Decode(eventType string, data []byte) (E, error) {
	i, ok := r.byName[eventType]
	if !ok {
		var none E
		return none, fmt.Errorf("%s: %w %q", r.context, ErrUnknownEventType, eventType)
	}
	e, err := r.entries[i].decode(data)
	if err != nil {
		return e, fmt.Errorf("%s: decode %s: %w", r.context, eventType, err)
	}
	return e, nil
}

// Types lists the stored event-type names in table order.
func (r *Registry[E]) Types() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.name
	}
	return out
}

// Entries lists the table's rows in order.
func (r *Registry[E]) Entries() []Entry[E] { return append([]Entry[E](nil), r.entries...) }

// NameOf returns the event-type name an event is registered under, by its Go type.
func (r *Registry[E]) NameOf(e E) (string, bool) {
	i, ok := r.byType[reflect.TypeOf(e)]
	if !ok {
		return "", false
	}
	return r.entries[i].name, true
}
