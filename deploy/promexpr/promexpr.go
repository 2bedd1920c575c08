// Package promexpr extracts the PromQL expressions shipped in deploy/ (rule
// files and the Grafana dashboard) and checks them with promtool, so the
// deploy tests and the end-to-end test share one definition of "every
// expression we ship".
package promexpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Expr is one PromQL expression and where it comes from.
type Expr struct {
	Source string // e.g. "alerts.yml: alert DriftdScansStale" or "driftd.json: panel \"Fleet drift\" ref A"
	Expr   string // as written (may hold Grafana variables)
	// For is the alert's for duration (rules only).
	For string
	// Alert or Record name (rules only).
	Alert, Record string
}

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one group of rules.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is one alerting or recording rule.
type Rule struct {
	Alert       string            `yaml:"alert,omitempty"`
	Record      string            `yaml:"record,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// LoadRules strictly decodes a rule file.
func LoadRules(path string) (*RuleFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rf RuleFile
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rf, nil
}

// RuleExprs returns the expressions of every rule in the files.
func RuleExprs(paths ...string) ([]Expr, error) {
	var out []Expr
	for _, p := range paths {
		rf, err := LoadRules(p)
		if err != nil {
			return nil, err
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				src := filepath.Base(p) + ": record " + r.Record
				if r.Alert != "" {
					src = filepath.Base(p) + ": alert " + r.Alert
				}
				out = append(out, Expr{Source: src, Expr: strings.TrimSpace(r.Expr), For: r.For, Alert: r.Alert, Record: r.Record})
			}
		}
	}
	return out, nil
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"` // collapsed rows
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// DashboardExprs returns every PromQL expression of a Grafana dashboard:
// panel targets (rows included) and query variables (label_values(...) is
// reduced to its metric selector).
func DashboardExprs(path string) ([]Expr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseDashboard(b, path)
}

// ParseDashboard is DashboardExprs over a document; path names it in
// sources and errors.
func ParseDashboard(b []byte, path string) ([]Expr, error) {
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Base(path)
	var out []Expr
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) == "" {
					continue
				}
				out = append(out, Expr{Source: fmt.Sprintf("%s: panel %q ref %s", base, p.Title, t.RefID), Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, fmt.Errorf("%s: variable %s: query is neither a string nor {query}", path, v.Name)
			}
			q = obj.Query
		}
		if e, ok := VariableSelector(q); ok {
			out = append(out, Expr{Source: fmt.Sprintf("%s: variable %s", base, v.Name), Expr: e})
		}
	}
	return out, nil
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
var queryResultRe = regexp.MustCompile(`^\s*query_result\(\s*(.+)\s*\)\s*$`)

// VariableSelector returns the PromQL inside a Grafana query variable
// (label_values(selector, label) or query_result(expr)).
func VariableSelector(q string) (string, bool) {
	if m := labelValuesRe.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	if m := queryResultRe.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	return "", false
}

// Grafana variables substituted before an expression is evaluated outside
// Grafana. $asg, $job, $account and $region are used only with =~, so ".*"
// selects every series (also those without the label).
var grafanaVars = strings.NewReplacer(
	"${job}", ".*",
	"$job", ".*",
	"${account}", ".*",
	"$account", ".*",
	"${region}", ".*",
	"$region", ".*",
	"$__rate_interval", "1m",
	"${__rate_interval}", "1m",
	"$__interval", "15s",
	"${__interval}", "15s",
	"$__range", "1h",
	"${__range}", "1h",
	"${asg:regex}", ".*",
	"${asg}", ".*",
	"$asg", ".*",
)

// Resolve substitutes the dashboard's Grafana variables with values valid
// outside Grafana.
func Resolve(expr string) string { return grafanaVars.Replace(expr) }

// MetricNames returns the driftd_* metric names an expression refers to.
func MetricNames(expr string) []string {
	return metricRe.FindAllString(expr, -1)
}

var metricRe = regexp.MustCompile(`\bdriftd_[a-z0-9_]+\b`)

// Promtool returns the path of promtool. When it is absent the test is
// skipped with a visible message, unless CI is set, when it fails.
func Promtool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("promtool not found and CI is set: apt-get install -y prometheus")
	}
	t.Skip("SKIP: promtool not installed (apt-get install -y prometheus); PromQL not checked")
	return ""
}

