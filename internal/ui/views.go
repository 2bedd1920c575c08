package ui

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/scan"
)

// maxRows bounds the rows of the instance list.
const maxRows = 1000

// scanView is the scan banner of every page: the last finished scan and,
// while one runs, its progress.
type scanView struct {
	Last     *scan.Result
	LastErr  string
	Running  bool
	Progress scan.Progress
	Percent  int
	// Judged is the number of instances the last scan gave a verdict.
	Judged int
}

func (h *Handler) scanView() scanView {
	v := scanView{Last: h.o.Scans.LastScan()}
	if v.Last != nil {
		if v.Last.Err != nil {
			v.LastErr = v.Last.Err.Error()
		}
		for _, n := range v.Last.Summary {
			v.Judged += n
		}
	}
	v.Progress, v.Running = h.o.Scans.Progress()
	v.Percent = int(100 * v.Progress.Fraction())
	return v
}

// judged returns the entries that have a verdict (instances restored from
// tags and not scanned yet have none).
func (h *Handler) judged() []state.Entry {
	all := h.o.Fleet.List()
	out := all[:0]
	for _, e := range all {
		if e.Verdict != "" {
			out = append(out, e)
		}
	}
	return out
}

// groupRow is one row of the overview: a group's counts per verdict.
type groupRow struct {
	Name   string // NoGroup for instances outside any group
	Label  string
	Counts []cell
	Total  int
}

type cell struct {
	Verdict drift.Verdict
	N       int
	Link    string
}

type overviewView struct {
	Verdicts []drift.Verdict
	Rows     []groupRow
	Totals   []cell
	Total    int
	Worst    []state.Entry // the most severe drifted instances
}

func (h *Handler) overview(w http.ResponseWriter, _ *http.Request) {
	entries := h.judged()
	byGroup := map[string]map[drift.Verdict]int{}
	totals := map[drift.Verdict]int{}
	for _, e := range entries {
		g := cmp.Or(e.ASG, NoGroup)
		if byGroup[g] == nil {
			byGroup[g] = map[drift.Verdict]int{}
		}
		byGroup[g][e.Verdict]++
		totals[e.Verdict]++
	}
	v := overviewView{Verdicts: drift.Verdicts, Total: len(entries)}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	// Groups with the most drift first, then by name; standalone last.
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if (a == NoGroup) != (b == NoGroup) {
			return b == NoGroup
		}
		if da, db := byGroup[a][drift.VerdictDrifted], byGroup[b][drift.VerdictDrifted]; da != db {
			return da > db
		}
		return a < b
	})
	for _, g := range names {
		row := groupRow{Name: g, Label: groupLabel(g)}
		for _, vd := range drift.Verdicts {
			n := byGroup[g][vd]
			row.Total += n
			row.Counts = append(row.Counts, cell{Verdict: vd, N: n, Link: "/instances?" + filter{Groups: []string{g}, Verdicts: []drift.Verdict{vd}}.query()})
		}
		v.Rows = append(v.Rows, row)
	}
	for _, vd := range drift.Verdicts {
		v.Totals = append(v.Totals, cell{Verdict: vd, N: totals[vd], Link: "/instances?" + filter{Verdicts: []drift.Verdict{vd}}.query()})
	}
	for _, e := range entries {
		if e.Verdict == drift.VerdictDrifted {
			v.Worst = append(v.Worst, e)
		}
	}
	sortEntries(v.Worst)
	if len(v.Worst) > 10 {
		v.Worst = v.Worst[:10]
	}
	h.render(w, http.StatusOK, "overview", page{Title: "Fleet", Nav: "overview", Body: v})
}

func groupLabel(g string) string {
	if g == NoGroup {
		return "(no group)"
	}
	return g
}

// verdictRank orders the instance list: drift first, then what could not
// be judged, then the rest.
func verdictRank(v drift.Verdict) int {
	switch v {
	case drift.VerdictDrifted:
		return 0
	case drift.VerdictUnknown, drift.VerdictStale, drift.VerdictNoBaseline:
		return 1
	case drift.VerdictExempt:
		return 2
	}
	return 3
}

// sortEntries sorts drifted instances first, most severe and longest
// drifted first, then by verdict and id.
func sortEntries(es []state.Entry) {
	slices.SortStableFunc(es, func(a, b state.Entry) int {
		return cmp.Or(
			cmp.Compare(verdictRank(a.Verdict), verdictRank(b.Verdict)),
			cmp.Compare(b.Severity, a.Severity),
			a.FirstDrifted.Compare(b.FirstDrifted),
			strings.Compare(a.InstanceID, b.InstanceID))
	})
}

