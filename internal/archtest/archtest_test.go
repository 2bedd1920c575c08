package archtest

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/driftd/driftd"

// layers ranks the tree's packages, lowest first; a package may import
// only packages of lower layers, or of its own layer and component (its own
// subpackages or parent). The longest matching prefix decides.
//
//	0  the domain and leaf helpers: drift, drift/*, internal/{buildinfo,
//	   outbound,sdkhttp,apicost,testenv}, awssim/wire, deploy/promexpr
//	1  the scan contract, configuration and state: scan, internal/config,
//	   internal/state; the simulated region (awssim)
//	2  what gathers facts: collectors, collectors/*
//	3  what acts on scans, and the AWS client constructors: alerting,
//	   remediation, configrule, internal/awsclients
//	4  the lifecycle that wires them: internal/daemon; the operator page
//	   (internal/ui), which reads state, scans and remediation through
//	   interfaces and is mounted by the commands
//	5  programs and their tests: cmd/*, e2e, deploy/*
var layers = map[string]int{
	"drift": 0, "internal/buildinfo": 0, "internal/outbound": 0, "internal/sdkhttp": 0, "internal/apicost": 0,
	"internal/testenv": 0, "awssim/wire": 0, "deploy/promexpr": 0, "internal/durable": 0,
	"scan": 1, "internal/config": 1, "internal/state": 1, "awssim": 1, "internal/ha": 1,
	"collectors": 2,
	"alerting":   3, "remediation": 3, "configrule": 3, "internal/awsclients": 3,
	"internal/daemon": 4, "internal/ha/fenced": 4, "internal/ui": 4,
	"cmd": 5, "e2e": 5, "deploy": 5, "internal/archtest": 5,
}

// layerOf returns the layer and the component (the matching prefix) of a
// module-relative package path.
func layerOf(p string) (int, string, bool) {
	best := ""
	for prefix := range layers {
		if (p == prefix || strings.HasPrefix(p, prefix+"/")) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return 0, "", false
	}
	return layers[best], best, true
}

// pkg is one package of the tree with its non-test imports.
type pkg struct {
	path    string   // module-relative
	imports []string // everything imported, module packages module-relative
}

// loadTree reads the imports of every package of the module (the go tool's
// view for this platform: build constraints apply; test files are left out).
func loadTree(t *testing.T) []pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(b), "module "+module+"\n") {
		t.Fatalf("%s is not the module root (%v)", root, err)
	}
	var out []pkg
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if n := d.Name(); path != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
			return filepath.SkipDir
		}
		bp, err := build.ImportDir(path, 0)
		if err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		p := pkg{path: filepath.ToSlash(rel)}
		for _, imp := range bp.Imports {
			p.imports = append(p.imports, strings.TrimPrefix(imp, module+"/"))
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("only %d packages found under %s", len(out), root)
	}
	return out
}

func isModule(imp string) bool {
	return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !isStd(imp)
}

// isStd reports whether imp is a standard library package: the module's
// packages are module-relative here and named after the tree's top-level
// directories.
func isStd(imp string) bool {
	_, _, ok := layerOf(imp)
	return !ok && !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
}

// TestEveryImportPointsDown: no package imports a package of a higher
// layer, nor another component of its own layer.
func TestEveryImportPointsDown(t *testing.T) {
	v := upward(loadTree(t))
	for _, s := range v {
		t.Error(s)
	}
	t.Logf("imports running back up: %d", len(v))
}

// TestImportRules are the rules the layers alone do not say.
func TestImportRules(t *testing.T) {
	for _, s := range ruleViolations(loadTree(t)) {
		t.Error(s)
	}
}

