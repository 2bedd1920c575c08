package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
	"github.com/driftd/driftd/scan"
)

// baselineConcurrency bounds the AMIs whose baselines are resolved at once.
const baselineConcurrency = 8

// scanner runs one scan with one runtime (configuration generation).
type scanner struct {
	rt      *generation
	store   *state.Store
	log     *zap.Logger
	rec     collectors.Recorder
	now     func() time.Time
	fromTag bool
	// policyVersion is the generation's policy version at the scan's time.
	policyVersion string
	// inv reads inventory (SSM API or data sync, see datasync.go);
	// noInventory is the unknown reason when an instance has none.
	inv         inventoryReader
	noInventory string
	// types settles, once per scan, which inventory types the account knows.
	types collectors.TypeGate
	// prog counts the scan's progress (nil: not tracked).
	prog *tracker
}

type baselineResult struct {
	m   *drift.Manifest
	res collectors.Resolution
	err error
}

// instanceOutcome is an instance's verdict before it is recorded in state.
type instanceOutcome struct {
	inst     collectors.Instance
	report   drift.Report
	reused   bool
	captures map[string]time.Time
	version  string
	// source and where name the baseline source that answered and where.
	source, where string
	errRsn        string
}

// scan runs the steps of one scan into res: discover, restore history from
// tags, resolve baselines, judge every instance, record the verdicts.
func (s *scanner) scan(ctx context.Context, sel collectors.Selection, res *scan.Result) error {
	now := s.now()
	s.policyVersion = s.rt.policyVersionAt(now)
	fleet, err := s.rt.discovery(s.rec).Discover(ctx, sel)
	if err != nil {
		return err
	}
	res.Groups = map[string]string{}
	for name, g := range fleet.Groups {
		res.Groups[name] = g.LaunchTemplateAMI
	}
	res.AgentLookup = fleet.AgentLookup
	s.prog.setDiscovered(len(fleet.Instances))
	s.prog.setPhase(scan.PhaseBaselines)
	if s.fromTag {
		s.restoreFromTags(fleet.Instances)
	}
	baselines := s.resolveBaselines(ctx, fleet)
	s.prog.setPhase(scan.PhaseComparing)
	outcomes := s.judge(ctx, fleet.Instances, baselines, now)
	s.noteInventoryTypes(res)
	if err := ctx.Err(); err != nil {
		// Timed out or cancelled: verdicts of this scan may rest on missing
		// calls; do not record any of them.
		return fmt.Errorf("scan interrupted: %w", err)
	}
	s.record(outcomes, res, now)
	if len(sel.InstanceIDs) == 0 {
		keep := make(map[string]bool, len(outcomes))
		for i := range outcomes {
			keep[outcomes[i].inst.ID] = true
		}
		s.store.Prune(keep) // a partial scan (--instance) must not forget the others
	}
	return nil
}

// restoreFromTags seeds the history of instances this process has not
// seen from their driftd:status and driftd:since tags.
func (s *scanner) restoreFromTags(instances []collectors.Instance) {
	for _, in := range instances {
		if _, ok := s.store.Get(in.ID); !ok {
			s.store.RestoreFromTags(in.ID, in.Tags[drift.TagStatus], in.Tags[drift.TagSince])
		}
	}
}

// resolveBaselines resolves each AMI's baseline once, several AMIs at a
// time, so one slow source answer (a hung file system, a slow bucket) does
// not hold the others back. It is timed as the baselines collector, failing
// when a source failed (a missing manifest is no failure).
func (s *scanner) resolveBaselines(ctx context.Context, fleet *collectors.Fleet) map[string]*baselineResult {
	baselines := map[string]*baselineResult{}
	var amis []string
	for _, in := range fleet.Instances {
		if _, ok := baselines[in.AMI]; !ok && in.AMI != "" {
			baselines[in.AMI] = &baselineResult{}
			amis = append(amis, in.AMI)
		}
	}
	_ = collectors.Run(s.rec, collectors.CollectorBaselines, func() error {
		var bg errgroup.Group
		bg.SetLimit(baselineConcurrency)
		for _, id := range amis {
			b := baselines[id]
			bg.Go(func() error {
				b.m, b.res, b.err = s.rt.chain.Resolve(ctx, fleet.AMIs[id])
				return nil
			})
		}
		_ = bg.Wait()
		var failed []string
		for _, id := range amis {
			for _, a := range baselines[id].res.Tried {
				if !a.Missing {
					failed = append(failed, a.Source+": "+a.Reason)
				}
			}
		}
		if len(failed) > 0 {
			return errors.New(strings.Join(failed, "; "))
		}
		return nil
	})
	return baselines
}

