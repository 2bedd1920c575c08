package remediation

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// FleetScope is the breaker scope (and metric label) of the fleet-wide breaker.
const FleetScope = "fleet"

// Breaker kinds.
const (
	breakerDriftShare = "drift_share"
	breakerFailures   = "failures"
)

// Plan decides what to do this cycle. It is pure: the same input gives the
// same plan. Every drifted instance appears exactly once, in Actions
// (directly or in an instance refresh's Covers) or in Skipped with a reason:
// the first of the gates (gates.go) that blocks it.
func Plan(in PlanInput) PlanResult {
	pol := compile(in.Config)
	out := PlanResult{Now: in.Now, KillSwitch: in.KillSwitch, Errors: pol.errs, Actions: []Action{}, Skipped: []Skip{}}
	insts := byDriftAge(in.Instances)
	out.Fleet = fleetBreaker(insts, pol.fleetPct, in.State.FleetOverride)
	groupFail, tagsUnknown := indexReadFailures(in.ReadFailures)
	out.ReadFailures = append([]ReadFailure(nil), in.ReadFailures...)

	pc := newPlanCtx(in, pol, out.Fleet.Open)
	names, tallies := groupInstances(insts, in.Groups, groupFail)
	groups := make(map[string]*groupEval, len(names))
	for _, name := range names {
		g := newGroupEval(pc, name, groupFail[name], tallies[name])
		g.evalGates(&gateCtx{planCtx: pc, g: g})
		groups[name] = g
	}
	out.Tags = planTags(pc, insts, groups, tagsUnknown)

	c := &gateCtx{planCtx: pc}
	for i := range insts {
		if insts[i].Verdict != drift.VerdictDrifted {
			continue // unknown, stale, no_baseline, exempt and in_sync are never candidates
		}
		c.s, c.g = &insts[i], groups[insts[i].ASG]
		decide(c, &out)
	}

	for _, name := range names {
		g := groups[name]
		g.status.Remaining = max(0, g.status.Allowed-g.inFlight-g.planned)
		out.Groups = append(out.Groups, g.status)
	}
	out.HourlyRemaining = max(0, pc.hourly)
	return out
}

// decide records one drifted instance's outcome: a skip with the first
// gate that blocks it, a place in its group's instance refresh, or an action.
func decide(c *gateCtx, out *PlanResult) {
	s, g := c.s, c.g
	if r, d := firstBlock(candidateGates, c); r != "" {
		out.Skipped = append(out.Skipped, Skip{InstanceID: s.ID, Group: s.ASG, Reason: r, Detail: d})
		return
	}
	if g.refresh && g.refreshAction >= 0 {
		out.Actions[g.refreshAction].Covers = append(out.Actions[g.refreshAction].Covers, s.ID)
		return
	}
	if r, d := firstBlock(capacityGates, c); r != "" {
		out.Skipped = append(out.Skipped, Skip{InstanceID: s.ID, Group: s.ASG, Reason: r, Detail: d})
		return
	}
	c.hourly--
	g.planned++
	a := Action{Kind: c.pol.action, Group: s.ASG, InstanceID: s.ID, Severity: s.Severity, Reason: s.Reason, DriftSince: s.Since, Approved: g.mode == modeApprove}
	if g.refresh {
		a.Kind, a.InstanceID, a.Covers = ActionInstanceRefresh, "", []string{s.ID}
		a.Reason = "launch template AMI changed: every drifted instance runs an older AMI"
		a.MinHealthyPercentage = minHealthy(g.status.Allowed, g.facts.Desired)
		g.refreshAction = len(out.Actions)
	}
	out.Actions = append(out.Actions, a)
}

// byDriftAge orders instances oldest drift first, then by id. (It sorts
// indices, not the large structs.)
func byDriftAge(in []InstanceState) []InstanceState {
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &in[order[a]], &in[order[b]]
		if !x.Since.Equal(y.Since) {
			return x.Since.Before(y.Since)
		}
		return x.ID < y.ID
	})
	out := make([]InstanceState, len(order))
	for i, idx := range order {
		out[i] = in[idx]
	}
	return out
}

// tally counts the known (in_sync or drifted) instances of a scope, the
// drifted ones that count toward a breaker (AMI-only drift is a rollout, not
// a bad baseline) and the AMI-only drifted ones.
type tally struct{ drifted, known, amiOnly int }

