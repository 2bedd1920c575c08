package remediation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// Options build an Engine.
type Options struct {
	Config config.Remediation
	Reader Reader
	// Executor performs mutating calls. With Config.DryRun it is replaced by
	// a DryRun executor (reachable through Engine.DryRun).
	Executor   Executor
	KillSwitch *KillSwitchReader // nil: only the config flag counts
	Sink       EventSink         // nil: events are only logged and counted
	Metrics    *Metrics          // nil: unregistered metrics
	Log        *zap.Logger
	Now        func() time.Time // default time.Now
	// HookClient is the HTTP client for the pre-action hook (default:
	// outbound.NewClient; redirects are never followed whatever it is).
	HookClient *http.Client
}

// Engine runs remediation cycles. It is safe for concurrent use: Cycle
// calls are serialised; the HTTP API reads the state between them.
type Engine struct {
	cycleMu sync.Mutex // one cycle at a time

	mu       sync.Mutex // guards everything below
	cfg      config.Remediation
	state    State
	breakers map[string]bool // scope -> open
	killOn   bool
	blocked  map[string]SkipReason // instance -> last blocking reason (event dedup)
	dryOnce  map[string]bool       // dry-run actions already announced
	restored map[string]bool       // groups whose tags restore has read
	// known is each instance's last in_sync or drifted verdict (see
	// InstanceState.LastKnown); instances absent from a cycle are forgotten.
	known   map[string]knownVerdict
	last    *PlanResult
	lastErr string

	reader  Reader
	exec    Executor
	dry     *DryRun
	kill    *KillSwitchReader
	sink    EventSink
	metrics *Metrics
	log     *zap.Logger
	now     func() time.Time
	hook    *Hook
	hookC   *http.Client
	// nextAWS, when set, replaces reader, exec and kill at the start of the
	// next cycle (SetAWS), so no cycle mixes two sets of clients.
	nextAWS *engineAWS
}

type engineAWS struct {
	reader Reader
	exec   Executor
	kill   *KillSwitchReader
}

// NewEngine builds an engine.
func NewEngine(o Options) *Engine {
	e := &Engine{reader: o.Reader, exec: o.Executor, kill: o.KillSwitch, sink: o.Sink, metrics: o.Metrics, log: o.Log, now: o.Now, hookC: o.HookClient,
		breakers: map[string]bool{}, blocked: map[string]SkipReason{}, dryOnce: map[string]bool{}, restored: map[string]bool{},
		known: map[string]knownVerdict{}}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.metrics == nil {
		e.metrics = NewMetrics(nil)
	}
	if e.kill == nil {
		e.kill = &KillSwitchReader{}
	}
	e.state.Groups = map[string]GroupHistory{}
	e.SetConfig(o.Config)
	return e
}

// SetConfig swaps the configuration (on reload). dry_run switches the
// executor to a DryRun decorator.
func (e *Engine) SetConfig(c config.Remediation) {
	c.Groups = append([]config.RemediationGroup(nil), c.Groups...)
	c.ApplyDefaults()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = c
	if c.DryRun && e.dry == nil {
		e.dry = &DryRun{Log: e.log}
	}
	e.hook = nil
	if c.Hook.URL != "" {
		e.hook = &Hook{URL: c.Hook.URL, Timeout: c.Hook.Timeout, Client: e.hookC}
	}
}

// SetAWS replaces the reader, executor and kill-switch reader (the daemon
// hands the engine each configuration generation's AWS clients). A running
// cycle finishes with the ones it started with; the next cycle uses these.
func (e *Engine) SetAWS(r Reader, x Executor, k *KillSwitchReader) {
	if k == nil {
		k = &KillSwitchReader{}
	}
	e.mu.Lock()
	e.nextAWS = &engineAWS{reader: r, exec: x, kill: k}
	e.mu.Unlock()
}

// adoptAWS switches to the clients SetAWS handed over. Called with cycleMu
// held: reader and kill are read only by the cycle, exec also under mu.
func (e *Engine) adoptAWS() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := e.nextAWS; n != nil {
		e.reader, e.exec, e.kill, e.nextAWS = n.reader, n.exec, n.kill, nil
	}
}

// DryRun returns the dry-run recorder (nil when dry_run was never on).
func (e *Engine) DryRun() *DryRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dry
}

func (e *Engine) executor() (Executor, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg.DryRun {
		return e.dry, true
	}
	return e.exec, false
}

func (e *Engine) emit(ctx context.Context, ev Event) {
	logEvent(e.log, ev)
	if e.sink != nil {
		e.sink.Emit(ctx, ev)
	}
}

