// Package configrule reports driftd's verdicts to AWS Config as the
// evaluator of a custom rule: after every scan, each instance's verdict
// becomes an evaluation of its AWS::EC2::Instance — COMPLIANT (in sync),
// NON_COMPLIANT (drifted) or NOT_APPLICABLE (unknown, stale, no_baseline,
// exempt: driftd could not or was told not to judge it) — sent with
// PutEvaluations, so conformance packs, aggregators and AWS Config's own
// remediation see drift
// (https://docs.aws.amazon.com/config/latest/APIReference/API_PutEvaluations.html).
//
// Only what changed is sent, plus every instance again each refresh
// interval; calls hold ≤ 100 evaluations, annotations ≤ 256 characters,
// and the ordering timestamp is the inventory capture time the verdict
// was made from.
package configrule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// ConfigServiceAPI is the part of the AWS Config client the evaluator uses
// (*configservice.Client satisfies it).
type ConfigServiceAPI interface {
	PutEvaluations(ctx context.Context, params *configservice.PutEvaluationsInput, optFns ...func(*configservice.Options)) (*configservice.PutEvaluationsOutput, error)
}

// Limits of PutEvaluations (API reference: Evaluations 0..100 items;
// Evaluation.Annotation 1..256 characters).
const (
	MaxEvaluations = 100
	MaxAnnotation  = 256
	ResourceType   = "AWS::EC2::Instance"
	callTimeout    = 30 * time.Second
)

// Evaluation is one instance's evaluation.
type Evaluation struct {
	InstanceID        string
	Compliance        cstypes.ComplianceType
	Annotation        string
	OrderingTimestamp time.Time
}

// Compliance maps a verdict to a compliance type.
func Compliance(v drift.Verdict) cstypes.ComplianceType {
	switch v {
	case drift.VerdictInSync:
		return cstypes.ComplianceTypeCompliant
	case drift.VerdictDrifted:
		return cstypes.ComplianceTypeNonCompliant
	}
	// unknown, stale, no_baseline: driftd could not judge; exempt: told not to.
	return cstypes.ComplianceTypeNotApplicable
}

// Evaluate turns a scan's instances into evaluations (instances without a
// report are left out). finished stands in for the capture time of
// verdicts made without inventory.
func Evaluate(r *scan.Result) []Evaluation {
	out := make([]Evaluation, 0, len(r.Instances))
	for i := range r.Instances {
		rep := r.Instances[i].Report
		if rep == nil || rep.InstanceID == "" {
			continue
		}
		ts := rep.OldestCapture
		if ts.IsZero() {
			ts = r.Finished
		}
		total := max(r.Instances[i].History.FindingsTotal, rep.FindingsTotal, len(rep.Findings))
		out = append(out, Evaluation{
			InstanceID:        rep.InstanceID,
			Compliance:        Compliance(rep.Verdict),
			Annotation:        Annotation(rep, total),
			OrderingTimestamp: ts.UTC(),
		})
	}
	return out
}

// Annotation explains an evaluation in ≤ 256 characters: the finding
// count, the highest severity and the top findings of a drifted instance,
// the verdict and its reasons otherwise.
func Annotation(rep *drift.Report, total int) string {
	var s string
	switch rep.Verdict {
	case drift.VerdictDrifted:
		noun := "findings"
		if total == 1 {
			noun = "finding"
		}
		s = fmt.Sprintf("drifted from %s: %d %s, max severity %s", rep.AMI, total, noun, rep.Severity)
		var top []string
		for _, f := range drift.TopFindings(rep.Findings, 3) {
			top = append(top, f.String())
		}
		if len(top) > 0 {
			s += "; " + strings.Join(top, "; ")
		}
	case drift.VerdictInSync:
		s = "in sync with the baseline of " + rep.AMI
	default:
		s = string(rep.Verdict)
		if len(rep.Reasons) > 0 {
			s += ": " + drift.Printable(strings.Join(rep.Reasons, "; "))
		}
	}
	return clip(s, MaxAnnotation)
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// Metrics are the evaluator's counters. Create them once per process.
type Metrics struct {
	// Evaluations counts evaluations by result: sent (accepted), failed
	// (call failed, token unreadable, or listed in FailedEvaluations).
	Evaluations *prometheus.CounterVec
}

// NewMetrics creates the counters and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftd_config_evaluations_total",
		Help: "AWS Config evaluations sent with PutEvaluations by result (sent, failed).",
	}, []string{"result"})}
	m.Evaluations.WithLabelValues("sent")
	m.Evaluations.WithLabelValues("failed")
	if reg != nil {
		reg.MustRegister(m.Evaluations)
	}
	return m
}

// Options are the evaluator's dependencies.
type Options struct {
	Log     *zap.Logger
	Metrics *Metrics
	Now     func() time.Time
	// Getenv and ReadFile read the result token (os.Getenv, os.ReadFile).
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Evaluator is a scan.Observer sending evaluations to AWS Config.
type Evaluator struct {
	o Options

	mu       sync.Mutex
	cfg      *config.ConfigRule
	api      ConfigServiceAPI
	sent     map[string]sentRecord // instance → last accepted evaluation
	lastFull time.Time
}

type sentRecord struct {
	compliance cstypes.ComplianceType
	annotation string
}

var _ scan.Observer = (*Evaluator)(nil)

// New returns an evaluator; cfg nil sends nothing until SetConfig gives
// it a section.
func New(cfg *config.ConfigRule, api ConfigServiceAPI, o Options) *Evaluator {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	return &Evaluator{o: o, cfg: cfg, api: api, sent: map[string]sentRecord{}}
}

// SetConfig applies a reloaded section and client. A changed token source
// or mode sends every evaluation again at the next scan.
func (e *Evaluator) SetConfig(cfg *config.ConfigRule, api ConfigServiceAPI) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cfg == nil || e.cfg == nil || *cfg != *e.cfg {
		e.sent = map[string]sentRecord{}
		e.lastFull = time.Time{}
	}
	e.cfg, e.api = cfg, api
}