// TestRulesCatchViolations: each rule reports a tree that breaks it.
func TestRulesCatchViolations(t *testing.T) {
	bad := []pkg{
		{path: "drift", imports: []string{"os", "github.com/aws/aws-sdk-go-v2/aws"}},
		{path: "scan", imports: []string{"time", "drift", "internal/config"}},
		{path: "collectors/datasync", imports: []string{"alerting"}},
		{path: "remediation", imports: []string{"collectors", "internal/daemon"}},
		{path: "alerting", imports: []string{"remediation"}},
		{path: "awssim/s3", imports: []string{"internal/config"}},
		{path: "awssim", imports: []string{"internal/sdkhttp"}},
		{path: "internal/awsclients", imports: []string{"internal/daemon"}},
		{path: "unlisted", imports: nil},
	}
	got := append(upward(bad), ruleViolations(bad)...)
	for _, want := range []string{
		`drift imports os`, `drift imports github.com/aws/aws-sdk-go-v2/aws`, `scan imports internal/config`,
		`collectors/datasync (layer 2) imports alerting (layer 3)`, `collectors/datasync imports alerting: collectors gather`,
		`remediation imports collectors: an engine`, `remediation (layer 3) imports internal/daemon (layer 4)`,
		`alerting imports remediation: two components`, `awssim/s3 imports internal/config: the simulated region`,
		`awssim imports internal/sdkhttp: the simulated region`,
		`internal/awsclients imports internal/daemon: only the commands`, `unlisted: not in the layer table`,
	} {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no violation %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// upward lists the imports that point up the layers or across components
// of one layer, and the packages the layer table does not place.
func upward(tree []pkg) []string {
	var out []string
	for _, p := range tree {
		pl, pc, ok := layerOf(p.path)
		if !ok {
			out = append(out, fmt.Sprintf("%s: not in the layer table of this test; add it where it belongs", p.path))
			continue
		}
		for _, imp := range p.imports {
			il, ic, ok := layerOf(imp)
			switch {
			case !ok:
				// standard library or another module
			case il > pl:
				out = append(out, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports must point down", p.path, pl, imp, il))
			case il == pl && ic != pc:
				out = append(out, fmt.Sprintf("%s imports %s: two components of layer %d must not know each other", p.path, imp, pl))
			}
		}
	}
	return out
}

func under(p string, prefixes ...string) bool {
	for _, prefix := range prefixes {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// ruleViolations checks the rules of particular packages.
func ruleViolations(tree []pkg) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, p := range tree {
		for _, imp := range p.imports {
			switch {
			case under(p.path, "drift") && under(imp, "github.com/aws", "go.uber.org/zap", "github.com/prometheus", "net/http", "os"):
				bad("%s imports %s: the domain does no I/O, logging or metrics (drift/purity_test.go checks the clock too)", p.path, imp)
			case p.path == "scan" && !isStd(imp) && imp != "drift":
				bad("%s imports %s: the scan contract depends on the domain (drift) and the standard library only", p.path, imp)
			case under(p.path, "collectors") && under(imp, "alerting", "remediation", "internal/daemon"):
				bad("%s imports %s: collectors gather facts and know nothing of what acts on them", p.path, imp)
			case under(p.path, "alerting", "remediation", "configrule") && under(imp, "collectors", "internal/daemon"):
				bad("%s imports %s: an engine reads scan results (package scan), not collectors or the daemon", p.path, imp)
			case under(p.path, "awssim") && isModule(imp) && !under(imp, "awssim", "drift"):
				bad("%s imports %s: the simulated region knows no daemon package", p.path, imp)
			}
			if under(imp, "internal/daemon") && !under(p.path, "cmd", "internal/daemon") {
				bad("%s imports %s: only the commands (cmd/) start a daemon", p.path, imp)
			}
		}
	}
	return out
}

// TestLayerTableIsExact: every prefix of the layer table names packages of
// the tree, so the table cannot rot into rules about nothing.
func TestLayerTableIsExact(t *testing.T) {
	tree := loadTree(t)
	var unused []string
	for prefix := range layers {
		found := false
		for _, p := range tree {
			if p.path == prefix || strings.HasPrefix(p.path, prefix+"/") {
				found = true
				break
			}
		}
		if !found {
			unused = append(unused, prefix)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("layer table entries without packages: %v", unused)
	}
}