// Cycle runs one remediation cycle for the verdicts of the latest scan:
// observe the groups, track in-flight replacements, plan, tag, act. A read
// of Auto Scaling or EC2 state that fails fails closed for the groups it
// covered only: they are skipped this cycle (group_state_unknown), their
// in-flight replacements are neither advanced nor failed, and every other
// group proceeds.
func (e *Engine) Cycle(ctx context.Context, instances []InstanceState) (PlanResult, error) {
	e.cycleMu.Lock()
	defer e.cycleMu.Unlock()
	e.adoptAWS()
	if e.reader == nil || e.exec == nil {
		return e.fail(errors.New("engine has no AWS reader or executor"))
	}
	now := e.now()
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	pol := compile(cfg)

	// Kill switch first.
	ks := e.kill.Read(ctx, cfg)
	e.noteKillSwitch(ctx, ks, now)

	obs := e.observe(ctx, instances, pol)
	e.rememberVerdicts(obs.insts)
	e.track(ctx, obs.insts, obs.facts, obs.refreshes, obs.unknown, pol, now)
	plan := e.plan(ctx, cfg, obs, ks, now)

	exec, dry := e.executor()
	e.applyTags(ctx, exec, plan.Tags)
	final := e.execute(ctx, exec, dry, plan, pol)
	e.noteBlocked(ctx, final, now)
	e.metrics.observePlan(final)
	e.mu.Lock()
	e.last = &final
	e.lastErr = ""
	e.mu.Unlock()
	return final, nil
}

// plan runs Plan on what this cycle observed and the engine's memory, and
// notes breaker changes and cleared operator overrides.
func (e *Engine) plan(ctx context.Context, cfg config.Remediation, obs observation, ks KillSwitch, now time.Time) PlanResult {
	e.mu.Lock()
	st := e.snapshotStateLocked()
	e.mu.Unlock()
	plan := Plan(PlanInput{Now: now, Config: cfg, Instances: obs.insts, Groups: obs.facts, State: st, KillSwitch: ks, ReadFailures: obs.failures})
	e.noteBreakers(ctx, plan, now)
	e.clearOverrides(plan)
	return plan
}

// applyTags writes the plan's instance tags (the plan carries none while
// the kill switch is engaged). A failed tag is logged; it is written again
// next cycle.
func (e *Engine) applyTags(ctx context.Context, exec Executor, tags []TagChange) {
	for _, tc := range tags {
		if err := exec.Tag(ctx, tc); err != nil {
			e.log.Warn("tagging instance failed", zap.String("instance", tc.InstanceID), zap.Error(err))
		}
	}
}

// execute carries out the plan's actions, each re-validated right before
// acting; an action not taken becomes a skip of each instance it covers.
func (e *Engine) execute(ctx context.Context, exec Executor, dry bool, plan PlanResult, pol *policy) PlanResult {
	final := plan
	final.Actions = []Action{}
	for _, a := range plan.Actions {
		if reason, detail := e.act(ctx, exec, dry, a, pol); reason != "" {
			for _, id := range actionInstances(a) {
				final.Skipped = append(final.Skipped, Skip{InstanceID: id, Group: a.Group, Reason: reason, Detail: detail})
			}
			continue
		}
		final.Actions = append(final.Actions, a)
	}
	return final
}

type knownVerdict struct {
	verdict drift.Verdict
	amiOnly bool
}

// rememberVerdicts records the in_sync and drifted verdicts of insts and
// gives every unknown or stale instance the last one it had (LastKnown),
// for the group and fleet counts. Instances not in insts are forgotten.
func (e *Engine) rememberVerdicts(insts []InstanceState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := make(map[string]knownVerdict, len(insts))
	for i := range insts {
		s := &insts[i]
		switch s.Verdict {
		case drift.VerdictDrifted, drift.VerdictInSync:
			next[s.ID] = knownVerdict{s.Verdict, s.AMIOnly}
		case drift.VerdictUnknown, drift.VerdictStale:
			if k, ok := e.known[s.ID]; ok {
				next[s.ID] = k
				if s.LastKnown == "" {
					s.LastKnown, s.LastKnownAMIOnly = k.verdict, k.amiOnly
				}
			}
		}
	}
	e.known = next
}

// observation is what one cycle read about the groups and instances.
type observation struct {
	facts     map[string]GroupFacts
	refreshes map[string][]RefreshInfo
	// insts are the scan's instances with unknown tags filled in.
	insts    []InstanceState
	failures []ReadFailure
	// unknown are the groups with a failed read.
	unknown map[string]bool
}

func (o *observation) fail(f ReadFailure) {
	o.failures = append(o.failures, f)
	if f.Group != "" {
		o.unknown[f.Group] = true
	}
}

