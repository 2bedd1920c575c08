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

// suspendedBlocking are the Auto Scaling processes whose suspension makes a
// replacement unsafe or impossible.
var suspendedBlocking = []string{"Launch", "Terminate", "ReplaceUnhealthy", "HealthCheck"}

// groupEval is one group's evaluated gates.
type groupEval struct {
	status   GroupStatus
	gp       *groupPolicy
	mode     int
	facts    GroupFacts
	hasFacts bool
	// unreadable: the group's own description failed, so its mode is not
	// known: nothing in it is tagged or replaced.
	unreadable bool
	members    map[string]GroupInstance
	inFlight   int
	planned    int
}

// Plan decides what to do this cycle. It is pure: the same input gives the
// same plan. Every drifted instance appears exactly once, in Actions
// (directly or in an instance refresh's Covers) or in Skipped with a reason.
func Plan(in PlanInput) PlanResult {
	now := in.Now
	pol := compile(in.Config)
	out := PlanResult{Now: now, KillSwitch: in.KillSwitch, Errors: pol.errs, Actions: []Action{}, Skipped: []Skip{}}

	// Instances by group, in a stable order: oldest drift first, then id.
	// (Sort indices, not the large structs.)
	order := make([]int, len(in.Instances))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &in.Instances[order[a]], &in.Instances[order[b]]
		if !x.Since.Equal(y.Since) {
			return x.Since.Before(y.Since)
		}
		return x.ID < y.ID
	})
	insts := make([]InstanceState, len(order))
	for i, idx := range order {
		insts[i] = in.Instances[idx]
	}
	inFlightByInstance := map[string]InFlight{}
	inFlightByGroup := map[string]int{}
	for _, f := range in.State.InFlight {
		inFlightByGroup[f.Group]++
		if f.InstanceID != "" {
			inFlightByInstance[f.InstanceID] = f
		}
	}

	// Fleet breaker: share of known instances drifted (AMI-only drift is a
	// rollout, not a bad baseline, and is not counted).
	var fleetDrifted, fleetKnown int
	for _, s := range insts {
		switch v, amiOnly := countedVerdict(s); v {
		case drift.VerdictDrifted:
			fleetKnown++
			if !amiOnly {
				fleetDrifted++
			}
		case drift.VerdictInSync:
			fleetKnown++
		}
	}
	out.Fleet = Breaker{Scope: FleetScope}
	if fleetKnown > 0 && percent(fleetDrifted, fleetKnown) > pol.fleetPct {
		out.Fleet.Open = true
		out.Fleet.Kind = "drift_share"
		out.Fleet.Detail = fmt.Sprintf("%d of %d instances (%.0f%%) drifted, more than %g%%", fleetDrifted, fleetKnown, percent(fleetDrifted, fleetKnown), pol.fleetPct)
		if in.State.FleetOverride {
			out.Fleet.Open = false
			out.Fleet.Detail += "; reset by an operator"
		}
	}

	// Failed reads: per group the one to report (a failed description
	// first: it hides the mode), and the instances whose tags are unknown.
	groupFail := map[string]ReadFailure{}
	tagsUnknown := map[string]bool{}
	for _, f := range in.ReadFailures {
		for _, id := range f.Instances {
			tagsUnknown[id] = true
		}
		if f.Group == "" {
			continue
		}
		if cur, ok := groupFail[f.Group]; !ok || f.Call == CallDescribeGroups && cur.Call != CallDescribeGroups {
			groupFail[f.Group] = f
		}
	}
	out.ReadFailures = append([]ReadFailure(nil), in.ReadFailures...)

	// Group names: every group with instances, facts or a failed read.
	names := map[string]bool{}
	for _, s := range insts {
		if s.ASG != "" {
			names[s.ASG] = true
		}
	}
	for n := range in.Groups {
		names[n] = true
	}
	for n := range groupFail {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	byGroup := map[string][]InstanceState{}
	for _, s := range insts {
		byGroup[s.ASG] = append(byGroup[s.ASG], s)
	}
	groups := map[string]*groupEval{}
	for _, name := range sorted {
		var fail *ReadFailure
		if f, ok := groupFail[name]; ok {
			fail = &f
		}
		groups[name] = evalGroup(pol, in, name, byGroup[name], inFlightByGroup[name], out.Fleet.Open, fail)
	}

	// Hourly cap.
	recent := 0
	for _, t := range in.State.RecentActions {
		if !t.After(now) && now.Sub(t) < time.Hour {
			recent++
		}
	}
	hourly := pol.maxPerHour - recent
	approvals := map[string]Approval{}
	for _, a := range in.State.Approvals {
		if cur, ok := approvals[a.InstanceID]; !ok || a.Expires.After(cur.Expires) {
			approvals[a.InstanceID] = a
		}
	}

	// Tags on transitions.
	if pol.tagging && pol.err == nil && !in.KillSwitch.Engaged {
		for _, s := range insts {
			mode := modeOff
			if s.ASG != "" {
				if groups[s.ASG].unreadable {
					continue // mode unknown
				}
				mode = groups[s.ASG].mode
			} else {
				mode = pol.modeDefault
			}
			if mode < modeFlag {
				continue
			}
			if s.Tags == nil && tagsUnknown[s.ID] {
				continue // never write tags over tags we could not read
			}
			if tc, ok := tagChange(s, pol.debounce, now); ok {
				out.Tags = append(out.Tags, tc)
			}
		}
	}

	// Instance refresh: a group whose drifted instances all drifted only by
	// AMI (its launch template moved on) is refreshed as a whole.
	refreshGroups := map[string]bool{}
	for _, name := range sorted {
		g := groups[name]
		var drifted, amiOnly int
		for _, s := range byGroup[name] {
			if v, ami := countedVerdict(s); v == drift.VerdictDrifted {
				drifted++
				if ami {
					amiOnly++
				}
			}
		}
		if drifted > 0 && drifted == amiOnly && g.mode >= modeApprove {
			refreshGroups[name] = true
		}
	}

	skip := func(s InstanceState, r SkipReason, detail string) {
		out.Skipped = append(out.Skipped, Skip{InstanceID: s.ID, Group: s.ASG, Reason: r, Detail: detail})
	}
	refreshAction := map[string]int{} // group -> index in out.Actions

	for _, s := range insts {
		if s.Verdict != drift.VerdictDrifted {
			continue // unknown, stale, no_baseline, exempt and in_sync are never candidates
		}
		if s.ASG == "" {
			skip(s, SkipNotInGroup, "instance is not in an Auto Scaling group; it can only be flagged")
			continue
		}
		g := groups[s.ASG]
		if g.unreadable {
			skip(s, SkipGroupStateUnknown, g.status.Detail)
			continue
		}
		if g.mode == modeOff {
			skip(s, SkipModeOff, "remediation is off for this group (report only)")
			continue
		}
		if g.mode == modeFlag {
			skip(s, SkipModeFlag, "group is in flag mode: tagged, never replaced")
			continue
		}
		if pol.err != nil {
			skip(s, SkipMisconfigured, pol.err.Error())
			continue
		}
		if s.ConsecutiveScans < pol.debounce {
			skip(s, SkipDebounce, fmt.Sprintf("drifted for %d of %d required consecutive scans", s.ConsecutiveScans, pol.debounce))
			continue
		}
		if s.Severity < pol.minSeverity {
			skip(s, SkipSeverity, fmt.Sprintf("severity %s is below min_severity %s", s.Severity, pol.minSeverity))
			continue
		}
		if f, ok := inFlightByInstance[s.ID]; ok {
			skip(s, SkipInFlight, fmt.Sprintf("%s started %s", f.Kind, f.Started.Format(time.RFC3339)))
			continue
		}
		if kind, at, ok := parseActionTag(s.Tags[TagAction]); ok && now.Sub(at) < pol.timeout && !at.After(now.Add(time.Minute)) {
			skip(s, SkipInFlight, fmt.Sprintf("instance tag %s records %s at %s", TagAction, kind, at.Format(time.RFC3339)))
			continue
		}
		if in.KillSwitch.Engaged {
			skip(s, SkipKillSwitch, killDetail(in.KillSwitch))
			continue
		}
		if p, detail := protected(s.Tags, now); p {
			skip(s, SkipProtected, detail)
			continue
		}
		m, ok := g.members[s.ID]
		if !ok && g.hasFacts {
			skip(s, SkipNotInService, "instance is not a member of the group in DescribeAutoScalingGroups")
			continue
		}
		if ok && m.LifecycleState != "InService" {
			skip(s, SkipNotInService, "lifecycle state "+m.LifecycleState)
			continue
		}
		if ok && !strings.EqualFold(m.HealthStatus, "Healthy") && m.HealthStatus != "" {
			skip(s, SkipNotInService, "health status "+m.HealthStatus)
			continue
		}
		if g.status.Blocked != "" {
			skip(s, g.status.Blocked, g.status.Detail)
			continue
		}
		approved := false
		if g.mode == modeApprove {
			a, ok := approvals[s.ID]
			switch {
			case !ok:
				skip(s, SkipAwaitingApproval, "run `driftd approve "+s.ID+"` to allow replacement")
				continue
			case !now.Before(a.Expires):
				skip(s, SkipAwaitingApproval, "approval expired at "+a.Expires.Format(time.RFC3339))
				continue
			}
			approved = true
		}
		if refreshGroups[s.ASG] {
			if idx, ok := refreshAction[s.ASG]; ok {
				out.Actions[idx].Covers = append(out.Actions[idx].Covers, s.ID)
				continue
			}
		}
		if g.inFlight+g.planned >= g.gp.maxInFlight {
			skip(s, SkipMaxInFlight, fmt.Sprintf("%d of max_in_flight %d replacements in progress", g.inFlight+g.planned, g.gp.maxInFlight))
			continue
		}
		if g.status.Allowed-g.inFlight-g.planned <= 0 {
			skip(s, SkipBudget, fmt.Sprintf("budget %s allows %d of desired %d; %d in flight", g.gp.budgetText, g.status.Allowed, g.facts.Desired, g.inFlight+g.planned))
			continue
		}
		if hourly <= 0 {
			skip(s, SkipHourlyCap, fmt.Sprintf("global.max_per_hour %d reached", pol.maxPerHour))
			continue
		}
		hourly--
		g.planned++
		a := Action{Kind: pol.action, Group: s.ASG, InstanceID: s.ID, Severity: s.Severity, Reason: s.Reason, DriftSince: s.Since, Approved: approved}
		if refreshGroups[s.ASG] {
			a.Kind = ActionInstanceRefresh
			a.InstanceID = ""
			a.Covers = []string{s.ID}
			a.Reason = "launch template AMI changed: every drifted instance runs an older AMI"
			a.MinHealthyPercentage = minHealthy(g.status.Allowed, g.facts.Desired)
			refreshAction[s.ASG] = len(out.Actions)
		}
		out.Actions = append(out.Actions, a)
	}

	for _, name := range sorted {
		g := groups[name]
		g.status.Remaining = max(0, g.status.Allowed-g.inFlight-g.planned)
		out.Groups = append(out.Groups, g.status)
	}
	out.HourlyRemaining = max(0, hourly)
	return out
}

