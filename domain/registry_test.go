package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
)

type testEvent interface{ EventType() string }

type opened struct {
	ID string `json:"id"`
}

type closed struct {
	At int `json:"at"`
}

type notAnEvent struct{}

func (opened) EventType() string { return "test.opened.v1" }
func (closed) EventType() string { return "test.closed.v1" }

func TestRegistryDecodes(t *testing.T) {
	t.Parallel()
	reg := domain.NewRegistry("test", domain.Register[opened, testEvent]("test.opened.v1"), domain.Register[closed, testEvent]("test.closed.v1"))
	e, err := reg.Decode("test.opened.v1", []byte(`{"id":"x1"}`))
	if err != nil || e != (opened{ID: "x1"}) {
		t.Fatalf("decode: %#v %v", e, err)
	}
	if got := reg.Types(); !reflect.DeepEqual(got, []string{"test.opened.v1", "test.closed.v1"}) {
		t.Fatalf("types: %v", got)
	}
	if name, ok := reg.NameOf(closed{At: 3}); !ok || name != "test.closed.v1" {
		t.Fatalf("name of closed: %q %v", name, ok)
	}
	if _, err := reg.Decode("test.unknown.v1", []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := reg.Decode("test.closed.v1", []byte(`{"at":"soon"}`)); err == nil || errors.Is(err, domain.ErrUnknownEventType) {
		t.Fatalf("bad JSON: %v", err)
	}
	if reg.Context() != "test" || len(reg.Entries()) != 2 || reg.Entries()[1].GoType() != reflect.TypeFor[closed]() {
		t.Fatalf("entries: %v", reg.Entries())
	}
}

// TestRegistryRefusesABrokenTable: a table that lists a name or a type twice, registers a type that
// is not an event, or disagrees with a type's EventType() stops the package from initialising.
func TestRegistryRefusesABrokenTable(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		entries []domain.Entry[testEvent]
		want    string
	}{
		"name twice":   {[]domain.Entry[testEvent]{domain.Register[opened, testEvent]("test.opened.v1"), domain.Register[closed, testEvent]("test.opened.v1")}, "registered twice"},
		"type twice":   {[]domain.Entry[testEvent]{domain.Register[opened, testEvent]("test.opened.v1"), domain.Register[opened, testEvent]("test.opened.v2")}, "registered twice"},
		"not an event": {[]domain.Entry[testEvent]{domain.Register[notAnEvent, testEvent]("test.none.v1")}, "does not implement"},
		"wrong name":   {[]domain.Entry[testEvent]{domain.Register[closed, testEvent]("test.closed.v2")}, "its EventType() is test.closed.v1"},
		"empty entry":  {[]domain.Entry[testEvent]{{}}, "without a name"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), tc.want) {
					t.Fatalf("want a panic about %q, got %v", tc.want, r)
				}
			}()
			domain.NewRegistry("test", tc.entries...)
		})
	}
}