// observe reads the groups referenced by verdicts and by in-flight work,
// the instance details (tags, launch times) of groups driftd may tag or act
// on, and the instance refreshes of groups it may act on. A failed read
// becomes a ReadFailure for the groups it covered.
func (e *Engine) observe(ctx context.Context, instances []InstanceState, pol *policy) observation {
	o := observation{refreshes: map[string][]RefreshInfo{}, unknown: map[string]bool{}}
	e.describeGroups(ctx, instances, &o)

	// After a restart, rebuild in-flight work and failure counts from tags.
	e.restore(o.facts, pol)

	e.mu.Lock()
	inflight := append([]InFlight(nil), e.state.InFlight...)
	e.mu.Unlock()
	reads := planReads(o.facts, instances, inflight, pol)
	infos, instErrs := e.reader.DescribeInstances(ctx, reads.ids)
	o.failInstances(reads, instErrs)
	e.readRefreshes(ctx, reads.refresh, &o)
	for name, g := range o.facts {
		for i := range g.Instances {
			if info, ok := infos[g.Instances[i].ID]; ok {
				g.Instances[i].LaunchTime = info.LaunchTime
			}
		}
		o.facts[name] = g
	}
	o.insts = make([]InstanceState, len(instances))
	copy(o.insts, instances)
	for i := range o.insts {
		if o.insts[i].Tags == nil {
			if info, ok := infos[o.insts[i].ID]; ok {
				o.insts[i].Tags = info.Tags
			}
		}
	}
	e.logReadFailures(o.failures)
	return o
}

// describeGroups describes the groups of the verdicts and of the in-flight
// work into o.facts; each group that could not be read is a failure.
func (e *Engine) describeGroups(ctx context.Context, instances []InstanceState, o *observation) {
	names := map[string]bool{}
	for _, s := range instances {
		if s.ASG != "" {
			names[s.ASG] = true
		}
	}
	e.mu.Lock()
	for _, f := range e.state.InFlight {
		names[f.Group] = true
	}
	e.mu.Unlock()
	facts, groupErrs := e.reader.DescribeGroups(ctx, sortedKeys(names))
	if facts == nil {
		facts = map[string]GroupFacts{}
	}
	o.facts = facts
	for _, n := range sortedKeys(groupErrs) {
		o.fail(readFailure(n, CallDescribeGroups, groupErrs[n]))
	}
}

// reads are the instance and refresh reads a cycle needs.
type reads struct {
	// ids are the instances whose details are read, group by group (so a
	// failed batch covers few groups); memberOf maps them to their group.
	ids      []string
	memberOf map[string]string
	// refresh are the groups whose instance refreshes are read.
	refresh map[string]bool
}

// planReads chooses the reads: the members of groups driftd may tag or act
// on (or with work in flight), the instances outside groups when the
// default mode flags, and the refreshes of groups with an instance refresh
// in flight or a drifted candidate in a mode that may replace.
func planReads(facts map[string]GroupFacts, instances []InstanceState, inflight []InFlight, pol *policy) reads {
	r := reads{memberOf: map[string]string{}, refresh: map[string]bool{}}
	inFlightGroups := map[string]bool{}
	for _, f := range inflight {
		inFlightGroups[f.Group] = true
		if f.Kind == ActionInstanceRefresh {
			r.refresh[f.Group] = true
		}
	}
	for _, name := range sortedKeys(facts) {
		f := facts[name]
		gp, matched := pol.groupFor(name)
		mode, _, _ := pol.resolveMode(gp, matched, f.Tags)
		if mode >= modeFlag || inFlightGroups[name] {
			for _, m := range f.Instances {
				r.ids = append(r.ids, m.ID)
				r.memberOf[m.ID] = name
			}
		}
		if mode >= modeApprove {
			for _, s := range instances {
				if s.ASG == name && s.Verdict == drift.VerdictDrifted && s.ConsecutiveScans >= pol.debounce {
					r.refresh[name] = true
				}
			}
		}
	}
	if pol.modeDefault >= modeFlag {
		for _, s := range instances {
			if s.ASG == "" && s.Tags == nil {
				r.ids = append(r.ids, s.ID)
			}
		}
	}
	return r
}

// failInstances records one failure per group and error of the instance
// reads, listing its unread instances.
func (o *observation) failInstances(r reads, instErrs map[string]error) {
	if len(instErrs) == 0 {
		return
	}
	type key struct{ group, err string }
	var order []key
	byKey := map[key][]string{}
	errOf := map[key]error{}
	for _, id := range uniq(r.ids) {
		err, ok := instErrs[id]
		if !ok {
			continue
		}
		k := key{r.memberOf[id], err.Error()}
		if _, seen := byKey[k]; !seen {
			order = append(order, k)
			errOf[k] = err
		}
		byKey[k] = append(byKey[k], id)
	}
	for _, k := range order {
		f := readFailure(k.group, CallDescribeInstances, errOf[k])
		f.Instances = byKey[k]
		o.fail(f)
	}
}

// readRefreshes reads the instance refreshes of the groups that need them
// and could be described; a group with an active refresh is marked so.
func (e *Engine) readRefreshes(ctx context.Context, groups map[string]bool, o *observation) {
	for _, name := range sortedKeys(groups) {
		if _, ok := o.facts[name]; !ok || o.unknown[name] {
			continue
		}
		rs, err := e.reader.Refreshes(ctx, name)
		if err != nil {
			o.fail(readFailure(name, CallDescribeRefreshes, err))
			continue
		}
		o.refreshes[name] = rs
		g := o.facts[name]
		for _, r := range rs {
			if r.Active() {
				g.RefreshActive = true
			}
		}
		o.facts[name] = g
	}
}

