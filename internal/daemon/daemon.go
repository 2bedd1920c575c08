// Package daemon is driftd's lifecycle. It turns a configuration into a
// generation — the AWS clients (built once per generation and handed to
// discovery, inventory, baseline sources, notification sinks and
// remediation), the compiled policy, the baseline chain, the inventory
// source — and swaps generations atomically on reload. It owns the metrics
// registry, the HTTP server, the scheduler and the per-instance state, runs
// scans (discover → collect → baseline → compare → state → publish) and
// hands each scan.Result to the observers: the engines attached with
// AttachEngines (alerting, then remediation) and any other.
package daemon

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/awsclients"
	"github.com/driftd/driftd/internal/buildinfo"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/state"
	"github.com/driftd/driftd/scan"
)

// Options configure a Daemon.
type Options struct {
	// ConfigFile is read at start and on every reload.
	ConfigFile string
	// Config is used instead of ConfigFile when ConfigFile is empty (tests,
	// demo); reloads then re-use it unless ConfigLoader is set.
	Config *config.Config
	// ConfigLoader, when set, is called on reload instead of reading ConfigFile.
	ConfigLoader func() (*config.Config, error)
	Logger       *zap.Logger
	// Registry receives the metrics; nil creates a new registry with Go and
	// process collectors.
	Registry *prometheus.Registry
	// AWS, when set, replaces the SDK's default configuration chain (region,
	// credentials, endpoint); retries and middleware are still applied.
	AWS *aws.Config
	// Observers are called after every scan (see scan.Observer).
	Observers []scan.Observer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ProgressLog is how often a running scan's progress is logged at info
	// level (0: never).
	ProgressLog time.Duration
}

// Daemon is a running driftd.
type Daemon struct {
	opts     Options
	log      *zap.Logger
	reg      *prometheus.Registry
	metrics  *Metrics
	calls    apiCalls
	limits   awsclients.Limiters // shared by every generation's clients
	attempts awsclients.Attempts
	store    *state.Store
	now      func() time.Time

	rt        atomic.Pointer[generation]
	scanMu    sync.Mutex
	seq       atomic.Int64
	last      atomic.Pointer[scan.Result]
	progress  atomic.Pointer[tracker] // the running scan's (nil: none)
	ready     atomic.Bool
	reloadMu  sync.Mutex
	obsMu     sync.RWMutex
	observers []scan.Observer
	reloadFns []func(*config.Config)
	extraMux  *http.ServeMux
	sched     atomic.Pointer[scheduler]
}

