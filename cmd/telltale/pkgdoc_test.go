package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs checks that every package in the module has exactly one
// package comment (STYLE.md §6.7), and that a library package's comment
// starts with "Package <name> ". Long comments go in a doc.go.
func TestPackageDocs(t *testing.T) {
	pkgs := goList(t, modulePath+"/...")
	var checked int
	for _, p := range pkgs {
		path, ok := rel(p.ImportPath)
		if !ok || p.Dir == "" {
			continue
		}
		checked++
		files := append(append([]string(nil), p.GoFiles...), p.CgoFiles...)
		if len(files) == 0 {
			// A package of tests only (such as bench): its doc lives in a
			// _test.go file of the package itself.
			files = p.TestGoFiles
		}
		fset := token.NewFileSet()
		var withDoc []string
		var doc string
		for _, name := range files {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if f.Doc != nil {
				withDoc = append(withDoc, name)
				doc = f.Doc.Text()
			}
		}
		switch {
		case len(withDoc) == 0:
			t.Errorf("package %s (%s) has no package comment: add one (long ones go in doc.go)", path, p.Name)
		case len(withDoc) > 1:
			t.Errorf("package %s (%s) has package comments in %s: keep exactly one", path, p.Name, strings.Join(withDoc, ", "))
		case p.Name != "main" && !strings.HasPrefix(doc, "Package "+p.Name+" "):
			t.Errorf("package %s: the package comment in %s starts %q, want it to start with \"Package %s \"", path, withDoc[0], firstLine(doc), p.Name)
		}
	}
	if checked == 0 {
		t.Fatalf("go list found no packages in %s", modulePath)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