func readFailure(group, call string, err error) ReadFailure {
	f := ReadFailure{Group: group, Call: call, Error: err.Error()}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		f.Code = ae.ErrorCode()
	}
	return f
}

// logReadFailures logs each distinct failed read once, with its groups.
func (e *Engine) logReadFailures(fs []ReadFailure) {
	type key struct{ call, err string }
	var order []key
	groups := map[key][]string{}
	instances := map[key]int{}
	for _, f := range fs {
		k := key{f.Call, f.Error}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			groups[k] = nil
		}
		if f.Group != "" {
			groups[k] = append(groups[k], f.Group)
		}
		instances[k] += len(f.Instances)
	}
	for _, k := range order {
		fields := []zap.Field{zap.String("call", k.call), zap.Strings("asgs", groups[k]), zap.String("error", k.err)}
		if n := instances[k]; n > 0 {
			fields = append(fields, zap.Int("instances", n))
		}
		e.log.Warn("could not read Auto Scaling or EC2 state: these groups are skipped this cycle (group_state_unknown)", fields...)
	}
}

func actionInstances(a Action) []string {
	if a.InstanceID != "" {
		return []string{a.InstanceID}
	}
	return a.Covers
}

func (e *Engine) fail(err error) (PlanResult, error) {
	e.mu.Lock()
	e.lastErr = err.Error()
	e.mu.Unlock()
	e.log.Warn("remediation cycle aborted before acting", zap.Error(err))
	return PlanResult{}, fmt.Errorf("remediation: %w", err)
}

// act executes one action; it returns a skip reason when it did not act.
func (e *Engine) act(ctx context.Context, exec Executor, dry bool, a Action, pol *policy) (SkipReason, string) {
	e.mu.Lock()
	cfg := e.cfg
	hook := e.hook
	e.mu.Unlock()
	// The kill switch is read again: it stops actions immediately.
	if ks := e.kill.Read(ctx, cfg); ks.Engaged {
		e.noteKillSwitch(ctx, ks, e.now())
		return SkipKillSwitch, killDetail(ks)
	}
	if reason, detail := e.revalidate(ctx, a, pol); reason != "" {
		e.metrics.Remediations.WithLabelValues(a.Group, string(a.Kind), ResultSkipped).Inc()
		e.emit(ctx, Event{Type: EventBlocked, Time: e.now(), Group: a.Group, InstanceID: a.InstanceID, Action: a.Kind, Reason: string(reason), Detail: detail})
		return reason, detail
	}
	if !dry && hook != nil {
		ok, why := hook.Allow(ctx, HookPayload{Version: HookPayloadVersion, Time: e.now(), Action: a.Kind, Group: a.Group, InstanceID: a.InstanceID,
			Covers: a.Covers, Severity: a.Severity.String(), Reason: a.Reason, DriftSince: a.DriftSince, Approved: a.Approved})
		if !ok {
			e.metrics.Remediations.WithLabelValues(a.Group, string(a.Kind), ResultSkipped).Inc()
			e.emit(ctx, Event{Type: EventBlocked, Time: e.now(), Group: a.Group, InstanceID: a.InstanceID, Action: a.Kind, Reason: string(SkipHookVeto), Detail: why})
			return SkipHookVeto, why
		}
	}
	started := e.now()
	refreshID, err := exec.Replace(ctx, a)
	if errors.Is(err, ErrDryRun) {
		e.metrics.Remediations.WithLabelValues(a.Group, string(a.Kind), ResultDryRun).Inc()
		key := a.Group + "/" + a.InstanceID
		e.mu.Lock()
		announced := e.dryOnce[key]
		e.dryOnce[key] = true
		e.mu.Unlock()
		if announced {
			return "", ""
		}
		e.emit(ctx, Event{Type: EventStarted, Time: started, Group: a.Group, InstanceID: a.InstanceID, Action: a.Kind, Reason: a.Reason, DryRun: true,
			Detail: "dry run: would " + string(a.Kind)})
		return "", ""
	}
	if err != nil {
		e.metrics.Remediations.WithLabelValues(a.Group, string(a.Kind), ResultFailed).Inc()
		e.emit(ctx, Event{Type: EventFailed, Time: started, Group: a.Group, InstanceID: a.InstanceID, Action: a.Kind, Reason: "api_error", Detail: err.Error()})
		e.recordFailure(ctx, exec, a.Group, started)
		return SkipExecutionFailed, err.Error()
	}
	rec := InFlight{Group: a.Group, InstanceID: a.InstanceID, Kind: a.Kind, Started: started, RefreshID: refreshID}
	e.mu.Lock()
	e.state.InFlight = append(e.state.InFlight, rec)
	e.state.RecentActions = append(e.state.RecentActions, started)
	if a.InstanceID != "" {
		e.state.Approvals = removeApproval(e.state.Approvals, a.InstanceID)
	}
	recs := e.groupInFlightLocked(a.Group)
	e.mu.Unlock()
	e.metrics.Remediations.WithLabelValues(a.Group, string(a.Kind), ResultStarted).Inc()
	e.emit(ctx, Event{Type: EventStarted, Time: started, Group: a.Group, InstanceID: a.InstanceID, Action: a.Kind, Reason: a.Reason,
		Detail: fmt.Sprintf("severity %s, drifted since %s", a.Severity, a.DriftSince.UTC().Format(time.RFC3339))})
	// Record the action where a restarted daemon will find it.
	for _, id := range actionInstances(a) {
		if err := exec.Tag(ctx, TagChange{InstanceID: id, Set: map[string]string{drift.TagAction: formatActionTag(a.Kind, started)}}); err != nil {
			e.log.Warn("recording action tag failed", zap.String("instance", id), zap.Error(err))
		}
	}
	if err := exec.TagGroup(ctx, a.Group, map[string]string{drift.TagInFlight: formatInFlight(recs)}, nil); err != nil {
		e.log.Warn("recording in-flight set on the group failed", zap.String("asg", a.Group), zap.Error(err))
	}
	return "", ""
}

