package promexpr

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCheckParse(t *testing.T) {
	pt := Promtool(t)
	good := []Expr{{Source: "a", Expr: `sum by (asg) (rate(driftd_scans_total[$__rate_interval]))`}, {Source: "b", Expr: `driftd_instances{asg=~"$asg"}`}}
	if err := CheckParse(pt, t.TempDir(), good); err != nil {
		t.Fatalf("good expressions rejected: %v", err)
	}
	bad := append(good, Expr{Source: "panel X", Expr: `sum(rate(driftd_scans_total[5m])`})
	err := CheckParse(pt, t.TempDir(), bad)
	if err == nil {
		t.Fatal("unbalanced parenthesis accepted")
	}
	if !strings.Contains(err.Error(), "panel X: does not parse") {
		t.Errorf("error does not name the source: %v", err)
	}
}

func TestDashboardExprs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.json")
	doc := `{"panels":[{"title":"A","targets":[{"refId":"A","expr":"up"},{"refId":"B","expr":""}]},
	 {"title":"Row","type":"row","panels":[{"title":"Inner","targets":[{"refId":"A","expr":"driftd_instances"}]}]}],
	 "templating":{"list":[{"name":"datasource","type":"datasource","query":"prometheus"},
	   {"name":"asg","type":"query","query":{"query":"label_values(driftd_instances, asg)","refId":"x"}},
	   {"name":"ami","type":"query","query":"label_values(driftd_instances{asg=~\"$asg\"}, ami)"}]}}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DashboardExprs(p)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, e := range got {
		exprs = append(exprs, e.Source+" => "+e.Expr)
	}
	want := []string{
		`d.json: panel "A" ref A => up`,
		`d.json: panel "Inner" ref A => driftd_instances`,
		`d.json: variable asg => driftd_instances`,
		`d.json: variable ami => driftd_instances{asg=~"$asg"}`,
	}
	if !reflect.DeepEqual(exprs, want) {
		t.Errorf("got %q\nwant %q", exprs, want)
	}
}

func TestUnknownMetrics(t *testing.T) {
	tests := map[string][]string{
		`rate(driftd_scan_duration_seconds_bucket[5m])`:             nil,
		`driftd_instances / driftd_instance`:                        {"driftd_instance"},
		`sum(driftd_scans_total) + driftd_collector_success_bucket`: {"driftd_collector_success_bucket"},
	}
	for expr, want := range tests {
		if got := UnknownMetrics(expr); !reflect.DeepEqual(got, want) {
			t.Errorf("UnknownMetrics(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestStripThreshold(t *testing.T) {
	tests := map[string]string{
		`sum by (asg) (driftd_instances{verdict="drifted"}) > 0`:                `sum by (asg) (driftd_instances{verdict="drifted"})`,
		`time() - driftd_last_successful_scan_timestamp_seconds > 3600`:         `time() - driftd_last_successful_scan_timestamp_seconds`,
		`driftd_collector_success == 0`:                                         `driftd_collector_success`,
		`up{job="driftd"} == 0`:                                                 `up{job="driftd"}`,
		`sum(x{a!="b"}) / (sum(y) > 0)`:                                         `sum(x{a!="b"}) / (sum(y) > 0)`,
		`driftd:scans_failed:ratio_rate30m >= 0.5`:                              `driftd:scans_failed:ratio_rate30m`,
		`sum by (asg) (increase(driftd_remediations_total{result="f>0"}[30m]))`: `sum by (asg) (increase(driftd_remediations_total{result="f>0"}[30m]))`,
	}
	for in, want := range tests {
		if got := StripThreshold(in); got != want {
			t.Errorf("StripThreshold(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseDashboard: any document either fails with an error naming the
// file or yields expressions with a source and a non-empty expression; the
// threshold stripper never grows an expression.
func FuzzParseDashboard(f *testing.F) {
	b, err := os.ReadFile("../grafana/driftd.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"panels":[{"title":"x","targets":[{"refId":"A","expr":"up > 1"}]}],"templating":{"list":[{"name":"v","type":"query","query":"label_values(up, job)"}]}}`))
	f.Add([]byte(`{"templating":{"list":[{"type":"query","query":3}]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		exprs, err := ParseDashboard(doc, "fuzz.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, e := range exprs {
			if e.Source == "" || strings.TrimSpace(e.Expr) == "" {
				t.Fatalf("empty source or expression: %+v", e)
			}
			if len(StripThreshold(e.Expr)) > len(e.Expr) {
				t.Fatalf("StripThreshold grew %q", e.Expr)
			}
		}
	})
}