// CheckParse parses every expression with promtool by writing them as
// recording rules to a temporary rule file and running `promtool check
// rules`. It returns an error naming the source of each bad expression.
func CheckParse(promtool, dir string, exprs []Expr) error {
	rf := RuleFile{}
	for i, e := range exprs {
		rf.Groups = append(rf.Groups, RuleGroup{
			Name:  fmt.Sprintf("g%d", i),
			Rules: []Rule{{Record: fmt.Sprintf("check:expr_%d", i), Expr: Resolve(e.Expr)}},
		})
	}
	b, err := yaml.Marshal(rf)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "parse-check.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err == nil {
		return nil
	}
	// Name the sources of the groups promtool complains about.
	var errs []error
	for i, e := range exprs {
		if bytes.Contains(out, []byte(fmt.Sprintf("group \"g%d\"", i))) || bytes.Contains(out, []byte(fmt.Sprintf("check:expr_%d\"", i))) {
			errs = append(errs, fmt.Errorf("%s: does not parse: %s", e.Source, e.Expr))
		}
	}
	errs = append(errs, fmt.Errorf("promtool check rules: %v\n%s", err, out))
	return errors.Join(errs...)
}

// KnownMetrics are the metric names driftd exposes (the contract in the
// project brief). Histograms list their base name.
var KnownMetrics = map[string]string{
	"driftd_instances":                              "gauge",
	"driftd_findings":                               "gauge",
	"driftd_inventory_age_seconds":                  "gauge",
	"driftd_scan_duration_seconds":                  "histogram",
	"driftd_scans_total":                            "counter",
	"driftd_last_successful_scan_timestamp_seconds": "gauge",
	"driftd_collector_success":                      "gauge",
	"driftd_collector_duration_seconds":             "gauge",
	"driftd_collector_errors_total":                 "counter",
	"driftd_aws_api_calls_total":                    "counter",
	"driftd_config_reloads_total":                   "counter",
	"driftd_config_last_reload_successful":          "gauge",
	"driftd_baseline_errors_total":                  "counter",
	"driftd_build_info":                             "gauge",
	"driftd_remediations_total":                     "counter",
	"driftd_remediation_budget_remaining":           "gauge",
	"driftd_circuit_open":                           "gauge",
	"driftd_killswitch_engaged":                     "gauge",
	"driftd_remediation_blocked":                    "gauge",
	"driftd_notifications_total":                    "counter",
	"driftd_notification_failures_total":            "counter",
	"driftd_state_save_failures_total":              "counter",
	"driftd_state_recovered":                        "gauge",
	"driftd_leader":                                 "gauge",
	"driftd_leader_fence_token":                     "gauge",
	"driftd_leader_lease_renew_failures_total":      "counter",
}

// UnknownMetrics returns the driftd_* names in expr that are not driftd
// metrics (histogram _bucket/_sum/_count series count as their base).
func UnknownMetrics(expr string) []string {
	var out []string
	for _, n := range MetricNames(expr) {
		if _, ok := KnownMetrics[n]; ok {
			continue
		}
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(n, suf) {
				base = strings.TrimSuffix(n, suf)
			}
		}
		if KnownMetrics[base] == "histogram" {
			continue
		}
		out = append(out, n)
	}
	return out
}

// StripThreshold returns the left-hand side of an alert expression's
// top-level comparison (`X > 0` → `X`), so a test can check the series an
// alert watches exist even while the alert does not fire. Expressions
// without a top-level comparison are returned unchanged.
func StripThreshold(expr string) string {
	depth := 0
	var quote rune
	cut := -1
	rs := []rune(expr)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '>', '<', '=', '!':
			if depth != 0 {
				continue
			}
			// = alone is not a comparison at top level (only inside {}), but
			// ==, !=, >=, <=, >, < are.
			if c == '=' && (i+1 >= len(rs) || rs[i+1] != '=') {
				continue
			}
			if c == '!' && (i+1 >= len(rs) || rs[i+1] != '=') {
				continue
			}
			cut = i
			return strings.TrimSpace(string(rs[:cut]))
		}
	}
	return strings.TrimSpace(expr)
}