// revalidate re-reads the instance and group right before acting.
func (e *Engine) revalidate(ctx context.Context, a Action, pol *policy) (SkipReason, string) {
	if a.Kind != ActionInstanceRefresh {
		m, ok, err := e.reader.DescribeMember(ctx, a.InstanceID)
		if err != nil {
			return SkipRevalidation, err.Error()
		}
		if !ok || m.Group != a.Group {
			return SkipRevalidation, "instance is no longer a member of " + a.Group
		}
		if m.LifecycleState != "InService" {
			return SkipNotInService, "lifecycle state " + m.LifecycleState
		}
		if !strings.EqualFold(m.HealthStatus, "HEALTHY") {
			return SkipNotInService, "health status " + m.HealthStatus
		}
		infos, failed := e.reader.DescribeInstances(ctx, []string{a.InstanceID})
		if err := failed[a.InstanceID]; err != nil {
			return SkipRevalidation, err.Error()
		}
		if p, d := protected(infos[a.InstanceID].Tags, e.now()); p {
			return SkipProtected, d
		}
	}
	facts, failed := e.reader.DescribeGroups(ctx, []string{a.Group})
	if err := failed[a.Group]; err != nil {
		return SkipRevalidation, err.Error()
	}
	g, ok := facts[a.Group]
	if !ok {
		return SkipRevalidation, "group " + a.Group + " no longer exists"
	}
	for _, p := range g.SuspendedProcesses {
		for _, b := range suspendedBlocking {
			if p == b {
				return SkipSuspended, "suspended process " + p
			}
		}
	}
	inService := 0
	for _, m := range g.Instances {
		if m.LifecycleState == "InService" && (m.HealthStatus == "" || strings.EqualFold(m.HealthStatus, "Healthy")) {
			inService++
		}
	}
	e.mu.Lock()
	own := len(e.groupInFlightLocked(a.Group))
	e.mu.Unlock()
	if inService < g.Desired-own {
		return SkipGroupUnhealthy, fmt.Sprintf("%d healthy InService of desired %d (%d replacements in flight)", inService, g.Desired, own)
	}
	rs, err := e.reader.Refreshes(ctx, a.Group)
	if err != nil {
		return SkipRevalidation, err.Error()
	}
	for _, r := range rs {
		if r.Active() {
			return SkipRefreshActive, "instance refresh " + r.ID + " is " + r.Status
		}
	}
	return "", ""
}

