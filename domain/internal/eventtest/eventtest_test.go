package eventtest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
)

type inner struct {
	Key  string `json:"key"`
	Data []byte `json:"data"`
}

type sample struct {
	Name    string           `json:"name"`
	Skipped string           `json:"-"`
	private string           // not encoded: not part of the contract
	Inner   inner            `json:"inner"`
	Ptr     *inner           `json:"ptr,omitempty"`
	List    []inner          `json:"list"`
	Counts  map[string]int64 `json:"counts"`
	At      time.Time        `json:"at"`
	Flag    bool
}

func TestFieldPathsAndCoverage(t *testing.T) {
	t.Parallel()
	want := []string{"name", "inner.key", "inner.data", "ptr.key", "ptr.data", "list[].key", "list[].data", "counts{}", "at", "Flag"}
	if got := fieldPaths(reflect.TypeFor[sample](), "", nil, 0); !slices.Equal(got, want) {
		t.Fatalf("paths:\n got %v\nwant %v", got, want)
	}
	covered := map[string]bool{}
	coveredPaths(reflect.ValueOf(sample{Name: "n", private: "p", Inner: inner{Data: []byte{}}, List: []inner{{Key: "k"}},
		Counts: map[string]int64{"a": 0}, At: time.Unix(1, 0)}), "", covered, 0)
	var got []string
	for _, p := range want {
		if covered[p] {
			got = append(got, p)
		}
	}
	if want := []string{"name", "list[].key", "at"}; !slices.Equal(got, want) {
		t.Fatalf("covered: got %v, want %v", got, want)
	}
}

type ev struct{}

func (ev) EventType() string { return "x.a.v1" }

type evLonger struct{}

func (evLonger) EventType() string { return "x.a.v1.b.v1" }

func TestGoldenFileNames(t *testing.T) {
	t.Chdir(t.TempDir())
	reg := domain.NewRegistry("x", domain.Register[ev, any]("x.a.v1"), domain.Register[evLonger, any]("x.a.v1.b.v1"))
	writeMissing(t, reg, []Example[any]{Ex[any](ev{}), Variant[any]("legacy", ev{}), Ex[any](evLonger{})})
	files := goldenFiles(t, reg.Entries())
	got := map[string]goldenFile{}
	for _, f := range files {
		got[f.path] = f
	}
	want := map[string]goldenFile{
		Dir + "/x.a.v1.json":        {entry: 0, path: Dir + "/x.a.v1.json"},
		Dir + "/x.a.v1.legacy.json": {entry: 0, variant: "legacy", path: Dir + "/x.a.v1.legacy.json"},
		Dir + "/x.a.v1.b.v1.json":   {entry: 1, path: Dir + "/x.a.v1.b.v1.json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files:\n got %v\nwant %v", got, want)
	}
}