// token reads the result token from its configured source.
func (e *Evaluator) token(c *config.ConfigRule) (string, error) {
	switch {
	case c.ResultTokenFile != "":
		b, err := e.o.ReadFile(c.ResultTokenFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("config_rule.result_token_file %s: %v", c.ResultTokenFile, err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("config_rule.result_token_file %s is empty", c.ResultTokenFile)
	case c.ResultTokenEnv != "":
		if t := strings.TrimSpace(e.o.Getenv(c.ResultTokenEnv)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("config_rule.result_token_env: %s is unset or empty", c.ResultTokenEnv)
	case c.ResultToken != "":
		return c.ResultToken, nil
	}
	return "", errors.New("config_rule: no result token configured")
}

// OnScan implements scan.Observer: it sends the evaluations that changed
// since they were last accepted (every one when the refresh interval has
// passed). A failed or interrupted scan sends nothing: it judged nobody.
// No call is made under the evaluator's lock, so a reload never waits for
// AWS Config.
func (e *Evaluator) OnScan(ctx context.Context, r *scan.Result) {
	if r == nil || r.Err != nil || r.Interrupted {
		return
	}
	e.mu.Lock()
	cfg, api := e.cfg, e.api
	if cfg == nil || api == nil {
		e.mu.Unlock()
		return
	}
	now := e.o.Now()
	evs := Evaluate(r)
	full := !r.Partial && (e.lastFull.IsZero() || now.Sub(e.lastFull) >= cfg.RefreshInterval)
	var todo []Evaluation
	for _, ev := range evs {
		if full || e.sent[ev.InstanceID] != (sentRecord{ev.Compliance, ev.Annotation}) {
			todo = append(todo, ev)
		}
	}
	if !r.Partial {
		seen := make(map[string]bool, len(evs))
		for _, ev := range evs {
			seen[ev.InstanceID] = true
		}
		for id := range e.sent {
			if !seen[id] {
				delete(e.sent, id) // gone: AWS Config tracks deleted resources itself
			}
		}
	}
	e.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	tok, err := e.token(cfg)
	if err != nil {
		e.o.Metrics.Evaluations.WithLabelValues("failed").Add(float64(len(todo)))
		e.o.Log.Error("config_rule: evaluations not sent", zap.Error(err), zap.Int("evaluations", len(todo)))
		return
	}
	accepted := e.send(ctx, api, cfg.TestMode, tok, todo)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg != cfg {
		return // reconfigured meanwhile: everything is sent again anyway
	}
	for _, ev := range accepted {
		e.sent[ev.InstanceID] = sentRecord{ev.Compliance, ev.Annotation}
	}
	if full && len(accepted) == len(todo) {
		e.lastFull = now
	}
}

// send puts the evaluations in calls of ≤ 100 and returns the accepted ones.
func (e *Evaluator) send(ctx context.Context, api ConfigServiceAPI, testMode bool, tok string, todo []Evaluation) []Evaluation {
	var accepted []Evaluation
	for start := 0; start < len(todo); start += MaxEvaluations {
		chunk := todo[start:min(start+MaxEvaluations, len(todo))]
		in := &configservice.PutEvaluationsInput{ResultToken: aws.String(tok), TestMode: testMode}
		for _, ev := range chunk {
			in.Evaluations = append(in.Evaluations, cstypes.Evaluation{
				ComplianceResourceType: aws.String(ResourceType),
				ComplianceResourceId:   aws.String(ev.InstanceID),
				ComplianceType:         ev.Compliance,
				Annotation:             aws.String(ev.Annotation),
				OrderingTimestamp:      aws.Time(ev.OrderingTimestamp),
			})
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		out, err := api.PutEvaluations(cctx, in)
		cancel()
		if err != nil {
			e.o.Metrics.Evaluations.WithLabelValues("failed").Add(float64(len(chunk)))
			e.o.Log.Error("config_rule: PutEvaluations failed", zap.Error(err), zap.Int("evaluations", len(chunk)))
			if ctx.Err() != nil {
				e.o.Metrics.Evaluations.WithLabelValues("failed").Add(float64(len(todo) - start - len(chunk)))
				return accepted
			}
			continue
		}
		rejected := map[string]bool{}
		for _, f := range out.FailedEvaluations {
			rejected[aws.ToString(f.ComplianceResourceId)] = true
		}
		for _, ev := range chunk {
			if rejected[ev.InstanceID] {
				e.o.Metrics.Evaluations.WithLabelValues("failed").Inc()
				continue
			}
			e.o.Metrics.Evaluations.WithLabelValues("sent").Inc()
			accepted = append(accepted, ev)
		}
		if len(rejected) > 0 {
			e.o.Log.Warn("config_rule: AWS Config did not accept some evaluations", zap.Int("failed", len(rejected)))
		}
	}
	return accepted
}