// track advances in-flight replacements: done when the old instance is gone
// and a replacement launched after the action is InService and in sync;
// failed when the replacement came up drifted or the timeout passed.
//
// A replacement in a group whose state could not be read this cycle
// (unknown) stays pending: a read error never completes or fails one.
func (e *Engine) track(ctx context.Context, insts []InstanceState, facts map[string]GroupFacts, refreshes map[string][]RefreshInfo, unknown map[string]bool, pol *policy, now time.Time) {
	verdicts := map[string]drift.Verdict{}
	for _, s := range insts {
		verdicts[s.ID] = s.Verdict
	}
	e.mu.Lock()
	recs := append([]InFlight(nil), e.state.InFlight...)
	e.mu.Unlock()
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Started.Before(recs[j].Started) })
	claimed := map[string]bool{}
	var keep []InFlight
	changed := map[string]bool{}
	exec, _ := e.executor()
	for _, r := range recs {
		if unknown[r.Group] {
			keep = append(keep, r)
			continue
		}
		status, detail, newID := trackOne(r, facts, verdicts, refreshes, claimed, pol.timeout, now)
		switch status {
		case trackPending:
			keep = append(keep, r)
			continue
		case trackDone:
			changed[r.Group] = true
			e.metrics.Remediations.WithLabelValues(r.Group, string(r.Kind), ResultSucceeded).Inc()
			e.emit(ctx, Event{Type: EventSucceeded, Time: now, Group: r.Group, InstanceID: r.InstanceID, Action: r.Kind, Detail: detail})
			e.mu.Lock()
			h := e.state.Groups[r.Group]
			hadFailures := h.ConsecutiveFailures > 0
			h.ConsecutiveFailures, h.LastFailure = 0, time.Time{}
			e.state.Groups[r.Group] = h
			e.mu.Unlock()
			if hadFailures {
				if err := exec.TagGroup(ctx, r.Group, nil, []string{drift.TagFailures}); err != nil {
					e.log.Warn("clearing failure count on the group failed", zap.String("asg", r.Group), zap.Error(err))
				}
			}
			_ = newID
		case trackFailed:
			changed[r.Group] = true
			e.metrics.Remediations.WithLabelValues(r.Group, string(r.Kind), ResultFailed).Inc()
			e.emit(ctx, Event{Type: EventFailed, Time: now, Group: r.Group, InstanceID: r.InstanceID, Action: r.Kind, Reason: "replacement_failed", Detail: detail})
			e.recordFailure(ctx, exec, r.Group, now)
		}
	}
	e.mu.Lock()
	e.state.InFlight = keep
	var saves []struct {
		g string
		v string
	}
	for g := range changed {
		saves = append(saves, struct {
			g string
			v string
		}{g, formatInFlight(e.groupInFlightLocked(g))})
	}
	e.mu.Unlock()
	for _, s := range saves {
		var err error
		if s.v == "" {
			err = exec.TagGroup(ctx, s.g, nil, []string{drift.TagInFlight})
		} else {
			err = exec.TagGroup(ctx, s.g, map[string]string{drift.TagInFlight: s.v}, nil)
		}
		if err != nil {
			e.log.Warn("updating in-flight set on the group failed", zap.String("asg", s.g), zap.Error(err))
		}
	}
}

type trackStatus int

const (
	trackPending trackStatus = iota
	trackDone
	trackFailed
)

// launchSkew tolerates clock differences between driftd and EC2.
const launchSkew = time.Minute

func trackOne(r InFlight, facts map[string]GroupFacts, verdicts map[string]drift.Verdict, refreshes map[string][]RefreshInfo, claimed map[string]bool, timeout time.Duration, now time.Time) (trackStatus, string, string) {
	if r.Kind == ActionInstanceRefresh {
		for _, rf := range refreshes[r.Group] {
			if rf.ID != r.RefreshID {
				continue
			}
			switch rf.Status {
			case "Successful":
				return trackDone, "instance refresh " + rf.ID + " successful", ""
			case "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed":
				return trackFailed, "instance refresh " + rf.ID + " ended " + rf.Status, ""
			}
			return trackPending, "", ""
		}
		if now.Sub(r.Started) > 48*time.Hour {
			return trackFailed, "instance refresh " + r.RefreshID + " not found", ""
		}
		return trackPending, "", ""
	}
	expired := now.Sub(r.Started) > timeout
	g := facts[r.Group]
	for _, m := range g.Instances {
		if m.ID == r.InstanceID && (m.LifecycleState == "InService" || strings.HasPrefix(m.LifecycleState, "Pending")) && !strings.EqualFold(m.HealthStatus, "Unhealthy") {
			if expired {
				return trackFailed, fmt.Sprintf("instance %s was not replaced within %s", r.InstanceID, timeout), ""
			}
			return trackPending, "", ""
		}
	}
	// The old instance is gone or going: find its replacement.
	var drifted string
	for _, m := range g.Instances {
		if m.ID == r.InstanceID || claimed[m.ID] || m.LaunchTime.IsZero() || m.LaunchTime.Before(r.Started.Add(-launchSkew)) {
			continue
		}
		if m.LifecycleState != "InService" {
			continue
		}
		switch verdicts[m.ID] {
		case drift.VerdictInSync:
			claimed[m.ID] = true
			return trackDone, fmt.Sprintf("replacement %s is InService and in sync", m.ID), m.ID
		case drift.VerdictDrifted:
			drifted = m.ID
		}
	}
	if drifted != "" {
		claimed[drifted] = true
		return trackFailed, fmt.Sprintf("replacement %s came up drifted: suspect the launch template or the baseline", drifted), drifted
	}
	if expired {
		return trackFailed, fmt.Sprintf("no replacement for %s was InService and in sync within %s", r.InstanceID, timeout), ""
	}
	return trackPending, "", ""
}

func (e *Engine) recordFailure(ctx context.Context, exec Executor, group string, at time.Time) {
	e.mu.Lock()
	h := e.state.Groups[group]
	h.ConsecutiveFailures++
	h.LastFailure = at
	e.state.Groups[group] = h
	e.mu.Unlock()
	if err := exec.TagGroup(ctx, group, map[string]string{drift.TagFailures: formatFailures(h)}, nil); err != nil {
		e.log.Warn("recording failure count on the group failed", zap.String("asg", group), zap.Error(err))
	}
}

