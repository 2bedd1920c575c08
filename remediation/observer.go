package remediation

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

// Observer runs a remediation cycle after every full, successful scan
// (scan.Observer): it converts the scan's result once into the engine's
// input (FromScan) and hands it to Engine.Cycle.
type Observer struct {
	Engine *Engine
	Log    *zap.Logger
}

var _ scan.Observer = Observer{}

// OnScan implements scan.Observer. A failed scan runs no cycle: nothing is
// known, so nothing is done. A partial scan (instances refreshed by an
// inventory event) runs none either: group and fleet shares computed from a
// subset would make budgets and breakers meaningless.
func (o Observer) OnScan(ctx context.Context, r *scan.Result) {
	if r == nil || r.Err != nil || r.Partial {
		return
	}
	if _, err := o.Engine.Cycle(ctx, FromScan(r)); err != nil && o.Log != nil {
		o.Log.Warn("remediation cycle failed", zap.Error(err))
	}
}

// FromScan converts a scan result into the engine's input. Instances with
// verdicts other than drifted and in_sync are passed on too (they count in
// no breaker and are never candidates).
func FromScan(r *scan.Result) []InstanceState {
	if r == nil {
		return nil
	}
	out := make([]InstanceState, 0, len(r.Instances))
	for i := range r.Instances {
		if s, ok := fromInstance(&r.Instances[i], r.Started); ok {
			out = append(out, s)
		}
	}
	return out
}

// fromInstance is one instance's InstanceState; started stands in for an
// unknown "since".
func fromInstance(ir *scan.InstanceResult, started time.Time) (InstanceState, bool) {
	rep := ir.Report
	if rep == nil {
		return InstanceState{}, false
	}
	h := ir.History
	s := InstanceState{
		ID:       rep.InstanceID,
		ASG:      rep.ASG,
		Verdict:  rep.Verdict,
		Severity: rep.Severity,
		Reason:   reason(rep),
		Since:    h.LastTransition,
		// Discovery keeps only driftd:* tags; that is all the engine needs.
		Tags:             ir.Instance.Tags,
		ConsecutiveScans: 1,
	}
	if s.ASG == "" {
		s.ASG = ir.Instance.ASG
	}
	if rep.Verdict == drift.VerdictDrifted {
		s.ConsecutiveScans = max(1, h.ConsecutiveDrifted)
		if !h.FirstDrifted.IsZero() {
			s.Since = h.FirstDrifted
		}
		s.AMIOnly = amiOnly(rep, h.Counts)
	}
	if s.Since.IsZero() {
		s.Since = started
	}
	return s, true
}

// reason is the report's reasons, or its first finding when it has none.
func reason(rep *drift.Report) string {
	if len(rep.Reasons) > 0 {
		return strings.Join(rep.Reasons, "; ")
	}
	if len(rep.Findings) > 0 {
		r := rep.Findings[0].String()
		if len(rep.Findings) > 1 {
			r += " (+ more)"
		}
		return r
	}
	return ""
}

// amiOnly is true when every finding is an instance-level finding (the
// instance's AMI differs from the group's launch template AMI).
func amiOnly(rep *drift.Report, counts map[string]int) bool {
	n := 0
	for k, v := range counts {
		if v == 0 {
			continue
		}
		n++
		if !strings.HasPrefix(k, string(drift.CategoryInstance)+"/") {
			return false
		}
	}
	if n > 0 {
		return true
	}
	if len(rep.Findings) == 0 {
		return false
	}
	for _, f := range rep.Findings {
		if f.Category != drift.CategoryInstance {
			return false
		}
	}
	return true
}