// evalGroup evaluates one group's gates; insts are the group's instances,
// fail the group's failed read this cycle (nil: none).
func evalGroup(pol *policy, in PlanInput, name string, insts []InstanceState, inFlight int, fleetOpen bool, fail *ReadFailure) *groupEval {
	gp, matched := pol.groupFor(name)
	facts, hasFacts := in.Groups[name]
	if fail != nil && fail.Call == CallDescribeGroups {
		facts, hasFacts = GroupFacts{}, false
	}
	mode, source, modeDetail := pol.resolveMode(gp, matched, facts.Tags)
	g := &groupEval{gp: gp, mode: mode, facts: facts, hasFacts: hasFacts, inFlight: inFlight, members: map[string]GroupInstance{}}
	st := GroupStatus{Name: name, Mode: modeNames[mode], ModeSource: source, Budget: gp.budgetText, InFlight: inFlight, Breaker: Breaker{Scope: name}}
	var failDetail string
	if fail != nil {
		failDetail = fail.Call + " failed"
		if fail.Code != "" {
			failDetail += " with " + fail.Code
		}
		failDetail += "; group state unknown this cycle: " + fail.Error
		// Without the group's tags its mode is unknown, unless no tag could
		// raise it above off.
		if fail.Call == CallDescribeGroups && (mode > modeOff || pol.tagOverride) {
			g.unreadable = true
			st.Blocked, st.Detail = SkipGroupStateUnknown, failDetail+" (its "+TagMode+" tag, and so its mode, are unknown: nothing is tagged or replaced)"
		}
	}
	for _, m := range facts.Instances {
		g.members[m.ID] = m
	}
	for _, s := range insts {
		switch v, amiOnly := countedVerdict(s); v {
		case drift.VerdictDrifted:
			st.Known++
			if !amiOnly {
				st.Drifted++
			}
		case drift.VerdictInSync:
			st.Known++
		}
	}
	if gp.err == nil {
		st.Allowed = gp.budget.Allowed(facts.Desired)
	}
	st.WindowOpen, _ = gp.windowOpen(in.Now)
	hist := in.State.Groups[name]

	// Breakers (reported regardless of mode).
	if st.Known > 0 && percent(st.Drifted, st.Known) > gp.driftPct {
		st.Breaker = Breaker{Scope: name, Open: true, Kind: "drift_share",
			Detail: fmt.Sprintf("%d of %d instances (%.0f%%) drifted, more than %g%%: suspect the baseline", st.Drifted, st.Known, percent(st.Drifted, st.Known), gp.driftPct)}
		if hist.Override {
			st.Breaker.Open = false
			st.Breaker.Detail += "; reset by an operator"
		}
	}
	if hist.ConsecutiveFailures >= gp.maxFailures {
		st.Breaker = Breaker{Scope: name, Open: true, Kind: "failures",
			Detail: fmt.Sprintf("%d consecutive failed replacements (max_failures %d); reset with `driftd approve --reset-breaker %s`", hist.ConsecutiveFailures, gp.maxFailures, name)}
	}

	block := func(r SkipReason, d string) {
		if st.Blocked == "" {
			st.Blocked, st.Detail = r, d
		}
	}
	if mode >= modeApprove {
		switch {
		case in.KillSwitch.Engaged:
			block(SkipKillSwitch, killDetail(in.KillSwitch))
		case pol.err != nil:
			block(SkipMisconfigured, pol.err.Error())
		case gp.err != nil:
			block(SkipMisconfigured, gp.err.Error())
		case fail != nil:
			block(SkipGroupStateUnknown, failDetail)
		case !hasFacts:
			block(SkipGroupUnknown, "no Auto Scaling facts for the group (DescribeAutoScalingGroups did not return it)")
		}
		if fleetOpen {
			block(SkipFleetBreaker, "fleet breaker open")
		}
		if st.Breaker.Open {
			if st.Breaker.Kind == "failures" {
				block(SkipFailureBreaker, st.Breaker.Detail)
			} else {
				block(SkipGroupBreaker, st.Breaker.Detail)
			}
		}
		if hist.ConsecutiveFailures > 0 && hist.ConsecutiveFailures < gp.maxFailures {
			wait := backoff(gp.backoff, gp.backoffMax, hist.ConsecutiveFailures)
			if until := hist.LastFailure.Add(wait); in.Now.Before(until) {
				block(SkipBackoff, fmt.Sprintf("%d failed replacement(s); next attempt after %s", hist.ConsecutiveFailures, until.Format(time.RFC3339)))
			}
		}
		if facts.RefreshActive {
			block(SkipRefreshActive, "an instance refresh is in progress")
		}
		var susp []string
		for _, p := range facts.SuspendedProcesses {
			for _, b := range suspendedBlocking {
				if p == b {
					susp = append(susp, p)
				}
			}
		}
		if len(susp) > 0 {
			block(SkipSuspended, "suspended processes: "+strings.Join(susp, ", "))
		}
		if hasFacts {
			inService := 0
			for _, m := range facts.Instances {
				if m.LifecycleState == "InService" && (m.HealthStatus == "" || strings.EqualFold(m.HealthStatus, "Healthy")) {
					inService++
				}
			}
			// driftd's own replacements in flight are expected to be missing.
			if inService < facts.Desired-inFlight || facts.Desired == 0 {
				block(SkipGroupUnhealthy, fmt.Sprintf("%d healthy InService of desired %d (%d replacements in flight)", inService, facts.Desired, inFlight))
			}
		}
		if !st.WindowOpen {
			_, d := gp.windowOpen(in.Now)
			block(SkipOutsideWindow, d)
		}
	}
	if modeDetail != "" && st.Detail == "" {
		st.Detail = modeDetail
	}
	st.Remaining = max(0, st.Allowed-inFlight)
	g.status = st
	return g
}

