package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Limits of product code (issue 8): a function reads in one screen, a type is not a god object.
const (
	maxFuncLines   = 80
	maxTypeMethods = 25
)

// routeTable names the functions that are tables of routes (a slice's Operations, the old *Ops
// tables) or of DDL (a projection's Setup): long because they list, not because they decide.
var routeTable = regexp.MustCompile(`^(Operations|[a-z][A-Za-z]*Ops|Setup)$`)

// oversized are the functions and types over the limits that are still to be split, each with where
// it stands; the test fails when one of them fits the limits, so that the list stays true.
var oversized = map[string]string{}

// TestSizes parses the module's product code and fails on a function over maxFuncLines lines (route
// and DDL tables excepted) or a type with more than maxTypeMethods methods.
func TestSizes(t *testing.T) {
	fset := token.NewFileSet()
	methods := map[string]int{}
	found := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../"))
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if fd.Recv != nil {
				methods[filepath.Dir(rel)+"."+receiverName(fd.Recv.List[0].Type)]++
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if lines <= maxFuncLines || routeTable.MatchString(fd.Name.Name) {
				continue
			}
			key := rel + ":" + fd.Name.Name
			found[key] = true
			if _, ok := oversized[key]; !ok {
				t.Errorf("%s is %d lines (at most %d): split it", key, lines, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for typ, n := range methods {
		if n <= maxTypeMethods {
			continue
		}
		found[typ] = true
		if _, ok := oversized[typ]; !ok {
			t.Errorf("type %s has %d methods (at most %d): split it", typ, n, maxTypeMethods)
		}
	}
	for k := range oversized {
		if !found[k] {
			t.Errorf("%s is within the limits now: remove it from oversized", k)
		}
	}
}

func receiverName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.IndexListExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}
