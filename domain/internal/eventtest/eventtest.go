// Package eventtest checks a context's event table (domain.Registry) against the package's source and
// its golden files; every context with stored events calls Check from a test. It is test support: no
// product code imports it.
//
// Golden files live in the package's testdata/golden directory, one per stored event type, named
// <event type>.json (e.g. chime.account.created.v1.json), plus optional variants named
// <event type>.<variant>.json (e.g. chime.account.user_added.v1.legacy.json for the shape of events
// stored before a change that old logs still hold). A file holds the event's stored JSON indented by
// json.Indent with two spaces and followed by one newline: compacting the file gives exactly the
// stored bytes, and indenting keeps a changed field to a one-line diff in review.
//
// Check fails when:
//   - a type of the package has an EventType method but is not in the table;
//   - a registered type has no golden file, or a golden file names no registered type;
//   - a golden file does not decode through the table, or decoding and re-encoding it with
//     encoding/json does not give back the file byte for byte (a field renamed, removed, retyped or
//     added without omitempty);
//   - a field of a registered type (nested structs, slices and maps included) is zero in every golden
//     file of its type, so that the files pin every field (a new field needs a value there);
//   - an example does not round-trip through Decode to an equal value.
//
// With BELFRY_UPDATE_GOLDEN=1, Check first writes the golden file of every example whose file is
// missing; it never overwrites one (changing a stored shape takes a new event version, or deleting
// the file on purpose, which the diff shows).
package eventtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
)

// UpdateEnv names the environment variable that makes Check write missing golden files.
const UpdateEnv = "BELFRY_UPDATE_GOLDEN"

// Dir is the golden directory, relative to the package under test.
const Dir = "testdata/golden"

// Example is a realistic event with every field set; Variant names a second golden file of its type
// ("" for the main file <event type>.json).
type Example[E any] struct {
	Variant string
	Event   E
}

// Ex is the main example of an event's type.
func Ex[E any](e E) Example[E] { return Example[E]{Event: e} }

// Variant is an example of another stored shape of an event's type (e.g. "legacy").
func Variant[E any](name string, e E) Example[E] { return Example[E]{Variant: name, Event: e} }

// Check runs the table checks of the package in the current directory (the package under test).
func Check[E any](t *testing.T, reg *domain.Registry[E], examples ...Example[E]) {
	t.Helper()
	t.Run("every event type is in the table", func(t *testing.T) { checkComplete(t, reg) })
	t.Run("examples round-trip", func(t *testing.T) { checkExamples(t, reg, examples) })
	t.Run("golden files", func(t *testing.T) { checkGolden(t, reg, examples) })
}

// checkComplete parses the package's non-test files and fails for every type with an EventType
// method that the table does not list.
func checkComplete[E any](t *testing.T, reg *domain.Registry[E]) {
	registered := map[string]bool{}
	for _, e := range reg.Entries() {
		registered[e.GoType().Name()] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "EventType" {
				continue
			}
			if typ := receiverName(fn.Recv.List[0].Type); !registered[typ] {
				t.Errorf("%s: %s has an EventType method but is not in the event table of %s: add domain.Register[%s, …](…)",
					fset.Position(fn.Pos()), typ, reg.Context(), typ)
			}
		}
	}
}

