// Package engines attaches driftd's acting engines — notifications
// (alerting) and remediation — to a running daemon (internal/app). It sits
// above internal/app in the import graph because the engines' adapters
// import app; app itself knows only its ScanObserver interface.
package engines

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"go.uber.org/zap"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/internal/app"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/remediation/scanhook"
)

// Engines are the notifier and the remediation engine of one daemon.
type Engines struct {
	app *app.App
	log *zap.Logger

	metrics *alerting.NotifyMetrics

	mu       sync.Mutex
	notifier *alerting.Notifier
	seeded   bool

	Remediation *remediation.Engine
}

// Attach builds the engines from the app's current configuration, registers
// them as scan observers (alerting first, so a scan's drift is announced
// before any remediation event it causes), mounts the remediation API
// (/api/v1/remediation, /api/v1/approvals) and follows config reloads.
func Attach(a *app.App, log *zap.Logger) (*Engines, error) {
	if log == nil {
		log = zap.NewNop()
	}
	e := &Engines{app: a, log: log, metrics: alerting.NewNotifyMetrics(a.Registry())}
	n, err := e.newNotifier(a.Config(), nil)
	if err != nil {
		return nil, err
	}
	e.notifier = n
	e.Remediation = scanhook.NewEngine(a, a.Config().Remediation, log, a.Registry(), func(o *remediation.Options) {
		o.Sink = remediation.EventSinkFunc(e.emit)
	})
	a.AddObserver(app.ObserverFunc(e.onScan))
	a.AddObserver(app.ObserverFunc(e.onScanRemediate))
	h := e.Remediation.Handler()
	for _, p := range []string{"/api/v1/remediation", "/api/v1/remediation/", "/api/v1/approvals", "/api/v1/approvals/"} {
		a.Handle(p, h)
	}
	a.OnReload(e.reload)
	return e, nil
}

func (e *Engines) newNotifier(cfg *config.Config, prev *alerting.NotifyState) (*alerting.Notifier, error) {
	clients := e.app.Clients()
	return alerting.New(cfg.Alerting, alerting.Options{
		Logger:      e.log.Named("alerting"),
		Metrics:     e.metrics,
		SNS:         sns.NewFromConfig(clients.AWS),
		EventBridge: eventbridge.NewFromConfig(clients.AWS),
		State:       prev,
	})
}

// reload swaps in a notifier built from the new config, carrying the
// deduplication state over so nothing is re-announced, and hands the new
// remediation section to the engine.
func (e *Engines) reload(cfg *config.Config) {
	e.mu.Lock()
	old := e.notifier
	st := old.State()
	n, err := e.newNotifier(cfg, &st)
	if err != nil {
		e.mu.Unlock()
		e.log.Error("alerting: keeping the previous notifier after reload", zap.Error(err))
	} else {
		e.notifier = n
		e.mu.Unlock()
		go func() { _ = old.Close(context.Background()) }()
	}
	e.Remediation.SetConfig(cfg.Remediation)
}

func (e *Engines) current() *alerting.Notifier {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.notifier
}

// onScan turns a scan into notifications. A scan interrupted by shutdown
// is not a failure: nothing is announced.
func (e *Engines) onScan(_ context.Context, r *app.ScanResult) {
	n := e.current()
	if r.Interrupted {
		return
	}
	if r.Err != nil {
		n.ScanFailed(r.Finished, r.Err.Error())
		return
	}
	states := make([]alerting.InstanceState, 0, len(r.Instances))
	var tagged []alerting.TaggedInstance
	e.mu.Lock()
	seed := !e.seeded
	e.seeded = true
	e.mu.Unlock()
	for _, in := range r.Instances {
		if in.Report == nil {
			continue
		}
		st := alerting.FromReport(*in.Report)
		st.FindingsUnchanged = in.Reused
		st.FindingsTotal = in.State.FindingsTotal
		st.ConsecutiveDrifted = in.State.ConsecutiveDrifted
		states = append(states, st)
		if seed {
			tagged = append(tagged, alerting.TaggedInstance{InstanceID: in.Instance.ID, ASG: in.Instance.ASG, AMI: in.Instance.AMI, Tags: in.Instance.Tags})
		}
	}
	if seed {
		n.SeedFromTags(tagged)
	}
	if r.Partial {
		n.ScanSubset(r.Finished, states)
		return
	}
	n.Scan(r.Finished, states)
}

// onScanRemediate runs a remediation cycle after a full, successful scan.
// A partial scan (one instance refreshed by an inventory event) would make
// group and fleet shares meaningless, so it never drives remediation.
func (e *Engines) onScanRemediate(ctx context.Context, r *app.ScanResult) {
	if r.Partial {
		return
	}
	scanhook.Observer{Engine: e.Remediation, Log: e.log}.OnScan(ctx, r)
}

// emit forwards a remediation event to the notifier.
func (e *Engines) emit(_ context.Context, ev remediation.Event) {
	details := map[string]string{}
	if ev.Action != "" {
		details["action"] = string(ev.Action)
	}
	if ev.Detail != "" {
		details["detail"] = ev.Detail
	}
	err := e.current().Emit(alerting.Event{
		Type: alerting.EventType(ev.Type), Time: ev.Time, ASG: ev.Group, InstanceID: ev.InstanceID,
		Reason: ev.Reason, Details: details,
	})
	if err != nil {
		e.log.Warn("alerting: remediation event not queued", zap.String("event", string(ev.Type)), zap.Error(err))
	}
}

// Close flushes pending notifications within ctx.
func (e *Engines) Close(ctx context.Context) error {
	return errors.Join(e.current().Close(ctx))
}