type listView struct {
	Filter    filter
	Query     string
	Groups    []string // known groups, for the filter form
	AMIs      []string
	Verdicts  []drift.Verdict
	Rows      []state.Entry
	Matched   int
	Truncated bool
}

func (h *Handler) instances(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	v := listView{Filter: f, Query: f.query(), Verdicts: drift.Verdicts}
	groups, amis := map[string]bool{}, map[string]bool{}
	for _, e := range h.judged() {
		groups[cmp.Or(e.ASG, NoGroup)] = true
		amis[e.AMI] = true
		if f.match(&e) {
			v.Rows = append(v.Rows, e)
		}
	}
	v.Groups, v.AMIs = sortedKeys(groups), sortedKeys(amis)
	sortEntries(v.Rows)
	v.Matched = len(v.Rows)
	if len(v.Rows) > maxRows {
		v.Rows, v.Truncated = v.Rows[:maxRows], true
	}
	h.render(w, http.StatusOK, "instances", page{Title: "Instances", Nav: "instances", Body: v})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

type instanceView struct {
	E        state.Entry
	Chart    *chart
	Captures []capture
	// Remediation: nil when no engine runs.
	Rem *instanceRemediation
}

type capture struct {
	Type string
	At   time.Time
}

// instanceRemediation is what the last plan decided for one instance.
type instanceRemediation struct {
	Action   *remediation.Action
	Skip     *remediation.Skip
	Approval *remediation.Approval
	InFlight *remediation.InFlight
	Planned  bool // a plan exists
	Group    *remediation.GroupStatus
}

func (h *Handler) instance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := h.o.Fleet.Get(id)
	if !ok || e.Verdict == "" {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("instance %q is not known (not selected, or not scanned yet)", id))
		return
	}
	v := instanceView{E: e, Chart: newChart(e.Timeline, h.o.Now())}
	for t, at := range e.Captures {
		v.Captures = append(v.Captures, capture{t, at})
	}
	slices.SortFunc(v.Captures, func(a, b capture) int { return strings.Compare(a.Type, b.Type) })
	if h.o.Remediation != nil {
		v.Rem = instanceRem(h.o.Remediation.Status(), e)
	}
	h.render(w, http.StatusOK, "instance", page{Title: e.InstanceID, Nav: "instances", Body: v})
}

func instanceRem(st remediation.Status, e state.Entry) *instanceRemediation {
	ir := &instanceRemediation{}
	for i := range st.Approvals {
		if st.Approvals[i].InstanceID == e.InstanceID {
			ir.Approval = &st.Approvals[i]
		}
	}
	for i := range st.InFlight {
		if st.InFlight[i].InstanceID == e.InstanceID {
			ir.InFlight = &st.InFlight[i]
		}
	}
	if p := st.LastPlan; p != nil {
		ir.Planned = true
		for i := range p.Actions {
			if p.Actions[i].InstanceID == e.InstanceID || slices.Contains(p.Actions[i].Covers, e.InstanceID) {
				ir.Action = &p.Actions[i]
			}
		}
		for i := range p.Skipped {
			if p.Skipped[i].InstanceID == e.InstanceID {
				ir.Skip = &p.Skipped[i]
			}
		}
		for i := range p.Groups {
			if p.Groups[i].Name == e.ASG {
				ir.Group = &p.Groups[i]
			}
		}
	}
	return ir
}

type remediationView struct {
	Attached bool
	St       remediation.Status
	Plan     *remediation.PlanResult
	// SkipCounts counts the plan's skips per reason, most frequent first.
	SkipCounts []skipCount
}

type skipCount struct {
	Reason remediation.SkipReason
	N      int
}

func (h *Handler) remediation(w http.ResponseWriter, _ *http.Request) {
	v := remediationView{Attached: h.o.Remediation != nil}
	if v.Attached {
		v.St = h.o.Remediation.Status()
		v.Plan = v.St.LastPlan
		if v.Plan != nil {
			n := map[remediation.SkipReason]int{}
			for _, s := range v.Plan.Skipped {
				n[s.Reason]++
			}
			for r, c := range n {
				v.SkipCounts = append(v.SkipCounts, skipCount{r, c})
			}
			slices.SortFunc(v.SkipCounts, func(a, b skipCount) int {
				return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(string(a.Reason), string(b.Reason)))
			})
		}
	}
	h.render(w, http.StatusOK, "remediation", page{Title: "Remediation", Nav: "remediation", Body: v})
}
