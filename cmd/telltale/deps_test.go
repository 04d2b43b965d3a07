package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// modulePath is the path of the Telltale module.
const modulePath = "github.com/telltale-dev/telltale"

// listedPackage holds the fields of `go list -json` that the repository tests use.
type listedPackage struct {
	ImportPath   string
	Name         string
	Dir          string
	Standard     bool
	DepOnly      bool
	GoFiles      []string
	CgoFiles     []string
	TestGoFiles  []string
	Imports      []string // direct imports of the non-test files
	Deps         []string // all transitive imports of the non-test files
	TestImports  []string
	XTestImports []string
}

// goList runs `go list -e -json=FIELDS args...` and returns the packages it
// lists. It skips the test if there is no go command.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipping: the go command is not available: %v", err)
	}
	fields := "ImportPath,Name,Dir,Standard,DepOnly,GoFiles,CgoFiles,TestGoFiles,Imports,Deps,TestImports,XTestImports"
	cmd := exec.Command(goCmd, append([]string{"list", "-e", "-json=" + fields}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: cannot decode its output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns the path of an import path inside the module ("storage",
// "ingest/statsd", "." for the root) and whether it is in the module.
func rel(importPath string) (string, bool) {
	if importPath == modulePath {
		return ".", true
	}
	r, ok := strings.CutPrefix(importPath, modulePath+"/")
	return r, ok
}

// matchPattern reports whether the module-relative path p matches pattern:
// "x/..." matches x and everything below it, "..." matches everything, and
// anything else matches itself.
func matchPattern(pattern, p string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

// TestDeps keeps the direction of imports honest (STYLE.md §6.2): imports
// flow cmd → api, ingest → aggregate → storage, and the pure parsers import
// only the standard library. Each forbidden edge carries its reason.
func TestDeps(t *testing.T) {
	pkgs := goList(t, "-deps", modulePath+"/...")

	const layers = "imports flow cmd → api, ingest → aggregate → storage (DESIGN.md §1)"
	// forbidden lists edges from module packages (module-relative patterns)
	// to other module packages, checked over all transitive dependencies.
	forbidden := []struct{ from, to, why string }{
		{"storage/...", "aggregate/...", "storage is the bottom layer and knows nothing of aggregation; " + layers},
		{"storage/...", "ingest/...", "storage is the bottom layer and knows nothing of wire formats; " + layers},
		{"storage/...", "api/...", "storage is the bottom layer and knows nothing of HTTP; " + layers},
		{"storage/...", "cmd/...", "nothing imports the binary"},
		{"aggregate/...", "ingest/...", "aggregate never sees a wire format: ingest converts parser output into aggregate calls; " + layers},
		{"aggregate/...", "api/...", "aggregate is on the write path and must not depend on the query side; " + layers},
		{"aggregate/...", "cmd/...", "nothing imports the binary"},
		{"ingest/...", "api/...", "ingest feeds aggregate and must not depend on the query side; " + layers},
		{"ingest/...", "cmd/...", "nothing imports the binary"},
		{"api/...", "ingest/...", "api reads storage and aggregate and must not depend on the write path's transports; " + layers},
		{"api/...", "cmd/...", "nothing imports the binary"},
		{"...", "storage/storagetest", "storagetest is a test helper (it imports testing); only _test.go files may use it"},
	}
	// stdlibOnly lists packages whose every dependency must be in the
	// standard library.
	stdlibOnly := map[string]string{
		"ingest/statsd":   "the statsd parser is pure: stdlib only, so it can be fuzzed, benchmarked and reused on its own (STYLE.md §6.1)",
		"ingest/envelope": "the Sentry envelope parser is pure: stdlib only, so it can be fuzzed, benchmarked and reused on its own (STYLE.md §6.1)",
	}
	// binaryForbidden lists packages the server binary must not link.
	binaryForbidden := map[string]string{
		"testing": "the server binary must not link the testing package: test code and its flags have no place in production",
	}
	// bannedImports lists modules no package (nor its tests) may import.
	bannedImports := map[string]string{
		"github.com/pkg/errors":       "use the standard errors and fmt packages (STYLE.md §5)",
		"github.com/stretchr/testify": "tests use the standard testing package only (STYLE.md §5)",
	}

	standard := make(map[string]bool)
	deps := make(map[string][]string)
	for _, p := range pkgs {
		standard[p.ImportPath] = p.Standard
		deps[p.ImportPath] = p.Deps
	}
	// via names the direct import of p through which p depends on dep.
	via := func(p listedPackage, dep string) string {
		for _, imp := range p.Imports {
			if imp == dep {
				return ""
			}
		}
		for _, imp := range p.Imports {
			if slices.Contains(deps[imp], dep) {
				return " (via " + imp + ")"
			}
		}
		return ""
	}

	var checked int
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok || p.DepOnly {
			continue
		}
		checked++

		for _, dep := range p.Deps {
			to, ok := rel(dep)
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if matchPattern(f.from, from) && matchPattern(f.to, to) && from != to {
					t.Errorf("%s must not depend on %s%s: %s", from, to, via(p, dep), f.why)
				}
			}
		}

		// The standard library imports only itself, so checking the direct
		// imports covers every dependency.
		if why, ok := stdlibOnly[from]; ok {
			for _, imp := range p.Imports {
				if !standard[imp] {
					t.Errorf("%s must not import %s: %s", from, imp, why)
				}
			}
		}

		if from == "cmd/telltale" {
			for _, dep := range p.Deps {
				if why, ok := binaryForbidden[dep]; ok {
					t.Errorf("%s must not depend on %s%s: %s", from, dep, via(p, dep), why)
				}
			}
		}

		// Only storage may import Badger. This is a rule on direct imports:
		// everything above storage depends on Badger through it.
		if from != "storage" {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, "github.com/dgraph-io/badger") {
					t.Errorf("%s must not import %s: storage is the only package that imports Badger, so the key layout has one owner (DESIGN.md §3)", from, imp)
				}
			}
		}

		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			for banned, why := range bannedImports {
				if imp == banned || strings.HasPrefix(imp, banned+"/") {
					t.Errorf("%s (or its tests) must not import %s: %s", from, imp, why)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("go list found no packages in %s", modulePath)
	}
}

func TestDepsMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"storage/...", "storage", true},
		{"storage/...", "storage/storagetest", true},
		{"storage/...", "storagex", false},
		{"storage", "storage/storagetest", false},
		{"...", "api/ui", true},
		{"ingest/statsd", "ingest/statsd", true},
	} {
		if got := matchPattern(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPattern(%q, %q): got %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