// restore rebuilds in-flight work and failure counts from group tags, once
// per group: the first cycle that describes the group (a group that could
// not be read is restored on the first cycle that reads it).
func (e *Engine) restore(facts map[string]GroupFacts, pol *policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	have := map[string]bool{}
	for _, f := range e.state.InFlight {
		have[f.Group+"/"+f.InstanceID+"/"+f.RefreshID] = true
	}
	for _, name := range sortedKeys(facts) {
		if e.restored[name] {
			continue
		}
		e.restored[name] = true
		g := facts[name]
		if v, ok := g.Tags[drift.TagInFlight]; ok {
			recs, errs := parseInFlight(name, v, pol.action)
			for _, err := range errs {
				e.log.Warn("ignoring malformed in-flight entry", zap.Error(err))
			}
			for _, r := range recs {
				if !have[r.Group+"/"+r.InstanceID+"/"+r.RefreshID] {
					e.state.InFlight = append(e.state.InFlight, r)
					e.state.RecentActions = append(e.state.RecentActions, r.Started)
				}
			}
			if len(recs) > 0 {
				e.log.Info("restored in-flight remediation from group tags", zap.String("asg", name), zap.Int("count", len(recs)))
			}
		}
		if v, ok := g.Tags[drift.TagFailures]; ok {
			if h, ok := parseFailures(v); ok {
				cur := e.state.Groups[name]
				if h.ConsecutiveFailures > cur.ConsecutiveFailures {
					cur.ConsecutiveFailures, cur.LastFailure = h.ConsecutiveFailures, h.LastFailure
					e.state.Groups[name] = cur
				}
			}
		}
	}
}

func (e *Engine) groupInFlightLocked(group string) []InFlight {
	var out []InFlight
	for _, f := range e.state.InFlight {
		if f.Group == group {
			out = append(out, f)
		}
	}
	return out
}

