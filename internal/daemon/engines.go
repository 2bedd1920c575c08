package daemon

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/configrule"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha/fenced"
	"github.com/driftd/driftd/internal/webauth"
	"github.com/driftd/driftd/remediation"
)

// Engines are the engines that act on scans: notifications (alerting, Security
// Hub findings among its sinks), AWS Config evaluations (configrule) and
// remediation. Neither knows the other nor the daemon: each is a
// scan.Observer that converts the scan result into its own input, and the
// daemon forwards remediation's events to alerting.
type Engines struct {
	d       *Daemon
	log     *zap.Logger
	metrics *alerting.NotifyMetrics
	alerts  *alerting.Observer

	Remediation *remediation.Engine
	// ConfigRule sends the verdicts to AWS Config (config_rule section;
	// idle without it).
	ConfigRule *configrule.Evaluator

	act *acting
}

// AttachEngines builds the engines from the current configuration and its
// AWS clients, registers them as scan observers — alerting first, so a
// scan's drift is announced before any remediation event it causes —,
// mounts the remediation API (/api/v1/remediation, /api/v1/approvals) and
// follows configuration reloads. Call it before Run.
func (d *Daemon) AttachEngines(log *zap.Logger) (*Engines, error) {
	if log == nil {
		log = zap.NewNop()
	}
	act, err := d.setupActing()
	if err != nil {
		return nil, err
	}
	e := &Engines{d: d, log: log, metrics: alerting.NewNotifyMetrics(d.Registry()), act: act}
	n, err := e.newNotifier(d.rt.Load(), nil)
	if err != nil {
		act.unlock()
		return nil, err
	}
	e.alerts = alerting.NewObserver(n)
	e.Remediation = d.RemediationEngine(d.Config().Remediation, log, d.Registry(), func(o *remediation.Options) {
		o.Sink = remediation.EventSinkFunc(e.emit)
		o.Store = act.remediationStore()
		o.Executor = fenced.Executor{Next: o.Executor, Guard: act.guard}
	})
	e.ConfigRule = configrule.New(d.Config().ConfigRule, d.rt.Load().clients.Config, configrule.Options{
		Log: log.Named("config_rule"), Metrics: configrule.NewMetrics(d.Registry()),
	})
	// Every replica scans; only the one that may act notifies, sends
	// evaluations and remediates, and every mutating call checks again just
	// before it is made (the fenced executor and sinks).
	d.AddObserver(leaderOnly{next: e.alerts, guard: act.guard, log: log, what: "notifications"})
	d.AddObserver(leaderOnly{next: e.ConfigRule, guard: act.guard, log: log, what: "config evaluations"})
	d.AddObserver(leaderOnly{next: remediation.Observer{Engine: e.Remediation, Log: log}, guard: act.guard, log: log, what: "remediation"})
	h := withActor(e.Remediation.Handler())
	for _, p := range []string{"/api/v1/remediation", "/api/v1/remediation/", "/api/v1/approvals", "/api/v1/approvals/"} {
		d.Handle(p, h)
	}
	d.OnReload(e.reload)
	return e, nil
}

// RemediationEngine builds a remediation engine on the current
// generation's AWS clients (region, credentials, endpoints, retries and
// API-call middleware of the daemon). opts may adjust the engine's options
// (clock, event sink, hook HTTP client). reg nil: metrics not registered.
func (d *Daemon) RemediationEngine(c config.Remediation, log *zap.Logger, reg prometheus.Registerer, opts ...func(*remediation.Options)) *remediation.Engine {
	if log == nil {
		log = zap.NewNop()
	}
	aws, kill := remediationAWS(d.rt.Load())
	o := remediation.Options{
		Config:     c,
		Reader:     aws,
		Executor:   aws,
		KillSwitch: kill,
		Metrics:    remediation.NewMetrics(reg),
		Log:        log.Named("remediation"),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return remediation.NewEngine(o)
}

// remediationAWS is remediation's view of a generation's clients.
func remediationAWS(rt *generation) (*remediation.AWS, *remediation.KillSwitchReader) {
	c := rt.clients
	return &remediation.AWS{AutoScaling: c.AutoScaling, EC2: c.EC2}, &remediation.KillSwitchReader{SSM: c.SSM}
}

func (e *Engines) newNotifier(rt *generation, prev *alerting.NotifyState) (*alerting.Notifier, error) {
	return alerting.New(rt.cfg.Alerting, alerting.Options{
		Logger:      e.log.Named("alerting"),
		Metrics:     e.metrics,
		SNS:         rt.clients.SNS,
		EventBridge: rt.clients.EventBridge,
		SecurityHub: rt.clients.SecurityHub,
		Region:      rt.clients.AWS.Region,
		State:       prev,
		WrapSink:    func(s alerting.Sink) alerting.Sink { return fenced.Sink{Next: s, Guard: e.act.guard} },
	})
}

// reload swaps in a notifier built from the new generation, carrying the
// deduplication state over so nothing is re-announced, and hands the new
// remediation section and clients to the engine.
func (e *Engines) reload(cfg *config.Config) {
	rt := e.d.rt.Load()
	st := e.alerts.Notifier().State()
	if n, err := e.newNotifier(rt, &st); err != nil {
		e.log.Error("alerting: keeping the previous notifier after reload", zap.Error(err))
	} else {
		old := e.alerts.Swap(n)
		go func() { _ = old.Close(context.Background()) }()
	}
	e.ConfigRule.SetConfig(cfg.ConfigRule, rt.clients.Config)
	e.Remediation.SetConfig(cfg.Remediation)
	aws, kill := remediationAWS(rt)
	e.Remediation.SetAWS(aws, fenced.Executor{Next: aws, Guard: e.act.guard}, kill)
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
	err := e.alerts.Notifier().Emit(alerting.Event{
		Type: alerting.EventType(ev.Type), Time: ev.Time, ASG: ev.Group, InstanceID: ev.InstanceID,
		Reason: ev.Reason, Details: details,
	})
	if err != nil {
		e.log.Warn("alerting: remediation event not queued", zap.String("event", string(ev.Type)), zap.Error(err))
	}
}

// Close flushes pending notifications within ctx and releases the state
// file's lock.
func (e *Engines) Close(ctx context.Context) error {
	defer e.act.unlock()
	return e.alerts.Notifier().Close(ctx)
}

// withActor hands the identity the HTTP gate authenticated to the
// remediation API, which records approvals under it.
func withActor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := webauth.IdentityFrom(r.Context()); ok {
			r = r.WithContext(remediation.WithActor(r.Context(), id.Name+" ("+id.Method+")"))
		}
		h.ServeHTTP(w, r)
	})
}
