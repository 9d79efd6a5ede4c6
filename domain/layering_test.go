package domain_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/belfry/belfry/"

// allowedBreaks are the arrows against the rule that exist today and are to be removed by the house
// issue (issue 8). The test fails when one disappears too, so that the list stays true.
var allowedBreaks = map[string]bool{}

// layerOf names the top-level layer of a package path inside the module.
func layerOf(pkg string) string {
	l, _, _ := strings.Cut(strings.TrimPrefix(pkg, module), "/")
	return l
}

// forbidden reports why an import from one package of the module to another breaks the layering:
// domain imports only the standard library and domain; projections never import api, infra or cmd;
// infra never imports api or cmd; api never imports infra or cmd.
func forbidden(from, to string) string {
	switch lf, lt := layerOf(from), layerOf(to); {
	case lf == "domain" && lt != "domain":
		return "domain imports only domain and the standard library"
	case lf == "projections" && (lt == "api" || lt == "infra" || lt == "cmd"):
		return "projections import only domain and projections"
	case lf == "infra" && (lt == "api" || lt == "cmd"):
		return "infra never imports api or cmd"
	case lf == "api" && (lt == "infra" || lt == "cmd"):
		return "api never imports infra or cmd"
	}
	return ""
}

type listed struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// TestLayering reads the module's imports with `go list` and fails on any arrow against the rule.
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "../...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	seen := map[string]bool{}
	var problems []string
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				if layerOf(p.ImportPath) == "domain" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					problems = append(problems, p.ImportPath+" imports "+imp+": domain imports only the standard library")
				}
				continue
			}
			why := forbidden(p.ImportPath, imp)
			if why == "" {
				continue
			}
			arrow := strings.TrimPrefix(p.ImportPath, module) + " -> " + strings.TrimPrefix(imp, module)
			seen[arrow] = true
			if !allowedBreaks[arrow] {
				problems = append(problems, arrow+": "+why)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for arrow := range allowedBreaks {
		if !seen[arrow] {
			problems = append(problems, arrow+" is gone: remove it from allowedBreaks")
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}