func (e *Engine) snapshotStateLocked() State {
	now := e.now()
	st := State{FleetOverride: e.state.FleetOverride, Groups: map[string]GroupHistory{}}
	st.InFlight = append(st.InFlight, e.state.InFlight...)
	for k, v := range e.state.Groups {
		st.Groups[k] = v
	}
	// Forget what no longer matters.
	var recent []time.Time
	for _, t := range e.state.RecentActions {
		if now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	e.state.RecentActions = recent
	st.RecentActions = append(st.RecentActions, recent...)
	var approvals []Approval
	for _, a := range e.state.Approvals {
		if now.Before(a.Expires) {
			approvals = append(approvals, a)
		}
	}
	e.state.Approvals = approvals
	st.Approvals = append(st.Approvals, approvals...)
	return st
}

func (e *Engine) noteKillSwitch(ctx context.Context, ks KillSwitch, now time.Time) {
	e.mu.Lock()
	was := e.killOn
	e.killOn = ks.Engaged
	e.mu.Unlock()
	e.metrics.KillSwitch.Set(b2f(ks.Engaged))
	switch {
	case ks.Engaged && !was:
		e.emit(ctx, Event{Type: EventKillSwitchEngaged, Time: now, Scope: FleetScope, Reason: ks.Source, Detail: ks.Detail})
	case !ks.Engaged && was:
		e.emit(ctx, Event{Type: EventKillSwitchRelease, Time: now, Scope: FleetScope})
	}
}

func (e *Engine) noteBreakers(ctx context.Context, p PlanResult, now time.Time) {
	cur := map[string]Breaker{FleetScope: p.Fleet}
	for _, g := range p.Groups {
		cur[g.Name] = g.Breaker
	}
	e.mu.Lock()
	var evs []Event
	for scope, b := range cur {
		if b.Open && !e.breakers[scope] {
			evs = append(evs, Event{Type: EventBreakerOpened, Time: now, Scope: scope, Group: groupOf(scope), Reason: b.Kind, Detail: b.Detail})
		}
		if !b.Open && e.breakers[scope] {
			evs = append(evs, Event{Type: EventBreakerClosed, Time: now, Scope: scope, Group: groupOf(scope)})
		}
		e.breakers[scope] = b.Open
	}
	e.mu.Unlock()
	sort.Slice(evs, func(i, j int) bool { return evs[i].Scope < evs[j].Scope })
	for _, ev := range evs {
		e.emit(ctx, ev)
	}
}

func groupOf(scope string) string {
	if scope == FleetScope {
		return ""
	}
	return scope
}

// clearOverrides drops an operator reset once its condition has cleared.
func (e *Engine) clearOverrides(p PlanResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.FleetOverride && p.Fleet.Kind == "" {
		e.state.FleetOverride = false
	}
	for _, g := range p.Groups {
		h, ok := e.state.Groups[g.Name]
		if ok && h.Override && g.Breaker.Kind != "drift_share" {
			h.Override = false
			e.state.Groups[g.Name] = h
		}
	}
}

// noteBlocked emits remediation.blocked when an instance becomes blocked
// by a safety gate (not for report-only modes, debounce or severity), once
// per reason change.
func (e *Engine) noteBlocked(ctx context.Context, p PlanResult, now time.Time) {
	quiet := map[SkipReason]bool{SkipModeOff: true, SkipModeFlag: true, SkipDebounce: true, SkipSeverity: true, SkipInFlight: true, SkipNotInGroup: true}
	e.mu.Lock()
	next := map[string]SkipReason{}
	var evs []Event
	for _, s := range p.Skipped {
		if quiet[s.Reason] {
			continue
		}
		next[s.InstanceID] = s.Reason
		if e.blocked[s.InstanceID] != s.Reason && s.Reason != SkipHookVeto && s.Reason != SkipRevalidation && s.Reason != SkipExecutionFailed {
			evs = append(evs, Event{Type: EventBlocked, Time: now, Group: s.Group, InstanceID: s.InstanceID, Reason: string(s.Reason), Detail: s.Detail})
		}
	}
	e.blocked = next
	e.mu.Unlock()
	for _, ev := range evs {
		e.emit(ctx, ev)
	}
}

// Approve records an operator approval for an instance in an `approve`
// group. ttl <= 0 or above approvals.ttl uses approvals.ttl.
func (e *Engine) Approve(instanceID, by string, ttl time.Duration) (Approval, error) {
	if !validInstanceID(instanceID) {
		return Approval{}, fmt.Errorf("%q is not an EC2 instance id", instanceID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	maxTTL := e.cfg.Approvals.TTL
	if ttl <= 0 || ttl > maxTTL {
		ttl = maxTTL
	}
	now := e.now()
	a := Approval{InstanceID: instanceID, By: by, Created: now, Expires: now.Add(ttl)}
	e.state.Approvals = append(removeApproval(e.state.Approvals, instanceID), a)
	e.log.Info("remediation approved", zap.String("instance", instanceID), zap.String("by", by), zap.Time("expires", a.Expires))
	return a, nil
}

// Revoke deletes an approval; it reports whether one existed.
func (e *Engine) Revoke(instanceID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.state.Approvals)
	e.state.Approvals = removeApproval(e.state.Approvals, instanceID)
	return len(e.state.Approvals) != n
}

// Approvals lists unexpired approvals.
func (e *Engine) Approvals() []Approval {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := []Approval{}
	for _, a := range e.state.Approvals {
		if now.Before(a.Expires) {
			out = append(out, a)
		}
	}
	return out
}

// ResetBreaker is the operator reset for a group (or "fleet"): it clears
// the failure count and suppresses the drift-share breaker until its
// condition clears once. The group's driftd:failures tag is removed.
func (e *Engine) ResetBreaker(ctx context.Context, scope string) error {
	if scope == "" {
		return errors.New("scope (an Auto Scaling group name or \"fleet\") is required")
	}
	e.mu.Lock()
	if scope == FleetScope {
		e.state.FleetOverride = true
		e.mu.Unlock()
		e.log.Info("fleet breaker reset by an operator")
		return nil
	}
	h := e.state.Groups[scope]
	hadFailures := h.ConsecutiveFailures > 0
	h.ConsecutiveFailures, h.LastFailure, h.Override = 0, time.Time{}, true
	e.state.Groups[scope] = h
	e.mu.Unlock()
	e.log.Info("group breaker reset by an operator", zap.String("asg", scope))
	if hadFailures {
		exec, _ := e.executor()
		if err := exec.TagGroup(ctx, scope, nil, []string{drift.TagFailures}); err != nil {
			return err
		}
	}
	return nil
}

// Status is the engine's state for the API.
type Status struct {
	KillSwitch bool                    `json:"kill_switch_engaged"`
	DryRun     bool                    `json:"dry_run"`
	InFlight   []InFlight              `json:"in_flight"`
	Groups     []GroupStatus           `json:"groups"`
	Breakers   []Breaker               `json:"breakers"`
	History    map[string]GroupHistory `json:"history,omitempty"`
	Approvals  []Approval              `json:"approvals"`
	LastPlan   *PlanResult             `json:"last_plan,omitempty"`
	LastError  string                  `json:"last_error,omitempty"`
}

// Status returns a copy of the current state.
func (e *Engine) Status() Status {
	approvals := e.Approvals()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{KillSwitch: e.killOn, DryRun: e.cfg.DryRun, InFlight: append([]InFlight{}, e.state.InFlight...), Approvals: approvals,
		LastError: e.lastErr, History: map[string]GroupHistory{}, Groups: []GroupStatus{}, Breakers: []Breaker{}}
	for k, v := range e.state.Groups {
		s.History[k] = v
	}
	if e.last != nil {
		p := *e.last
		s.LastPlan = &p
		s.Groups = p.Groups
		s.Breakers = append(s.Breakers, p.Fleet)
		for _, g := range p.Groups {
			s.Breakers = append(s.Breakers, g.Breaker)
		}
	}
	return s
}

func removeApproval(list []Approval, id string) []Approval {
	out := list[:0:0]
	for _, a := range list {
		if a.InstanceID != id {
			out = append(out, a)
		}
	}
	return out
}

func validInstanceID(s string) bool {
	if !strings.HasPrefix(s, "i-") || len(s) < 10 || len(s) > 19 {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
