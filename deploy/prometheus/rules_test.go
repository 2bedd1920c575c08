// Package prometheus holds driftd's Prometheus alerting and recording rules.
// The tests run promtool over them and check every alert is documented,
// linked to its runbook and unit-tested both firing and not firing.
package prometheus

import (
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/deploy/promexpr"
)

var ruleFiles = []string{"alerts.yml", "recording.yml"}

func TestPromtoolCheckRules(t *testing.T) {
	pt := promexpr.Promtool(t)
	out, err := exec.Command(pt, append([]string{"check", "rules"}, ruleFiles...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestPromtoolTestRules(t *testing.T) {
	pt := promexpr.Promtool(t)
	out, err := exec.Command(pt, "test", "rules", "alerts_test.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules did not report SUCCESS:\n%s", out)
	}
}

// runbookAnchors returns the GitHub anchors of the headings in docs/runbooks.md.
func runbookAnchors(t *testing.T) map[string]bool {
	b, err := os.ReadFile("../../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	strip := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.ReplaceAll(strip.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return anchors
}

const runbookBase = "https://github.com/driftd/driftd/blob/main/docs/runbooks.md#"

func TestAlertsAnnotatedAndLinked(t *testing.T) {
	rf, err := promexpr.LoadRules("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	anchors := runbookAnchors(t)
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("alerts.yml holds a recording rule %q; put it in recording.yml", r.Record)
				continue
			}
			n++
			for _, k := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[k]) == "" {
					t.Errorf("alert %s: annotation %s missing", r.Alert, k)
				}
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("alert %s: severity label %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			u := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(u, runbookBase)
			if !ok {
				t.Errorf("alert %s: runbook_url %q does not start with %s", r.Alert, u, runbookBase)
			} else if anchor != strings.ToLower(r.Alert) {
				t.Errorf("alert %s: runbook anchor %q, want %q", r.Alert, anchor, strings.ToLower(r.Alert))
			} else if !anchors[anchor] {
				t.Errorf("alert %s: docs/runbooks.md has no heading for anchor #%s", r.Alert, anchor)
			}
		}
	}
	// The alerts the deployment promises (see docs/runbooks.md).
	want := []string{"DriftdBaselineErrors", "DriftdCircuitBreakerOpen", "DriftdCollectorFailing", "DriftdConfigReloadFailed",
		"DriftdDown", "DriftdDriftedInstances", "DriftdInventoryStale", "DriftdKillSwitchEngaged",
		"DriftdNotificationFailures", "DriftdRemediationFailures", "DriftdRemediationGroupStateUnknown", "DriftdScansFailing", "DriftdScansStale"}
	var got []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			got = append(got, r.Alert)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("alerts = %v\nwant     %v", got, want)
	}
	if n == 0 {
		t.Fatal("no alerts")
	}
}

type unitTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertUnitTested checks alerts_test.yml has, for every alert, a
// case where it fires and one where it does not.
func TestEveryAlertUnitTested(t *testing.T) {
	b, err := os.ReadFile("alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	var ut unitTests
	if err := yaml.Unmarshal(b, &ut); err != nil {
		t.Fatal(err)
	}
	firing, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range ut.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	exprs, err := promexpr.RuleExprs("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exprs {
		if !firing[e.Alert] {
			t.Errorf("alert %s has no firing case in alerts_test.yml", e.Alert)
		}
		if !silent[e.Alert] {
			t.Errorf("alert %s has no not-firing case in alerts_test.yml", e.Alert)
		}
	}
	if strings.Join(ut.RuleFiles, ",") != strings.Join(ruleFiles, ",") {
		t.Errorf("alerts_test.yml rule_files = %v, want %v", ut.RuleFiles, ruleFiles)
	}
}

// TestRulesUseKnownMetrics catches typos in metric names: every driftd_*
// name must be a metric driftd exports.
func TestRulesUseKnownMetrics(t *testing.T) {
	exprs, err := promexpr.RuleExprs(ruleFiles...)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exprs {
		if u := promexpr.UnknownMetrics(e.Expr); len(u) > 0 {
			t.Errorf("%s: unknown metrics %v", e.Source, u)
		}
	}
}
