package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
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
	errRsn   string
}

func (s *scanner) scan(ctx context.Context, sel collectors.Selection, res *ScanResult) error {
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

	// Restore history from tags for instances this process has not seen.
	if s.fromTag {
		for _, in := range fleet.Instances {
			if _, ok := s.store.Get(in.ID); !ok {
				s.store.RestoreFromTags(in.ID, in.Tags[collectors.TagStatus], in.Tags[collectors.TagSince])
			}
		}
	}

	// Baselines: one resolution per AMI, several AMIs at a time, so one
	// slow source answer (a hung file system, a slow bucket) does not hold
	// the others back.
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

	policy := s.rt.policy.At(now)
	outcomes := make([]instanceOutcome, len(fleet.Instances))
	var invFailed atomic.Int64
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.rt.cfg.Inventory.Concurrency)
	for i := range fleet.Instances {
		g.Go(func() error {
			o := s.instance(gctx, policy, fleet.Instances[i], baselines[fleet.Instances[i].AMI], now)
			if o.errRsn != "" {
				invFailed.Add(1)
				s.rec.CollectorError(collectors.CollectorInventory, o.errRsn)
			}
			outcomes[i] = o
			return nil
		})
	}
	_ = g.Wait()
	s.rec.ObserveCollector(collectors.CollectorInventory, time.Since(start), invFailed.Load() == 0 && ctx.Err() == nil)
	res.AgentLookup = fleet.AgentLookup
	res.InventoryTypes = s.types.Settled()
	for _, tu := range s.types.Unavailable() {
		res.InventoryTypesUnavailable = append(res.InventoryTypesUnavailable, TypeNote{Type: tu.TypeName, Reason: tu.Note()})
		s.log.Warn("inventory type not collected", zap.String("type", tu.TypeName), zap.String("reason", tu.Note()),
			zap.Bool("configuration_problem", !strings.HasPrefix(tu.TypeName, "Custom:")))
	}
	if err := ctx.Err(); err != nil {
		// Timed out or cancelled: verdicts of this scan may rest on missing
		// calls; do not record any of them.
		return fmt.Errorf("scan interrupted: %w", err)
	}

	keep := make(map[string]bool, len(outcomes))
	res.Summary = map[drift.Verdict]int{}
	res.Instances = make([]InstanceResult, 0, len(outcomes))
	for i := range outcomes {
		o := &outcomes[i]
		keep[o.inst.ID] = true
		prev, had := s.store.Record(&o.report, state.Inputs{
			Captures: o.captures, BaselineVersion: o.version, PolicyVersion: s.policyVersion,
			LaunchTemplateAMI: o.inst.LaunchTemplateAMI, Reused: o.reused,
		}, now)
		entry, _ := s.store.Get(o.inst.ID)
		r := o.report
		ir := InstanceResult{Report: &r, Reused: o.reused, State: entry, Instance: o.inst}
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
	if len(sel.InstanceIDs) == 0 {
		s.store.Prune(keep) // a partial scan (--instance) must not forget the others
	}
	return nil
}

func (s *scanner) logTransition(ir *InstanceResult) {
	r := ir.Report
	fields := []zap.Field{
		zap.String("instance_id", r.InstanceID), zap.String("asg", r.ASG), zap.String("ami", r.AMI),
		zap.String("verdict", string(r.Verdict)), zap.String("previous", string(ir.Previous)),
		zap.Strings("reasons", r.Reasons),
	}
	if r.Verdict == drift.VerdictDrifted {
		fields = append(fields, zap.String("severity", r.Severity.String()), zap.Int("findings", max(r.FindingsTotal, len(r.Findings))))
		top := state.TopFindings(r.Findings, 5)
		s := make([]string, len(top))
		for i, f := range top {
			s[i] = FindingString(f)
		}
		fields = append(fields, zap.Strings("top_findings", s))
	}
	s.log.Info("verdict changed", fields...)
}

// FindingString renders a finding on one line; non-printable characters of
// inventory data are escaped (drift.Printable).
func FindingString(f drift.Finding) string {
	var b strings.Builder
	b.WriteString(string(f.Category))
	b.WriteByte(' ')
	b.WriteString(drift.Printable(f.Name))
	if f.Arch != "" {
		b.WriteByte('.')
		b.WriteString(drift.Printable(f.Arch))
	}
	b.WriteByte(' ')
	b.WriteString(string(f.Change))
	if f.Attribute != "" && f.Change == drift.ChangeChanged {
		b.WriteString(" " + f.Attribute)
	}
	if f.Direction != "" {
		b.WriteString(" (" + string(f.Direction) + ")")
	}
	switch {
	case f.Expected != "" && f.Observed != "":
		fmt.Fprintf(&b, ": %s -> %s", drift.Printable(f.Expected), drift.Printable(f.Observed))
	case f.Observed != "":
		fmt.Fprintf(&b, ": %s", drift.Printable(f.Observed))
	case f.Expected != "":
		fmt.Fprintf(&b, ": was %s", drift.Printable(f.Expected))
	}
	b.WriteString(" [" + f.Severity.String() + "]")
	return b.String()
}

