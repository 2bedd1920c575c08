package drift_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden imports for the pure packages (prefix match on the import path).
var forbiddenImports = []string{
	"os", "os/exec", "os/signal", "net", "net/http", "io/fs", "io/ioutil", "syscall", "unsafe",
	"log", "log/slog", "go.uber.org/zap", "github.com/prometheus/",
	"github.com/aws/", "embed", "path/filepath", "math/rand", "crypto/rand", "time/tzdata",
}

func forbidden(imp string) bool {
	for _, f := range forbiddenImports {
		if strings.HasSuffix(f, "/") {
			if strings.HasPrefix(imp, f) {
				return true
			}
		} else if imp == f || strings.HasPrefix(imp, f+"/") {
			return true
		}
	}
	return false
}

// purityViolations parses every non-test Go file of dir and reports
// forbidden imports and uses of the wall clock (time.Now, time.Since, ...).
func purityViolations(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		n++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil, err
		}
		timeName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden(p) {
				out = append(out, fmt.Sprintf("%s imports %q: the package must stay pure (no I/O, SDK, logger, metrics)", fset.Position(imp.Pos()), p))
			}
			if p == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		if timeName == "" {
			continue
		}
		ast.Inspect(f, func(nd ast.Node) bool {
			sel, ok := nd.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName {
				switch sel.Sel.Name {
				case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
					out = append(out, fmt.Sprintf("%s uses time.%s: the engine must not read the wall clock (use Policy.Now)", fset.Position(sel.Pos()), sel.Sel.Name))
				}
			}
			return true
		})
	}
	if n == 0 {
		return nil, fmt.Errorf("no Go files found in %s", dir)
	}
	return out, nil
}

func TestPurity(t *testing.T) {
	for _, dir := range pureDirs() {
		// drift/manifest decodes bytes; it may use io.Reader but nothing
		// that opens files or sockets.
		v, err := purityViolations(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range v {
			t.Error(s)
		}
	}
}

func TestPurityDetectsViolations(t *testing.T) {
	for _, src := range []string{
		"package x\nimport \"os\"\nvar _ = os.Args",
		"package x\nimport \"time\"\nvar _ = time.Now()",
		"package x\nimport tm \"time\"\nvar _ = tm.Since(tm.Time{})",
		"package x\nimport \"go.uber.org/zap\"\nvar _ *zap.Logger",
		"package x\nimport \"github.com/aws/aws-sdk-go-v2/service/ec2\"\nvar _ ec2.Client",
		"package x\nimport \"net/http\"\nvar _ http.Client",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := purityViolations(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 1 {
			t.Errorf("purity check found %d violations, want 1, in:\n%s", len(v), src)
		}
	}
}

// pureDirs lists the pure package directories that exist.
func pureDirs() []string {
	dirs := []string{"."}
	if m, _ := filepath.Glob(filepath.Join("manifest", "*.go")); len(m) > 0 {
		dirs = append(dirs, "manifest")
	}
	return dirs
}
