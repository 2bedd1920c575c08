// Package scanhook connects the remediation engine to the daemon: it
// converts each scan's result (internal/app.ScanResult) into the engine's
// own input and runs one remediation cycle after every successful scan.
//
// Wiring (in the daemon's start-up, e.g. cmd/driftd/run.go):
//
//	eng := scanhook.NewEngine(a, cfg.Remediation, log, a.Registry())
//	a.AddObserver(scanhook.Observer{Engine: eng, Log: log})
//	mux.Handle("/api/v1/remediation", eng.Handler())   // and /api/v1/remediation/, /api/v1/approvals, /api/v1/approvals/
//	on reload: eng.SetConfig(newCfg.Remediation)
package scanhook

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/app"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

// FromScan converts a scan result into the engine's input. Instances with
// verdicts other than drifted and in_sync are passed on too (they count in
// no breaker and are never candidates).
func FromScan(r *app.ScanResult) []remediation.InstanceState {
	if r == nil {
		return nil
	}
	out := make([]remediation.InstanceState, 0, len(r.Instances))
	for _, ir := range r.Instances {
		rep := ir.Report
		if rep == nil {
			continue
		}
		st := ir.State
		s := remediation.InstanceState{
			ID:       rep.InstanceID,
			ASG:      rep.ASG,
			Verdict:  rep.Verdict,
			Severity: rep.Severity,
			Reason:   reason(rep),
			Since:    st.LastTransition,
			// The collectors read only driftd:* tags; that is all the engine needs.
			Tags: ir.Instance.Tags,
		}
		if s.ASG == "" {
			s.ASG = ir.Instance.ASG
		}
		s.ConsecutiveScans = 1
		if rep.Verdict == drift.VerdictDrifted {
			s.ConsecutiveScans = max(1, st.ConsecutiveDrifted)
			if !st.FirstDrifted.IsZero() {
				s.Since = st.FirstDrifted
			}
			s.AMIOnly = amiOnly(rep, st.Counts)
		}
		if s.Since.IsZero() {
			s.Since = r.Started
		}
		out = append(out, s)
	}
	return out
}

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

// Observer runs a remediation cycle after every successful scan.
type Observer struct {
	Engine *remediation.Engine
	Log    *zap.Logger
}

// OnScan implements app.ScanObserver. A failed scan runs no cycle: nothing
// is known, so nothing is done.
func (o Observer) OnScan(ctx context.Context, r *app.ScanResult) {
	if r == nil || r.Err != nil {
		return
	}
	if _, err := o.Engine.Cycle(ctx, FromScan(r)); err != nil && o.Log != nil {
		o.Log.Warn("remediation cycle failed", zap.Error(err))
	}
}

var _ app.ScanObserver = Observer{}

// NewEngine builds an engine on the daemon's AWS configuration (same
// region, credentials, endpoints, retries and API-call middleware). opts may
// adjust the engine's options (clock, event sink, hook HTTP client).
func NewEngine(a *app.App, c config.Remediation, log *zap.Logger, reg prometheus.Registerer, opts ...func(*remediation.Options)) *remediation.Engine {
	cfg := a.Clients().AWS
	asg := autoscaling.NewFromConfig(cfg)
	aws := &remediation.AWS{AutoScaling: asg, EC2: ec2.NewFromConfig(cfg)}
	o := remediation.Options{
		Config:     c,
		Reader:     aws,
		Executor:   aws,
		KillSwitch: &remediation.KillSwitchReader{SSM: ssm.NewFromConfig(cfg)},
		Metrics:    remediation.NewMetrics(reg),
		Log:        log.Named("remediation"),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return remediation.NewEngine(o)
}