func receiverName(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.IndexListExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func checkExamples[E any](t *testing.T, reg *domain.Registry[E], examples []Example[E]) {
	for _, ex := range examples {
		name, ok := reg.NameOf(ex.Event)
		if !ok {
			t.Errorf("example %T is not in the event table of %s", ex.Event, reg.Context())
			continue
		}
		b, err := json.Marshal(ex.Event)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		back, err := reg.Decode(name, b)
		if err != nil || !reflect.DeepEqual(back, ex.Event) {
			t.Errorf("%s: round trip gave %#v, %v; want %#v", name, back, err, ex.Event)
		}
	}
}

// goldenFile is one golden file of a registered type.
type goldenFile struct {
	entry   int
	variant string
	path    string
}

func checkGolden[E any](t *testing.T, reg *domain.Registry[E], examples []Example[E]) {
	entries := reg.Entries()
	if os.Getenv(UpdateEnv) != "" {
		writeMissing(t, reg, examples)
	}
	files := goldenFiles(t, entries)
	for i, e := range entries {
		var mine []goldenFile
		for _, f := range files {
			if f.entry == i {
				mine = append(mine, f)
			}
		}
		if !slices.ContainsFunc(mine, func(f goldenFile) bool { return f.variant == "" }) {
			t.Errorf("%s has no golden file %s: add an example to the package's golden test and run it with %s=1",
				e.Name(), filepath.Join(Dir, e.Name()+".json"), UpdateEnv)
			continue
		}
		covered := map[string]bool{}
		for _, f := range mine {
			if v, ok := roundTrip(t, reg, e.Name(), f.path); ok {
				coveredPaths(reflect.ValueOf(v), "", covered, 0)
			}
		}
		var zero []string
		for _, p := range fieldPaths(e.GoType(), "", nil, 0) {
			if !covered[p] {
				zero = append(zero, p)
			}
		}
		if len(zero) > 0 {
			t.Errorf("%s: every golden file leaves %s zero; give each field a realistic non-zero value in one of them",
				e.Name(), strings.Join(zero, ", "))
		}
	}
}

// goldenFiles lists the golden directory and assigns each file to its registered type; a file that
// names no registered type fails the test.
func goldenFiles[E any](t *testing.T, entries []domain.Entry[E]) []goldenFile {
	dir, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenFile
	for _, d := range dir {
		stem, ok := strings.CutSuffix(d.Name(), ".json")
		best := -1
		for i, e := range entries {
			if ok && (stem == e.Name() || strings.HasPrefix(stem, e.Name()+".")) && (best < 0 || len(e.Name()) > len(entries[best].Name())) {
				best = i
			}
		}
		if best < 0 {
			t.Errorf("%s names no event type of the table", filepath.Join(Dir, d.Name()))
			continue
		}
		variant := strings.TrimPrefix(strings.TrimPrefix(stem, entries[best].Name()), ".")
		out = append(out, goldenFile{entry: best, variant: variant, path: filepath.Join(Dir, d.Name())})
	}
	return out
}

// roundTrip decodes a golden file through the table and checks that re-encoding gives the file back.
func roundTrip[E any](t *testing.T, reg *domain.Registry[E], name, path string) (E, bool) {
	var none E
	want, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return none, false
	}
	var stored bytes.Buffer
	if err := json.Compact(&stored, want); err != nil {
		t.Errorf("%s: %v", path, err)
		return none, false
	}
	v, err := reg.Decode(name, stored.Bytes())
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return none, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Errorf("%s: re-encode: %v", path, err)
		return none, false
	}
	if got := indent(b); !bytes.Equal(got, want) {
		t.Errorf("%s: decoding and re-encoding changed the stored JSON (a changed event shape needs a new event version):\n got %s\nwant %s",
			path, got, want)
	}
	return v, true
}

func writeMissing[E any](t *testing.T, reg *domain.Registry[E], examples []Example[E]) {
	for _, ex := range examples {
		name, ok := reg.NameOf(ex.Event)
		if !ok {
			continue // checkExamples reports it
		}
		file := name
		if ex.Variant != "" {
			file += "." + ex.Variant
		}
		path := filepath.Join(Dir, file+".json")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		b, err := json.Marshal(ex.Event)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.MkdirAll(Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, indent(b), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

// indent is the golden form of stored JSON: indented by two spaces, one trailing newline.
func indent(stored []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, stored, "", "  "); err != nil {
		return stored // not JSON: the comparison fails and shows it
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

const maxDepth = 8

// fieldPaths lists the JSON paths of every leaf field of t: "a.b" for nested structs, "a[]" for the
// elements of a slice, "a{}" for the values of a map. A struct without exported fields (time.Time)
// and a byte slice are leaves.
func fieldPaths(t reflect.Type, prefix string, out []string, depth int) []string {
	if depth > maxDepth {
		return out
	}
	switch t.Kind() {
	case reflect.Pointer:
		return fieldPaths(t.Elem(), prefix, out, depth+1)
	case reflect.Struct:
		fields := jsonFields(t)
		if len(fields) == 0 {
			return append(out, prefix)
		}
		for _, f := range fields {
			out = fieldPaths(f.typ, join(prefix, f.name), out, depth+1)
		}
		return out
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return append(out, prefix)
		}
		return fieldPaths(t.Elem(), prefix+"[]", out, depth+1)
	case reflect.Map:
		return fieldPaths(t.Elem(), prefix+"{}", out, depth+1)
	}
	return append(out, prefix)
}

// coveredPaths marks the paths of fieldPaths that hold a non-zero value in v.
func coveredPaths(v reflect.Value, prefix string, covered map[string]bool, depth int) {
	if depth > maxDepth || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			coveredPaths(v.Elem(), prefix, covered, depth+1)
		}
		return
	case reflect.Struct:
		fields := jsonFields(v.Type())
		if len(fields) == 0 {
			break
		}
		for _, f := range fields {
			coveredPaths(v.FieldByIndex(f.index), join(prefix, f.name), covered, depth+1)
		}
		return
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break
		}
		for i := range v.Len() {
			coveredPaths(v.Index(i), prefix+"[]", covered, depth+1)
		}
		return
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			coveredPaths(it.Value(), prefix+"{}", covered, depth+1)
		}
		return
	}
	if !v.IsZero() && (v.Kind() != reflect.Slice || v.Len() > 0) {
		covered[prefix] = true
	}
}

type jsonField struct {
	name  string
	typ   reflect.Type
	index []int
}

// jsonFields lists the fields encoding/json encodes (exported, not tagged "-"), named as in JSON.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || f.Anonymous && f.Type.Kind() == reflect.Struct && tag == "" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, index: f.Index})
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
