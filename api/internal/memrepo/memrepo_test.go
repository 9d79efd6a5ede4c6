package memrepo_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
)

// tally is a toy aggregate: a command is a word, decided into itself as an event ("" decides
// nothing, "bad" is refused); the state counts each word in a map, updated in place.
type tally struct{ n map[string]int }

func initial() tally { return tally{n: map[string]int{}} }

func evolve(s tally, e string) tally { s.n[e]++; return s }

func decide(_ tally, c string, _ time.Time) ([]string, error) {
	switch c {
	case "":
		return nil, nil
	case "bad":
		return nil, errors.New("refused")
	}
	return []string{c}, nil
}

// TestNew: states are updated in place and stored only when a decision appended events.
func TestNew(t *testing.T) {
	ctx := context.Background()
	r := memrepo.New(initial, evolve, decide)
	before := r.State("s")
	if _, err := r.Execute(ctx, "s", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Execute(ctx, "s", "bad"); err == nil {
		t.Fatal("a refused command was not an error")
	}
	r.Range(func(stream string, _ tally) { t.Errorf("stream %s stored without events", stream) })
	held, _, _ := r.Load(ctx, "s")
	d, err := r.Execute(ctx, "s", "a")
	if err != nil || d.State.n["a"] != 1 || !reflect.DeepEqual(d.Events, []string{"a"}) {
		t.Fatalf("decided %+v, %v", d, err)
	}
	if before.n["a"] != 0 || held.n["a"] != 0 {
		t.Fatal("a fresh initial state was shared before the first event")
	}
	if _, err := r.Execute(ctx, "s", "a"); err != nil {
		t.Fatal(err)
	}
	if d.State.n["a"] != 2 {
		t.Fatalf("an earlier decision's state was not updated in place: %v", d.State.n)
	}
	if _, v, _ := r.Load(ctx, "s"); v != 0 || r.Appends() != 2 {
		t.Fatalf("version %d, %d appends", v, r.Appends())
	}
}

// TestNewLog: every read folds the stream's events into a state of its own.
func TestNewLog(t *testing.T) {
	ctx := context.Background()
	r := memrepo.NewLog(initial, evolve, decide)
	if _, v, _ := r.Load(ctx, "s"); v != -1 {
		t.Fatalf("version of an empty stream %d", v)
	}
	r.Append("s", "a", "b")
	d, err := r.Execute(ctx, "s", "a")
	if err != nil || !reflect.DeepEqual(d.State.n, map[string]int{"a": 2, "b": 1}) {
		t.Fatalf("decided %+v, %v", d, err)
	}
	if _, err := r.Execute(ctx, "s", "b"); err != nil {
		t.Fatal(err)
	}
	s, v, _ := r.Load(ctx, "s")
	if v != 3 || d.State.n["b"] != 1 || s.n["b"] != 2 || r.Appends() != 2 {
		t.Fatalf("version %d, earlier state %v, state %v, %d appends", v, d.State.n, s.n, r.Appends())
	}
}

// TestHooks: the order in which the hooks run, and which calls run them.
func TestHooks(t *testing.T) {
	ctx := context.Background()
	for _, r := range []*memrepo.Repo[tally, string, string]{memrepo.New(initial, evolve, decide), memrepo.NewLog(initial, evolve, decide)} {
		var got []string
		r.BeforeCommand(func(_ string, c string) { got = append(got, "command "+c) })
		r.BeforeDecide(func(context.Context, string) { got = append(got, "decide") })
		r.AfterCommand(func(_ string, c string) { got = append(got, "after "+c) })
		r.AfterRead(func(string) { got = append(got, "read") })
		_, _ = r.Execute(ctx, "s", "a")
		_, _ = r.Execute(ctx, "s", "bad")
		_, _ = r.ExecuteFunc(ctx, "s", func(tally, time.Time) ([]string, error) { return nil, nil })
		_, _, _ = r.Load(ctx, "s")
		_, _ = r.Peek(ctx, "s")
		_ = r.Inspect(ctx, "s", true, func(tally) error { return nil })
		want := []string{"command a", "decide", "after a", "command bad", "decide", "decide", "read", "read"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("hooks ran %q, want %q", got, want)
		}
	}
}