// instance judges one instance. It never returns drift from partial data:
// any collection problem makes it unknown with the reason.
func (s *scanner) instance(ctx context.Context, policy *drift.CompiledPolicy, in collectors.Instance, b *baselineResult, now time.Time) instanceOutcome {
	o := instanceOutcome{inst: in}
	snap := &drift.Snapshot{InstanceID: in.ID, AMI: in.AMI, ASG: in.ASG, Instance: drift.InstanceFacts{LaunchTemplateAMI: in.LaunchTemplateAMI}}
	unknown := func(reason, rsn string) instanceOutcome {
		snap.Unknown = reason
		var m *drift.Manifest
		if b != nil {
			m = b.m
		}
		if m == nil {
			m = &drift.Manifest{} // an unknown instance stays unknown, even without baseline
		}
		o.report = policy.Compare(m, snap)
		o.errRsn = rsn
		return o
	}
	switch {
	case in.Unknown != "":
		return unknown(in.Unknown, collectors.ReasonDiscoveryFail)
	case in.AMI == "":
		return unknown("instance has no AMI id", "")
	case b == nil || b.m == nil:
		o.report = policy.Compare(nil, snap)
		if b != nil && b.err != nil && o.report.Verdict == drift.VerdictNoBaseline {
			o.report.Reasons = []string{b.err.Error()}
		}
		return o
	case in.Agent == nil:
		why := in.AgentMissing
		if why == "" {
			why = "instance is not registered with SSM (no agent status)"
		}
		return unknown(why, "")
	case in.Agent.PingStatus != "Online":
		why := "agent " + in.Agent.PingStatus
		if !in.Agent.LastPing.IsZero() {
			why += " since " + in.Agent.LastPing.UTC().Format(time.RFC3339)
		}
		return unknown(why, "")
	}
	o.version = b.res.Version
	inv := s.inv
	if inv == nil {
		inv = s.rt.inventory()
	}
	types := make([]*collectors.TypeData, 0, len(s.rt.cfg.Inventory.Types))
	for _, t := range collectors.InventoryTypesFor(in, s.rt.cfg.Inventory.Types) { // only the types the instance's platform reports
		td, err := s.types.Do(ctx, t, func() (*collectors.TypeData, error) { return inv.First(ctx, in.ID, t) })
		var tu *collectors.TypeUnavailableError
		if errors.As(err, &tu) {
			continue // the account does not know the type: not collected this scan (reported once, in the scan result)
		}
		if err != nil {
			return unknown("collecting inventory: "+err.Error(), collectors.Reason(err))
		}
		types = append(types, td)
	}
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
		return unknown(s.noInventory, "")
	}
	if len(missing) > 0 {
		return unknown("no inventory yet for "+strings.Join(missing, ", "), "")
	}
	o.captures = make(map[string]time.Time, present)
	for _, td := range types {
		if td.Present {
			o.captures[td.TypeName] = td.CaptureTime
		}
	}

	// Unchanged since the last scan: reuse the previous verdict.
	if prev, ok := s.store.Get(in.ID); ok && s.reusable(prev, in, o.captures, b.res.Version) {
		o.report = reuse(prev, policy.At(now), s.rt.cfg.Inventory.MaxAge, now)
		o.reused = true
		return o
	}

	// A verdict the capture times alone decide (stale: a compared type is
	// older than inventory.max_age; exempt) needs none of the remaining
	// pages: the first page of each type carried its CaptureTime.
	if s.mayDecideEarly(o.captures, now) {
		early := policy.Compare(b.m, &drift.Snapshot{InstanceID: in.ID, AMI: in.AMI, ASG: in.ASG, CaptureTimes: o.captures,
			Instance: drift.InstanceFacts{LaunchTemplateAMI: in.LaunchTemplateAMI}})
		if early.Verdict == drift.VerdictStale || early.Verdict == drift.VerdictExempt {
			o.report = early
			return o
		}
	}

	for _, td := range types {
		if !td.Present {
			continue
		}
		if err := inv.Rest(ctx, in.ID, td); err != nil {
			o.captures = nil // force a full read next scan
			return unknown("collecting inventory: "+err.Error(), collectors.Reason(err))
		}
	}
	snap = collectors.BuildSnapshot(in, types, b.m.PackageFormat)
	o.report = policy.Compare(b.m, snap)
	return o
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

// fleetSample converts scan results to the metric gauges' input.
func fleetSample(res *ScanResult, now time.Time) []alerting.FleetInstance {
	out := make([]alerting.FleetInstance, 0, len(res.Instances))
	for _, ir := range res.Instances {
		fi := alerting.FleetInstance{ASG: ir.Report.ASG, AMI: ir.Report.AMI, Verdict: ir.Report.Verdict}
		if !ir.Report.OldestCapture.IsZero() {
			fi.InventoryAge = now.Sub(ir.Report.OldestCapture)
		}
		if ir.Report.Verdict == drift.VerdictDrifted && len(ir.State.Counts) > 0 {
			fi.Findings = map[alerting.FindingKey]int{}
			for k, n := range ir.State.Counts {
				cat, sev, _ := strings.Cut(k, "/")
				sv, _ := drift.ParseSeverity(sev)
				fi.Findings[alerting.FindingKey{Category: drift.Category(cat), Severity: sv}] += n
			}
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ASG < out[j].ASG })
	return out
}