// countedVerdict is the verdict (and AMI-only flag) a group's and the
// fleet's counts use — the drift-share breakers and the choice of an
// instance refresh: its verdict when in_sync or drifted; for an unknown or
// stale instance the last known one, so that one instance's failed
// collection changes no decision about the others; "" (not counted)
// otherwise. Only drifted verdicts make candidates, never the counted one.
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
	v, ok := tags[TagProtect]
	if !ok {
		return false, ""
	}
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "true") {
		return true, TagProtect + "=true"
	}
	if strings.EqualFold(v, "false") || v == "" {
		return false, ""
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return true, fmt.Sprintf("%s=%q is neither true nor an RFC3339 time; treated as protected", TagProtect, v)
	}
	if now.Before(t) {
		return true, TagProtect + " until " + t.Format(time.RFC3339)
	}
	return false, ""
}

// tagChange returns the tag update for a verdict transition, or false when
// the tags already say the right thing (no API call for unchanged instances).
func tagChange(s InstanceState, debounce int, now time.Time) (TagChange, bool) {
	cur := s.Tags[TagStatus]
	switch {
	case s.Verdict == drift.VerdictDrifted && s.ConsecutiveScans >= debounce && cur != string(drift.VerdictDrifted):
		since := s.Since
		if since.IsZero() {
			since = now
		}
		return TagChange{InstanceID: s.ID, Set: map[string]string{
			TagStatus: string(drift.VerdictDrifted),
			TagSince:  since.UTC().Format(time.RFC3339),
			TagReason: shortReason(s),
		}}, true
	case s.Verdict == drift.VerdictInSync && cur != "" && cur != string(drift.VerdictInSync):
		since := s.Since
		if since.IsZero() {
			since = now
		}
		tc := TagChange{InstanceID: s.ID, Set: map[string]string{
			TagStatus: string(drift.VerdictInSync),
			TagSince:  since.UTC().Format(time.RFC3339),
		}}
		if _, ok := s.Tags[TagReason]; ok {
			tc.Delete = []string{TagReason}
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