// judge collects and compares every instance, inventory.concurrency at a
// time, timed as the inventory collector.
func (s *scanner) judge(ctx context.Context, instances []collectors.Instance, baselines map[string]*baselineResult, now time.Time) []instanceOutcome {
	policy := s.rt.policy.At(now)
	outcomes := make([]instanceOutcome, len(instances))
	var invFailed atomic.Int64
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.rt.cfg.Inventory.Concurrency)
	for i := range instances {
		g.Go(func() error {
			o := s.instance(gctx, policy, instances[i], baselines[instances[i].AMI], now)
			if o.errRsn != "" {
				invFailed.Add(1)
				s.rec.CollectorError(collectors.CollectorInventory, o.errRsn)
			}
			outcomes[i] = o
			s.prog.addCompared()
			return nil
		})
	}
	_ = g.Wait()
	s.rec.ObserveCollector(collectors.CollectorInventory, time.Since(start), invFailed.Load() == 0 && ctx.Err() == nil)
	return outcomes
}

// noteInventoryTypes reports the inventory types SSM did not know this scan
// (once per scan, not per instance).
func (s *scanner) noteInventoryTypes(res *scan.Result) {
	res.InventoryTypes = s.types.Settled()
	for _, tu := range s.types.Unavailable() {
		res.InventoryTypesUnavailable = append(res.InventoryTypesUnavailable, scan.TypeNote{Type: tu.TypeName, Reason: tu.Note()})
		s.log.Warn("inventory type not collected", zap.String("type", tu.TypeName), zap.String("reason", tu.Note()),
			zap.Bool("configuration_problem", !strings.HasPrefix(tu.TypeName, "Custom:")))
	}
}

// record stores every verdict in the state and adds the instance to the
// result with its history; transitions are logged.
func (s *scanner) record(outcomes []instanceOutcome, res *scan.Result, now time.Time) {
	res.Summary = map[drift.Verdict]int{}
	res.Instances = make([]scan.InstanceResult, 0, len(outcomes))
	for i := range outcomes {
		o := &outcomes[i]
		prev, had := s.store.Record(&o.report, state.Inputs{
			Captures: o.captures, BaselineVersion: o.version, PolicyVersion: s.policyVersion,
			LaunchTemplateAMI: o.inst.LaunchTemplateAMI, Reused: o.reused, BaselineSource: o.source, BaselineWhere: o.where,
		}, now)
		entry, _ := s.store.Get(o.inst.ID)
		r := o.report
		ir := scan.InstanceResult{Report: &r, Reused: o.reused, History: history(entry), Instance: scanInstance(&o.inst)}
		if had {
			ir.Previous = prev.Verdict
		}
		ir.Transition = ir.Previous != r.Verdict && (had && prev.Verdict != "" || r.Verdict != drift.VerdictInSync)
		if o.reused {
			res.Reused++
		}
		res.Summary[r.Verdict]++
		res.Instances = append(res.Instances, ir)
		if ir.Transition {
			s.logTransition(&ir)
		}
	}
}

// history is the part of an instance's state entry the scan result
// carries (scan.History).
func history(e state.Entry) scan.History {
	return scan.History{FirstDrifted: e.FirstDrifted, ConsecutiveDrifted: e.ConsecutiveDrifted, LastTransition: e.LastTransition,
		FindingsTotal: e.FindingsTotal, Counts: e.Counts}
}

// scanInstance converts discovery's instance to the scan result's (the one
// conversion: the engines read only scan.Instance).
func scanInstance(in *collectors.Instance) scan.Instance {
	return scan.Instance{ID: in.ID, AMI: in.AMI, ASG: in.ASG, LaunchTemplateAMI: in.LaunchTemplateAMI, Tags: in.Tags, Managed: in.Agent != nil}
}

func (s *scanner) logTransition(ir *scan.InstanceResult) {
	r := ir.Report
	fields := []zap.Field{
		zap.String("instance_id", r.InstanceID), zap.String("asg", r.ASG), zap.String("ami", r.AMI),
		zap.String("verdict", string(r.Verdict)), zap.String("previous", string(ir.Previous)),
		zap.Strings("reasons", r.Reasons),
	}
	if r.Verdict == drift.VerdictDrifted {
		fields = append(fields, zap.String("severity", r.Severity.String()), zap.Int("findings", max(r.FindingsTotal, len(r.Findings))))
		top := drift.TopFindings(r.Findings, 5)
		s := make([]string, len(top))
		for i, f := range top {
			s[i] = f.String()
		}
		fields = append(fields, zap.Strings("top_findings", s))
	}
	s.log.Info("verdict changed", fields...)
}

