// Package grafana holds driftd's Grafana dashboard. The test checks its
// structure (templated datasource, asg variable, required panels, layout) and
// that every PromQL expression in it and in the Prometheus rules parses.
package grafana

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/driftd/driftd/deploy/promexpr"
)

type gridPos struct{ H, W, X, Y int }

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	GridPos    gridPos         `json:"gridPos"`
	Datasource json.RawMessage `json:"datasource"`
	Panels     []panel         `json:"panels"`
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
}

type annotation struct {
	Name       string          `json:"name"`
	BuiltIn    int             `json:"builtIn"`
	Datasource json.RawMessage `json:"datasource"`
	Enable     bool            `json:"enable"`
	Expr       string          `json:"expr"`
	TitleFmt   string          `json:"titleFormat"`
	TagKeys    string          `json:"tagKeys"`
}

type dashboard struct {
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			IncludeAll bool            `json:"includeAll"`
			AllValue   string          `json:"allValue"`
			Multi      bool            `json:"multi"`
		} `json:"list"`
	} `json:"templating"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("driftd.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("driftd.json: %v", err)
	}
	return d
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

const dsRef = `{"type":"prometheus","uid":"${datasource}"}`

func TestDashboardStructure(t *testing.T) {
	d := load(t)
	if d.UID != "driftd" || d.Title == "" {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	vars := map[string]int{}
	for i, v := range d.Templating.List {
		vars[v.Name] = i
	}
	if i, ok := vars["datasource"]; !ok || d.Templating.List[i].Type != "datasource" || string(d.Templating.List[i].Query) != `"prometheus"` {
		t.Error("templating: want a datasource variable of type prometheus named datasource")
	}
	if i, ok := vars["asg"]; !ok {
		t.Error("templating: no asg variable")
	} else {
		v := d.Templating.List[i]
		var q struct{ Query string }
		_ = json.Unmarshal(v.Query, &q)
		if v.Type != "query" || !strings.HasPrefix(q.Query, "label_values(driftd_") || !strings.HasSuffix(q.Query, ", asg)") {
			t.Errorf("asg variable: type %q query %q, want label_values(driftd_..., asg)", v.Type, q.Query)
		}
		if !v.IncludeAll || v.AllValue != ".*" || !v.Multi {
			t.Errorf("asg variable: want multi, include all with allValue .*")
		}
	}

	ids := map[int]bool{}
	var titles []string
	for _, p := range flatten(d.Panels) {
		if ids[p.ID] {
			t.Errorf("duplicate panel id %d", p.ID)
		}
		ids[p.ID] = true
		titles = append(titles, p.Title)
		if p.Type == "row" {
			continue
		}
		if compact(p.Datasource) != dsRef {
			t.Errorf("panel %q: datasource %s, want %s", p.Title, p.Datasource, dsRef)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if compact(tg.Datasource) != dsRef {
				t.Errorf("panel %q ref %s: datasource %s, want %s", p.Title, tg.RefID, tg.Datasource, dsRef)
			}
			// Panels on per-ASG metrics honour the asg variable.
			for _, m := range []string{"driftd_instances", "driftd_findings", "driftd_inventory_age_seconds", "driftd_remediations_total", "driftd_remediation_budget_remaining", "driftd_remediation_blocked"} {
				if strings.Contains(tg.Expr, m) && !strings.Contains(tg.Expr, `asg=~"$asg"`) {
					t.Errorf("panel %q ref %s uses %s without asg=~\"$asg\": %s", p.Title, tg.RefID, m, tg.Expr)
				}
			}
		}
	}
	all := strings.ToLower(strings.Join(titles, "|"))
	for _, want := range []string{"instances by verdict", "by asg and ami", "finding categories", "inventory age", "scan duration",
		"api calls by operation", "remediation actions", "budget", "circuit breakers"} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel titled like %q", want)
		}
	}
}

func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDashboardLayout checks panels stay inside the 24-column grid and do not
// overlap (top-level panels; collapsed rows keep their own).
func TestDashboardLayout(t *testing.T) {
	d := load(t)
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range d.Panels {
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			continue
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panel %q overlaps %q at (%d,%d)", p.Title, other, x, y)
					goto next
				}
				used[cell{x, y}] = p.Title
			}
		}
	next:
	}
}

// TestExpressionsParse parses every PromQL expression of the dashboard and of
// the rule files with promtool, and checks they name only driftd metrics
// that exist.
func TestExpressionsParse(t *testing.T) {
	pt := promexpr.Promtool(t)
	dash, err := promexpr.DashboardExprs("driftd.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := promexpr.RuleExprs("../prometheus/alerts.yml", "../prometheus/recording.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dash) < 20 || len(rules) < 15 {
		t.Fatalf("found %d dashboard and %d rule expressions; extraction is broken", len(dash), len(rules))
	}
	all := append(dash, rules...)
	for _, a := range load(t).Annotations.List {
		if a.Expr != "" {
			all = append(all, promexpr.Expr{Source: "driftd.json: annotation " + a.Name, Expr: a.Expr})
		}
	}
	if err := promexpr.CheckParse(pt, t.TempDir(), all); err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if u := promexpr.UnknownMetrics(e.Expr); len(u) > 0 {
			t.Errorf("%s: unknown metrics %v in %s", e.Source, u, e.Expr)
		}
	}
	t.Logf("%d dashboard and %d rule expressions parse", len(dash), len(rules))
}

// scope is the matcher set every driftd selector of the dashboard carries,
// so the job, account and region variables narrow every panel.
var scope = []string{`job=~"$job"`, `account=~"$account"`, `region=~"$region"`}

var selectorRe = regexp.MustCompile(`\bdriftd_[a-z0-9_]+\b(\{[^}]*\})?`)

// unscoped returns the driftd selectors of expr that lack a scope matcher.
func unscoped(expr string) []string {
	var out []string
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		for _, s := range scope {
			if !strings.Contains(m[1], s) {
				out = append(out, m[0])
				break
			}
		}
	}
	return out
}

// TestScopeVariables: job, account and region variables come before asg,
// read label_values (harmless when a label does not exist: All is ".*",
// which also matches series without it), and every panel, variable and
// annotation honours them.
func TestScopeVariables(t *testing.T) {
	d := load(t)
	var order []string
	for _, v := range d.Templating.List {
		order = append(order, v.Name)
	}
	if strings.Join(order, ",") != "datasource,job,account,region,asg" {
		t.Errorf("variables %v, want datasource, job, account, region, asg (each narrows the next)", order)
	}
	queries := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		queries[v.Name] = q.Query
		if !v.IncludeAll || v.AllValue != ".*" || !v.Multi {
			t.Errorf("variable %s: want multi, include all with allValue .*", v.Name)
		}
		if !strings.HasPrefix(q.Query, "label_values(driftd_") || !strings.HasSuffix(q.Query, ", "+v.Name+")") {
			t.Errorf("variable %s: query %q, want label_values(driftd_..., %s)", v.Name, q.Query, v.Name)
		}
	}
	// Each variable's values are narrowed by the ones before it.
	for name, want := range map[string][]string{"account": scope[:1], "region": scope[:2], "asg": scope} {
		for _, m := range want {
			if !strings.Contains(queries[name], m) {
				t.Errorf("variable %s: query %q lacks %s", name, queries[name], m)
			}
		}
	}
	for _, p := range flatten(d.Panels) {
		for _, tg := range p.Targets {
			if u := unscoped(tg.Expr); len(u) > 0 {
				t.Errorf("panel %q ref %s: selectors without the job/account/region matchers: %v", p.Title, tg.RefID, u)
			}
		}
	}
	for _, a := range d.Annotations.List {
		if u := unscoped(a.Expr); len(u) > 0 {
			t.Errorf("annotation %q: selectors without the job/account/region matchers: %v", a.Name, u)
		}
	}
	if u := unscoped(`sum(driftd_instances{asg=~"$asg"})`); len(u) != 1 {
		t.Errorf("unscoped does not catch a selector without the matchers: %v", u)
	}
}

// TestRemediationAnnotation: remediation actions appear as annotations on
// every time series panel, labelled with the group, action and result.
func TestRemediationAnnotation(t *testing.T) {
	d := load(t)
	var found *annotation
	for i, a := range d.Annotations.List {
		if a.BuiltIn == 0 && strings.Contains(a.Expr, "driftd_remediations_total") {
			found = &d.Annotations.List[i]
		}
	}
	if found == nil {
		t.Fatal("no annotation on driftd_remediations_total")
	}
	if !found.Enable || compact(found.Datasource) != dsRef {
		t.Errorf("annotation %q: enabled %t datasource %s, want enabled on %s", found.Name, found.Enable, found.Datasource, dsRef)
	}
	if !strings.Contains(found.Expr, `asg=~"$asg"`) || !strings.Contains(found.Expr, "increase(") || !strings.HasSuffix(found.Expr, "> 0") {
		t.Errorf("annotation expr %q: want increases of the counter in the selected groups, > 0", found.Expr)
	}
	for _, k := range []string{"asg", "action", "result"} {
		if !strings.Contains(found.TagKeys, k) || !strings.Contains(found.TitleFmt, "{{"+k+"}}") {
			t.Errorf("annotation tags %q / title %q lack %s", found.TagKeys, found.TitleFmt, k)
		}
	}
}
