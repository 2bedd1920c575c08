package awssim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFidelityTableNamesRealTests keeps docs/awssim.md's fidelity table
// honest: every test it names as pinning a behaviour exists in the
// repository, so a renamed or deleted test cannot leave a row pointing at
// nothing.
func TestFidelityTableNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("../docs/awssim.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## Fidelity table")
	if !ok {
		t.Fatal("docs/awssim.md has no fidelity table")
	}
	if i := strings.Index(table, "\n## "); i >= 0 {
		table = table[:i]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(table, -1) {
		named[m[1]] = true
	}
	if len(named) < 20 {
		t.Fatalf("fidelity table names only %d tests", len(named))
	}
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	err = filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range named {
		if !defined[name] {
			t.Errorf("docs/awssim.md fidelity table names %s, which no test file defines", name)
		}
	}
}