// New loads the configuration, builds its generation (clients, policy,
// baseline sources) and restores state. It makes no AWS call.
func New(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{opts: opts, log: opts.Logger, now: opts.Now, observers: append([]scan.Observer(nil), opts.Observers...)}
	d.reg = opts.Registry
	if d.reg == nil {
		d.reg = prometheus.NewRegistry()
		d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	bi := buildinfo.Get()
	d.metrics = NewMetrics(d.reg, bi.Version, bi.GoVersion)
	d.attempts = awsclients.Attempts{Limits: &d.limits, Count: func(svc, op, code string) {
		d.metrics.APICalls.WithLabelValues(svc, op, code).Inc()
		d.calls.add(callKey{svc, op, code})
		d.progress.Load().call(code)
	}, Waited: func(_, _ string, waited time.Duration) {
		d.progress.Load().waited(waited)
	}}
	cfg, err := d.loadConfig()
	if err != nil {
		return nil, err
	}
	rt, err := d.build(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	d.commit(rt)
	if d.store, err = restoreState(cfg.State.File, d.log); err != nil {
		return nil, err
	}
	return d, nil
}

// restoreState loads the state file (an empty store without one).
func restoreState(file string, log *zap.Logger) (*state.Store, error) {
	if file == "" {
		return state.New(), nil
	}
	st, err := state.Load(file)
	if err != nil {
		return nil, err
	}
	log.Info("state restored", zap.String("file", file), zap.Int("instances", st.Len()))
	return st, nil
}

func (d *Daemon) loadConfig() (*config.Config, error) {
	switch {
	case d.opts.ConfigLoader != nil:
		return d.opts.ConfigLoader()
	case d.opts.ConfigFile != "":
		// The same checks as `driftd validate`, at start and on every reload.
		return config.LoadChecked(d.opts.ConfigFile, CheckEnv())
	case d.opts.Config != nil:
		return d.opts.Config, nil
	}
	return nil, errors.New("no configuration: set Options.ConfigFile or Options.Config")
}

// commit makes rt the running generation.
func (d *Daemon) commit(rt *generation) {
	d.limits.Set(rt.cfg.Inventory.RateLimits)
	d.rt.Store(rt)
	d.metrics.InitInventoryTypes(rt.cfg.Inventory.Types)
}

// Config returns the active configuration (do not modify).
func (d *Daemon) Config() *config.Config { return d.rt.Load().cfg }

// Region returns the AWS Region the current generation's clients use.
func (d *Daemon) Region() string { return d.rt.Load().clients.AWS.Region }

// Registry returns the metrics registry (other engines register here).
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

// Metrics returns the daemon metrics.
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// State returns the per-instance state store.
func (d *Daemon) State() *state.Store { return d.store }

// LastScan returns the last scan's result without its instances (nil
// before the first scan).
func (d *Daemon) LastScan() *scan.Result { return d.last.Load() }

// Ready reports whether a first scan has succeeded.
func (d *Daemon) Ready() bool { return d.ready.Load() }

// AddObserver registers an observer called after every later scan.
func (d *Daemon) AddObserver(o scan.Observer) {
	d.obsMu.Lock()
	d.observers = append(d.observers, o)
	d.obsMu.Unlock()
}

// OnReload registers fn, called with the new configuration after every
// successful reload (e.g. to pass the remediation section to its engine).
func (d *Daemon) OnReload(fn func(*config.Config)) {
	d.obsMu.Lock()
	d.reloadFns = append(d.reloadFns, fn)
	d.obsMu.Unlock()
}

// Handle adds a route to the daemon's HTTP server (other engines' APIs,
// e.g. /api/v1/remediation). Call it before Run; patterns use
// net/http.ServeMux syntax and must not clash with the daemon's own routes.
func (d *Daemon) Handle(pattern string, h http.Handler) {
	d.obsMu.Lock()
	defer d.obsMu.Unlock()
	if d.extraMux == nil {
		d.extraMux = http.NewServeMux()
	}
	d.extraMux.Handle(pattern, h)
}

// Reload re-reads the configuration and swaps in its generation
// atomically. A bad configuration is rejected, logged and counted; the old
// one keeps running.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	err := d.reload(ctx)
	d.metrics.ObserveReload(err == nil)
	if err != nil {
		d.log.Error("configuration reload failed; keeping the running configuration", zap.Error(err))
		return err
	}
	d.obsMu.RLock()
	fns := append(make([]func(*config.Config), 0, len(d.reloadFns)), d.reloadFns...)
	d.obsMu.RUnlock()
	for _, fn := range fns {
		fn(d.rt.Load().cfg)
	}
	d.log.Info("configuration reloaded")
	return nil
}

func (d *Daemon) reload(ctx context.Context) error {
	cfg, err := d.loadConfig()
	if err != nil {
		return err
	}
	old := d.rt.Load()
	rt, err := d.build(ctx, cfg, old)
	if err != nil {
		return err
	}
	if rt.cfg.HTTP.Listen != old.cfg.HTTP.Listen {
		d.log.Warn("http.listen changed; takes effect after a restart", zap.String("listen", old.cfg.HTTP.Listen))
	}
	d.commit(rt)
	if s := d.sched.Load(); s != nil && rt.cfg.Schedule.Cron != old.cfg.Schedule.Cron {
		return s.reschedule(rt.cfg.Schedule.Cron)
	}
	return nil
}

// ErrScanRunning is returned by Scan when another scan is in progress.
var ErrScanRunning = errors.New("a scan is already running")

// Scan runs one scan now (no overlap: returns ErrScanRunning if one is in
// progress), publishes metrics, saves state and calls the observers. The
// scan is bounded by schedule.timeout. only restricts the scan to these
// instances (a partial scan); the configured selection applies otherwise.
func (d *Daemon) Scan(ctx context.Context, only []string) (*scan.Result, error) {
	if !d.scanMu.TryLock() {
		return nil, ErrScanRunning
	}
	defer d.scanMu.Unlock()
	rt := d.rt.Load()
	parent := ctx
	if t := rt.cfg.Schedule.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res := &scan.Result{ID: d.seq.Add(1), Started: d.now(), Partial: len(only) > 0}
	prog := newTracker(res.ID, res.Started, res.Partial)
	d.progress.Store(prog)
	defer d.progress.CompareAndSwap(prog, nil)
	if every := d.opts.ProgressLog; every > 0 {
		logCtx, stopLog := context.WithCancel(ctx)
		defer stopLog()
		go d.logProgress(logCtx, prog, every)
	}
	before := d.calls.snapshot()
	wall := time.Now()
	src := rt.inventorySource(len(only) > 0)
	sc := &scanner{rt: rt, store: d.store, log: d.log, rec: collectorRecorder{d.metrics}, now: d.now,
		fromTag: rt.cfg.State.RestoreFromTags(), inv: src, noInventory: src.noInventory(), prog: prog}
	err := sc.scan(ctx, rt.selection(only), res)
	prog.setPhase(scan.PhaseRecording)
	res.Finished = d.now()
	res.Duration = time.Since(wall)
	res.APICalls = diffCalls(before, d.calls.snapshot())
	res.Err = err
	// Cancelled by the caller (shutdown: SIGTERM, SIGINT) rather than by
	// schedule.timeout: the scan did not fail, it was stopped. A timeout
	// (our own deadline) or a caller's deadline is a failure.
	res.Interrupted = err != nil && errors.Is(parent.Err(), context.Canceled)
	res.Cost = src.cost(res)
	d.publish(rt, res)
	summary := *res
	summary.Instances = nil
	d.last.Store(&summary)
	// The observers (remediation) make calls of their own: the scan's
	// progress is complete.
	d.progress.CompareAndSwap(prog, nil)
	d.notify(ctx, res)
	return res, err
}

// publish records a finished scan: metrics, log, readiness and the state
// file. A partial scan sees a subset of the fleet: the fleet gauges, the
// cost gauges and the state file keep the last full picture.
func (d *Daemon) publish(rt *generation, res *scan.Result) {
	if !res.Interrupted {
		d.metrics.ObserveScan(res.Duration, res.Err == nil, res.Finished)
	}
	d.metrics.SetInventoryTypes(res.InventoryTypes)
	switch {
	case res.Interrupted:
		d.log.Info("scan interrupted by shutdown", zap.Int64("scan", res.ID), zap.Duration("duration", res.Duration))
		return
	case res.Err != nil:
		d.log.Error("scan failed", zap.Int64("scan", res.ID), zap.Error(res.Err), zap.Duration("duration", res.Duration))
		return
	}
	d.log.Info("scan finished", zap.Int64("scan", res.ID), zap.Duration("duration", res.Duration),
		zap.Int("instances", len(res.Instances)), zap.Int("reused", res.Reused), zap.Any("verdicts", res.Summary),
		zap.Int("api_calls", res.APICalls.Total))
	if res.Partial {
		return
	}
	d.metrics.SetFleet(fleetSample(res, res.Finished))
	d.metrics.SetCost(res.Cost.Calls, res.Cost.LowerBound)
	d.ready.Store(true)
	if f := rt.cfg.State.File; f != "" {
		if err := d.store.Save(f, res.Finished); err != nil {
			d.log.Error("saving state", zap.String("file", f), zap.Error(err))
		}
	}
}

// notify hands the result to every observer, in registration order; a
// panicking observer is logged and the next one still runs.
func (d *Daemon) notify(ctx context.Context, res *scan.Result) {
	d.obsMu.RLock()
	obs := append([]scan.Observer(nil), d.observers...)
	d.obsMu.RUnlock()
	for i, o := range obs {
		func() {
			defer func() {
				if p := recover(); p != nil {
					d.log.Error("scan observer panicked", zap.Int("observer", i), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				}
			}()
			o.OnScan(ctx, res)
		}()
	}
}