// instance judges one instance. It never returns drift from partial data:
// any collection problem makes it unknown with the reason.
func (s *scanner) instance(ctx context.Context, policy *drift.CompiledPolicy, in collectors.Instance, b *baselineResult, now time.Time) instanceOutcome {
	j := judgement{o: instanceOutcome{inst: in}, policy: policy, b: b}
	if why, rsn := discoveryProblem(&in); why != "" {
		return j.unknown(why, rsn)
	}
	if b == nil || b.m == nil {
		return j.noBaseline()
	}
	if why := agentProblem(&in); why != "" {
		return j.unknown(why, "")
	}
	j.o.version = b.res.Version
	j.o.source, j.o.where = b.res.Source, b.res.Where
	inv := s.inv
	if inv == nil {
		inv = s.rt.inventory()
	}
	types, err := s.firstPages(ctx, inv, in)
	if err != nil {
		return j.unknown("collecting inventory: "+err.Error(), collectors.Reason(err))
	}
	if why := s.inventoryGap(types); why != "" {
		return j.unknown(why, "")
	}
	j.o.captures = captureTimes(types)

	// Unchanged since the last scan: reuse the previous verdict.
	if prev, ok := s.store.Get(in.ID); ok && s.reusable(prev, in, j.o.captures, b.res.Version) {
		j.o.report = reuse(prev, policy.At(now), s.rt.cfg.Inventory.MaxAge, now)
		j.o.reused = true
		return j.o
	}
	if rep, ok := s.decideEarly(policy, b.m, &in, j.o.captures, now); ok {
		j.o.report = rep
		return j.o
	}
	for _, td := range types {
		if !td.Present {
			continue
		}
		if err := inv.Rest(ctx, in.ID, td); err != nil {
			j.o.captures = nil // force a full read next scan
			return j.unknown("collecting inventory: "+err.Error(), collectors.Reason(err))
		}
	}
	j.o.report = policy.Compare(b.m, collectors.BuildSnapshot(in, types, b.m.PackageFormat))
	return j.o
}

// judgement is one instance's verdict in the making.
type judgement struct {
	o      instanceOutcome
	policy *drift.CompiledPolicy
	b      *baselineResult
}

// snapshot is the instance's snapshot without inventory.
func (j *judgement) snapshot() *drift.Snapshot {
	in := &j.o.inst
	return &drift.Snapshot{InstanceID: in.ID, AMI: in.AMI, ASG: in.ASG, Instance: drift.InstanceFacts{LaunchTemplateAMI: in.LaunchTemplateAMI}}
}

// unknown is the outcome of an instance that cannot be judged, with why;
// rsn is the collector error reason to count ("" none).
func (j *judgement) unknown(why, rsn string) instanceOutcome {
	snap := j.snapshot()
	snap.Unknown = why
	var m *drift.Manifest
	if j.b != nil {
		m = j.b.m
	}
	if m == nil {
		m = &drift.Manifest{} // an unknown instance stays unknown, even without baseline
	}
	j.o.report = j.policy.Compare(m, snap)
	j.o.errRsn = rsn
	return j.o
}

// noBaseline is the outcome of an instance whose AMI has no baseline; a
// source's error is the reason when there was one.
func (j *judgement) noBaseline() instanceOutcome {
	j.o.report = j.policy.Compare(nil, j.snapshot())
	if j.b != nil && j.b.err != nil && j.o.report.Verdict == drift.VerdictNoBaseline {
		j.o.report.Reasons = []string{j.b.err.Error()}
	}
	return j.o
}

// discoveryProblem says why discovery left the instance unjudgeable, with
// the collector error reason.
func discoveryProblem(in *collectors.Instance) (why, rsn string) {
	switch {
	case in.Unknown != "":
		return in.Unknown, collectors.ReasonDiscoveryFail
	case in.AMI == "":
		return "instance has no AMI id", ""
	}
	return "", ""
}

// agentProblem says why the instance's SSM agent cannot have fresh
// inventory ("" when it is online).
func agentProblem(in *collectors.Instance) string {
	switch {
	case in.Agent == nil:
		if in.AgentMissing != "" {
			return in.AgentMissing
		}
		return "instance is not registered with SSM (no agent status)"
	case in.Agent.PingStatus != "Online":
		why := "agent " + in.Agent.PingStatus
		if !in.Agent.LastPing.IsZero() {
			why += " since " + in.Agent.LastPing.UTC().Format(time.RFC3339)
		}
		return why
	}
	return ""
}

// firstPages reads the first page of each configured inventory type the
// instance's platform reports (which carries its CaptureTime). A type the
// account does not know is left out: not collected this scan, reported once
// in the scan result.
func (s *scanner) firstPages(ctx context.Context, inv inventoryReader, in collectors.Instance) ([]*collectors.TypeData, error) {
	types := make([]*collectors.TypeData, 0, len(s.rt.cfg.Inventory.Types))
	for _, t := range collectors.InventoryTypesFor(in, s.rt.cfg.Inventory.Types) { // only the types the instance's platform reports
		td, err := s.types.Do(ctx, t, func() (*collectors.TypeData, error) { return inv.First(ctx, in.ID, t) })
		var tu *collectors.TypeUnavailableError
		if errors.As(err, &tu) {
			continue
		}
		if err != nil {
			return nil, err
		}
		types = append(types, td)
	}
	return types, nil
}

