package doctest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/alerting"
)

// docs returns README.md and docs/*.md, repository-relative, with their text.
func docs(t *testing.T, root string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range append(files, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		out[rel] = string(data)
	}
	return out
}

var registeredRe = regexp.MustCompile(`Name:\s*"(driftd_[a-z0-9_]+)"`)

// registeredMetrics are the metric names the program registers (its Go
// sources, tests left out).
func registeredMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range registeredRe.FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 20 {
		t.Fatalf("only %d registered metrics found: %v", len(names), names)
	}
	return names
}

var docMetricRe = regexp.MustCompile(`[a-z:]*driftd_[a-z0-9_]+\*?`)

// TestMetricsDocumented: every metric driftd registers is described in the
// metrics reference (metrics.md, or remediation.md/alerting.md for theirs),
// and every metric the docs name is one driftd registers (or a series of
// one, or a recording rule).
func TestMetricsDocumented(t *testing.T) {
	root := repoRoot(t)
	reg := registeredMetrics(t, root)
	all := docs(t, root)
	ref := all["docs/metrics.md"] + all["docs/remediation.md"] + all["docs/alerting.md"]
	for n := range reg {
		if !strings.Contains(ref, "`"+n+"`") {
			t.Errorf("%s is registered but not described in docs/metrics.md, remediation.md or alerting.md", n)
		}
	}
	files := make([]string, 0, len(all))
	for f := range all {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		for _, m := range docMetricRe.FindAllString(all[f], -1) {
			if strings.Contains(m, ":") { // a recording rule (level:metric:operations)
				continue
			}
			if prefix, ok := strings.CutSuffix(m, "*"); ok {
				found := false
				for n := range reg {
					found = found || strings.HasPrefix(n, prefix)
				}
				if !found {
					t.Errorf("%s names %s, and no registered metric starts so", f, m)
				}
				continue
			}
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(m, suffix); ok && reg[b] {
					base = b
				}
			}
			if !reg[base] {
				t.Errorf("%s names the metric %s, which driftd does not register", f, m)
			}
		}
	}
}

var alertNameRe = regexp.MustCompile(`\bDriftd[A-Z][A-Za-z]+\b`)

// TestAlertsNamedExist: every alert the docs name is shipped in
// deploy/prometheus/alerts.yml (or is the alert driftd sends Alertmanager
// itself).
func TestAlertsNamedExist(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	shipped := map[string]bool{alerting.AlertnameDrifted: true}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				shipped[r.Alert] = true
			}
		}
	}
	if len(shipped) < 5 {
		t.Fatalf("only %d alerts read from alerts.yml", len(shipped))
	}
	for f, text := range docs(t, root) {
		for _, n := range alertNameRe.FindAllString(text, -1) {
			if !shipped[n] {
				t.Errorf("%s names the alert %s, which is not shipped (deploy/prometheus/alerts.yml)", f, n)
			}
		}
	}
}

var (
	linkRe = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)
	// pathRe: a backticked repository path with a file extension.
	pathRe = regexp.MustCompile("`((?:awssim|cmd|collectors|deploy|docs|drift|e2e|examples|internal|remediation|alerting|scan)/[A-Za-z0-9_./-]+\\.[a-z]{1,5})`")
)

// TestFilesCitedExist: the files the docs link to or cite by repository
// path are in the repository.
func TestFilesCitedExist(t *testing.T) {
	root := repoRoot(t)
	links, paths := 0, 0
	defer func() { t.Logf("%d links and %d cited paths checked", links, paths) }()
	for f, text := range docs(t, root) {
		dir := filepath.Dir(filepath.Join(root, f))
		for _, m := range linkRe.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
			}
		}
		for _, m := range pathRe.FindAllStringSubmatch(text, -1) {
			paths++
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s cites %s, which is not in the repository", f, m[1])
			}
		}
	}
}