func (t *tally) add(s *InstanceState) {
	switch v, amiOnly := countedVerdict(*s); v {
	case drift.VerdictDrifted:
		t.known++
		if amiOnly {
			t.amiOnly++
		} else {
			t.drifted++
		}
	case drift.VerdictInSync:
		t.known++
	}
}

// countedVerdict is the verdict an instance counts with in the drift-share
// breakers and the instance-refresh choice, and whether its drift is
// AMI-only: in_sync and drifted count as they are; an unknown or stale
// instance counts with its last known in_sync/drifted verdict (one instance
// going unknown must not shut or open a breaker), or not at all. It is never
// a candidate either way.
func countedVerdict(s InstanceState) (drift.Verdict, bool) {
	switch s.Verdict {
	case drift.VerdictDrifted, drift.VerdictInSync:
		return s.Verdict, s.AMIOnly
	case drift.VerdictUnknown, drift.VerdictStale:
		if s.LastKnown == drift.VerdictDrifted || s.LastKnown == drift.VerdictInSync {
			return s.LastKnown, s.LastKnownAMIOnly
		}
	}
	return "", false
}

// fleetBreaker opens above fleet_breaker_percent of known instances drifted.
func fleetBreaker(insts []InstanceState, pct float64, override bool) Breaker {
	b := Breaker{Scope: FleetScope}
	var t tally
	for i := range insts {
		t.add(&insts[i])
	}
	drifted, known := t.drifted, t.known
	if known > 0 && percent(drifted, known) > pct {
		b.Open, b.Kind = true, breakerDriftShare
		b.Detail = fmt.Sprintf("%d of %d instances (%.0f%%) drifted, more than %g%%", drifted, known, percent(drifted, known), pct)
		if override {
			b.Open = false
			b.Detail += "; reset by an operator"
		}
	}
	return b
}

// indexReadFailures picks per group the failed read to report (a failed
// description first: it hides the mode) and the instances whose tags are
// unknown.
func indexReadFailures(fails []ReadFailure) (map[string]*ReadFailure, map[string]bool) {
	groupFail := map[string]*ReadFailure{}
	tagsUnknown := map[string]bool{}
	for i := range fails {
		f := fails[i]
		for _, id := range f.Instances {
			tagsUnknown[id] = true
		}
		if f.Group == "" {
			continue
		}
		if cur, ok := groupFail[f.Group]; !ok || f.Call == CallDescribeGroups && cur.Call != CallDescribeGroups {
			groupFail[f.Group] = &f
		}
	}
	return groupFail, tagsUnknown
}