// inventoryGap says why the inventory read is not enough to judge: none at
// all, or an AWS type the instance has not reported yet ("" when enough).
func (s *scanner) inventoryGap(types []*collectors.TypeData) string {
	present := 0
	var missing []string
	for _, td := range types {
		if td.Present {
			present++
		} else if strings.HasPrefix(td.TypeName, "AWS:") {
			missing = append(missing, td.TypeName)
		}
	}
	if present == 0 {
		return s.noInventory
	}
	if len(missing) > 0 {
		return "no inventory yet for " + strings.Join(missing, ", ")
	}
	return ""
}

// captureTimes are the CaptureTimes of the types present.
func captureTimes(types []*collectors.TypeData) map[string]time.Time {
	out := make(map[string]time.Time, len(types))
	for _, td := range types {
		if td.Present {
			out[td.TypeName] = td.CaptureTime
		}
	}
	return out
}

// decideEarly returns a verdict the capture times alone decide (stale: a
// compared type is older than inventory.max_age; exempt): it needs none of
// the remaining pages, the first page of each type carried its CaptureTime.
func (s *scanner) decideEarly(policy *drift.CompiledPolicy, m *drift.Manifest, in *collectors.Instance, captures map[string]time.Time, now time.Time) (drift.Report, bool) {
	if !s.mayDecideEarly(captures, now) {
		return drift.Report{}, false
	}
	early := policy.Compare(m, &drift.Snapshot{InstanceID: in.ID, AMI: in.AMI, ASG: in.ASG, CaptureTimes: captures,
		Instance: drift.InstanceFacts{LaunchTemplateAMI: in.LaunchTemplateAMI}})
	return early, early.Verdict == drift.VerdictStale || early.Verdict == drift.VerdictExempt
}

// mayDecideEarly is a cheap necessary condition for a verdict the capture
// times alone decide: a capture older than inventory.max_age, or exempt
// rules in the policy. It spares the comparison of an empty snapshot (every
// baseline item "removed") for the ordinary instance.
func (s *scanner) mayDecideEarly(captures map[string]time.Time, now time.Time) bool {
	if maxAge := s.rt.cfg.Inventory.MaxAge; maxAge > 0 {
		for _, c := range captures {
			if c.Before(now.Add(-maxAge)) {
				return true
			}
		}
	}
	for _, r := range s.rt.rules {
		if r.Action == drift.ActionExempt {
			return true
		}
	}
	return false
}

func (s *scanner) reusable(prev state.Entry, in collectors.Instance, captures map[string]time.Time, version string) bool {
	switch prev.Verdict {
	case drift.VerdictInSync, drift.VerdictDrifted, drift.VerdictStale, drift.VerdictExempt:
	default:
		return false
	}
	if prev.AMI != in.AMI || prev.ASG != in.ASG || prev.LaunchTemplateAMI != in.LaunchTemplateAMI ||
		prev.BaselineVersion != version || prev.PolicyVersion != s.policyVersion || len(prev.Captures) != len(captures) {
		return false
	}
	for t, c := range captures {
		if p, ok := prev.Captures[t]; !ok || !p.Equal(c) {
			return false
		}
	}
	return true
}

// reuse rebuilds a report from state; staleness is re-judged at now.
func reuse(prev state.Entry, _ *drift.CompiledPolicy, maxAge time.Duration, now time.Time) drift.Report {
	r := drift.Report{
		InstanceID: prev.InstanceID, AMI: prev.AMI, ASG: prev.ASG, Verdict: prev.Verdict, Severity: prev.Severity,
		Reasons: prev.Reasons, Findings: prev.Findings, Suppressed: prev.Suppressed, OldestCapture: prev.OldestCapture,
	}
	if len(prev.Findings) > 0 {
		// state keeps the top findings; the total and counts stay exact
		r.FindingsTotal, r.Counts = max(prev.FindingsTotal, len(prev.Findings)), prev.Counts
		r.Truncated = r.FindingsTotal > len(r.Findings)
	}
	if maxAge > 0 && !prev.OldestCapture.IsZero() && prev.OldestCapture.Before(now.Add(-maxAge)) && r.Verdict != drift.VerdictExempt {
		r.Verdict, r.Severity, r.Findings = drift.VerdictStale, drift.SeverityNone, nil
		r.FindingsTotal, r.Counts, r.Truncated = 0, nil, false
		r.Reasons = []string{"inventory captured " + prev.OldestCapture.UTC().Format(time.RFC3339) + ", older than " + maxAge.String()}
	}
	return r
}