// groupInstances names every group with instances, facts or a failed read
// (sorted), and tallies each group's instances.
func groupInstances(insts []InstanceState, facts map[string]GroupFacts, groupFail map[string]*ReadFailure) ([]string, map[string]tally) {
	byGroup := map[string]tally{}
	for i := range insts {
		t := byGroup[insts[i].ASG]
		t.add(&insts[i])
		byGroup[insts[i].ASG] = t
	}
	names := make([]string, 0, len(byGroup)+len(facts))
	for n := range byGroup {
		if n != "" {
			names = append(names, n)
		}
	}
	for n := range facts {
		if _, ok := byGroup[n]; !ok {
			names = append(names, n)
		}
	}
	for n := range groupFail {
		if _, ok := byGroup[n]; !ok {
			if _, ok := facts[n]; !ok {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names, byGroup
}

// newPlanCtx indexes the remembered state the gates read.
func newPlanCtx(in PlanInput, pol *policy, fleetOpen bool) *planCtx {
	c := &planCtx{pol: pol, now: in.Now, kill: in.KillSwitch, fleetOpen: fleetOpen, facts: in.Groups, history: in.State.Groups,
		inFlight: map[string]InFlight{}, groupInFlight: map[string]int{}, approvals: map[string]Approval{}}
	for _, f := range in.State.InFlight {
		c.groupInFlight[f.Group]++
		if f.InstanceID != "" {
			c.inFlight[f.InstanceID] = f
		}
	}
	for _, a := range in.State.Approvals {
		if cur, ok := c.approvals[a.InstanceID]; !ok || a.Expires.After(cur.Expires) {
			c.approvals[a.InstanceID] = a
		}
	}
	recent := 0
	for _, t := range in.State.RecentActions {
		if !t.After(in.Now) && in.Now.Sub(t) < time.Hour {
			recent++
		}
	}
	c.hourly = pol.maxPerHour - recent
	return c
}

// planTags lists the tag writes for verdict transitions in groups (and,
// outside groups, mode_default) of mode flag or above. Nothing is tagged
// while the kill switch is engaged or the configuration is invalid, in a
// group whose mode is unknown, or over tags that could not be read.
func planTags(c *planCtx, insts []InstanceState, groups map[string]*groupEval, tagsUnknown map[string]bool) []TagChange {
	if !c.pol.tagging || c.pol.err != nil || c.kill.Engaged {
		return nil
	}
	var tags []TagChange
	for i := range insts {
		s := &insts[i]
		mode := c.pol.modeDefault
		if s.ASG != "" {
			if groups[s.ASG].unreadable {
				continue
			}
			mode = groups[s.ASG].mode
		}
		if mode < modeFlag || s.Tags == nil && tagsUnknown[s.ID] {
			continue
		}
		if tc, ok := tagChange(*s, c.pol.debounce, c.now); ok {
			tags = append(tags, tc)
		}
	}
	return tags
}

// groupEval is one group's evaluated state: what its gates read, their
// verdict (status.Blocked), and what this plan has spent of it.
type groupEval struct {
	status   GroupStatus
	gp       *groupPolicy
	mode     int
	facts    GroupFacts
	hasFacts bool
	hist     GroupHistory
	// fail is the group's failed read this cycle (nil: none); failDetail
	// describes it.
	fail       *ReadFailure
	failDetail string
	// unreadable: the group's own description failed, so its mode is not
	// known: nothing in it is tagged or replaced.
	unreadable   bool
	windowDetail string
	members      map[string]GroupInstance
	inFlight     int
	planned      int
	// refresh: every drifted instance drifted only by AMI (the launch
	// template moved on), so one instance refresh replaces the group;
	// refreshAction is its index in the plan's actions (-1: not yet planned).
	refresh       bool
	refreshAction int
}

// newGroupEval resolves a group's policy, mode, facts, breaker and window;
// fail is its failed read this cycle (nil: none), t tallies its instances.
func newGroupEval(c *planCtx, name string, fail *ReadFailure, t tally) *groupEval {
	gp, matched := c.pol.groupFor(name)
	f, hasFacts := c.facts[name]
	hist, inFlight := c.history[name], c.groupInFlight[name]
	if fail != nil && fail.Call == CallDescribeGroups {
		f, hasFacts = GroupFacts{}, false
	}
	mode, source, modeDetail := c.pol.resolveMode(gp, matched, f.Tags)
	g := &groupEval{gp: gp, mode: mode, facts: f, hasFacts: hasFacts, hist: hist, fail: fail, inFlight: inFlight,
		members: make(map[string]GroupInstance, len(f.Instances)), refreshAction: -1}
	g.status = GroupStatus{Name: name, Mode: modeNames[mode], ModeSource: source, Budget: gp.budgetText, InFlight: inFlight, Detail: modeDetail}
	if fail != nil {
		g.failDetail = failureDetail(*fail)
		// Without the group's tags its mode is unknown, unless no tag could
		// raise it above off.
		g.unreadable = fail.Call == CallDescribeGroups && (mode > modeOff || c.pol.tagOverride)
	}
	for _, m := range f.Instances {
		g.members[m.ID] = m
	}
	g.status.Drifted, g.status.Known = t.drifted, t.known
	g.refresh = t.amiOnly > 0 && t.drifted == 0 && mode >= modeApprove
	if gp.err == nil {
		g.status.Allowed = gp.budget.Allowed(f.Desired)
	}
	g.status.WindowOpen, g.windowDetail = gp.windowOpen(c.now)
	g.status.Breaker = groupBreaker(name, t, gp, hist)
	return g
}

// evalGates runs the group gates: the first that blocks is the group's
// block (replacing the mode detail, if any).
func (g *groupEval) evalGates(c *gateCtx) {
	for i := range groupGates {
		if g.mode < modeApprove && !groupGates[i].allModes {
			continue
		}
		if r, d := groupGates[i].check(c); r != "" {
			g.status.Blocked, g.status.Detail = r, d
			return
		}
	}
}

func failureDetail(f ReadFailure) string {
	d := f.Call + " failed"
	if f.Code != "" {
		d += " with " + f.Code
	}
	return d + "; group state unknown this cycle: " + f.Error
}

// groupBreaker is the group's breaker (reported in every mode): open above
// drift_percent of its known instances drifted (unless an operator reset
// it), or at max_failures consecutive failed replacements.
func groupBreaker(name string, t tally, gp *groupPolicy, hist GroupHistory) Breaker {
	b := Breaker{Scope: name}
	drifted, known := t.drifted, t.known
	if known > 0 && percent(drifted, known) > gp.driftPct {
		b = Breaker{Scope: name, Open: true, Kind: breakerDriftShare,
			Detail: fmt.Sprintf("%d of %d instances (%.0f%%) drifted, more than %g%%: suspect the baseline", drifted, known, percent(drifted, known), gp.driftPct)}
		if hist.Override {
			b.Open = false
			b.Detail += "; reset by an operator"
		}
	}
	if hist.ConsecutiveFailures >= gp.maxFailures {
		b = Breaker{Scope: name, Open: true, Kind: breakerFailures,
			Detail: fmt.Sprintf("%d consecutive failed replacements (max_failures %d); reset with `driftd approve --reset-breaker %s`", hist.ConsecutiveFailures, gp.maxFailures, name)}
	}
	return b
}

// backoff is base * 2^(failures-1), capped.
func backoff(base, capd time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures; i++ {
		d *= 2
		if d >= capd || d <= 0 {
			return capd
		}
	}
	if d > capd {
		return capd
	}
	return d
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
}

// minHealthy keeps the group's replaced share within its budget during a refresh.
func minHealthy(allowed, desired int) int {
	if desired <= 0 {
		return 100
	}
	v := 100 - int(math.Ceil(float64(allowed)*100/float64(desired)))
	return max(0, min(100, v))
}

func killDetail(k KillSwitch) string {
	d := "kill switch engaged"
	if k.Source != "" {
		d += " (" + k.Source + ")"
	}
	if k.Detail != "" {
		d += ": " + k.Detail
	}
	return d
}

// protected evaluates the driftd:protect opt-out tag: "true" protects
// forever, an RFC3339 time protects until then. Any other value protects
// too (fail closed) and says so.
func protected(tags map[string]string, now time.Time) (bool, string) {
	v, ok := tags[drift.TagProtect]
	if !ok {
		return false, ""
	}
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "true") {
		return true, drift.TagProtect + "=true"
	}
	if strings.EqualFold(v, "false") || v == "" {
		return false, ""
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return true, fmt.Sprintf("%s=%q is neither true nor an RFC3339 time; treated as protected", drift.TagProtect, v)
	}
	if now.Before(t) {
		return true, drift.TagProtect + " until " + t.Format(time.RFC3339)
	}
	return false, ""
}

// tagChange returns the tag update for a verdict transition, or false when
// the tags already say the right thing (no API call for unchanged instances).
func tagChange(s InstanceState, debounce int, now time.Time) (TagChange, bool) {
	cur := s.Tags[drift.TagStatus]
	switch {
	case s.Verdict == drift.VerdictDrifted && s.ConsecutiveScans >= debounce && cur != string(drift.VerdictDrifted):
		since := s.Since
		if since.IsZero() {
			since = now
		}
		return TagChange{InstanceID: s.ID, Set: map[string]string{
			drift.TagStatus: string(drift.VerdictDrifted),
			drift.TagSince:  since.UTC().Format(time.RFC3339),
			drift.TagReason: shortReason(s),
		}}, true
	case s.Verdict == drift.VerdictInSync && cur != "" && cur != string(drift.VerdictInSync):
		since := s.Since
		if since.IsZero() {
			since = now
		}
		tc := TagChange{InstanceID: s.ID, Set: map[string]string{
			drift.TagStatus: string(drift.VerdictInSync),
			drift.TagSince:  since.UTC().Format(time.RFC3339),
		}}
		if _, ok := s.Tags[drift.TagReason]; ok {
			tc.Delete = []string{drift.TagReason}
		}
		return tc, true
	}
	return TagChange{}, false
}

// shortReason fits EC2's 256-character tag value limit.
func shortReason(s InstanceState) string {
	r := s.Reason
	if r == "" {
		r = "severity " + s.Severity.String()
	}
	if len(r) > 200 {
		r = r[:197] + "..."
	}
	return r
}

// formatActionTag renders driftd:action = <action>@<RFC3339>.
func formatActionTag(k ActionKind, at time.Time) string {
	return string(k) + "@" + at.UTC().Format(time.RFC3339)
}

func parseActionTag(v string) (ActionKind, time.Time, bool) {
	k, ts, ok := strings.Cut(v, "@")
	if !ok {
		return "", time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return "", time.Time{}, false
	}
	return ActionKind(k), t, true
}
