// Package app is driftd's lifecycle: it builds the AWS clients, metrics
// registry, HTTP mux and scheduler from a configuration, runs scans
// (discover → collect → baseline → compare → state → publish → observers),
// and reloads configuration atomically.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/driftd/driftd/alerting"
	dcollectors "github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/state"
)

// Options configure an App.
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
	// Observers are called after every scan (see ScanObserver).
	Observers []ScanObserver
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// App is a running driftd.
type App struct {
	opts    Options
	log     *zap.Logger
	reg     *prometheus.Registry
	metrics *alerting.DaemonMetrics
	calls   apiCalls
	lims    limiters
	store   *state.Store
	now     func() time.Time

	rt        atomic.Pointer[generation]
	scanMu    sync.Mutex
	seq       atomic.Int64
	last      atomic.Pointer[ScanResult]
	ready     atomic.Bool
	reloadMu  sync.Mutex
	obsMu     sync.RWMutex
	observers []ScanObserver
	reloadFns []func(*config.Config)
	extraMux  *http.ServeMux
	sched     atomic.Pointer[scheduler]
	scale     *scaleState // data sync collector, cost metrics (datasync.go)
	scaleOnce sync.Once
}

// generation is one configuration generation; reload swaps it atomically.
type generation struct {
	cfg           *config.Config
	clients       Clients
	policy        *drift.CompiledPolicy
	policyVersion string
	rules         []drift.Rule
	chain         *dcollectors.Chain
}

// policyVersionAt identifies the policy as evaluated at now: the
// configuration's policy plus which rules have expired by then, so a verdict
// computed before a rule (an exemption, an ignore) expired is not reused
// after it.
func (rt *generation) policyVersionAt(now time.Time) string {
	h := sha256.New()
	h.Write([]byte(rt.policyVersion))
	for _, r := range rt.rules {
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			h.Write([]byte{0})
			h.Write([]byte(r.ID))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (rt *generation) discovery(rec dcollectors.Recorder) *dcollectors.Discovery {
	return &dcollectors.Discovery{EC2: rt.clients.EC2, AutoScaling: rt.clients.AutoScaling, SSM: rt.clients.SSM, Recorder: rec}
}

func (rt *generation) inventory() *dcollectors.Inventory {
	return &dcollectors.Inventory{SSM: rt.clients.SSM, MaxPages: rt.cfg.Inventory.MaxPages}
}

// New loads the configuration, builds clients and restores state. It makes
// no AWS call.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{opts: opts, log: opts.Logger, now: opts.Now, observers: append([]ScanObserver(nil), opts.Observers...)}
	a.reg = opts.Registry
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
		a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a.metrics = alerting.NewDaemonMetrics(a.reg)
	for _, c := range []string{dcollectors.CollectorEC2, dcollectors.CollectorASG, dcollectors.CollectorImages,
		dcollectors.CollectorSSMAgents, dcollectors.CollectorInventory, dcollectors.CollectorBaselines} {
		for _, r := range dcollectors.Reasons {
			a.metrics.CollectorErrors.WithLabelValues(c, r)
		}
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	rt, err := a.build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.rt.Store(rt)
	a.metrics.InitInventoryTypes(cfg.Inventory.Types)
	a.store = state.New()
	if cfg.State.File != "" {
		st, err := state.Load(cfg.State.File)
		if err != nil {
			return nil, err
		}
		a.store = st
		a.log.Info("state restored", zap.String("file", cfg.State.File), zap.Int("instances", st.Len()))
	}
	return a, nil
}

func (a *App) loadConfig() (*config.Config, error) {
	switch {
	case a.opts.ConfigLoader != nil:
		return a.opts.ConfigLoader()
	case a.opts.ConfigFile != "":
		// The same checks as `driftd validate`, at start and on every reload.
		return config.LoadChecked(a.opts.ConfigFile, CheckEnv())
	case a.opts.Config != nil:
		return a.opts.Config, nil
	}
	return nil, errors.New("no configuration: set Options.ConfigFile or Options.Config")
}

// policyVersionOf identifies a policy together with the engine's
// normalisation rules: a verdict stored by a driftd that normalised packages
// differently (e.g. before amd64 and x86_64 were one architecture) is not
// reused after an upgrade, even when the inventory has not changed since.
func policyVersionOf(pol *drift.Policy, normalization int) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(pol)
	fmt.Fprintf(h, "normalization %d\n", normalization)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// build turns a configuration into a generation: policy compiled, baseline
// sources opened, AWS clients built.
func (a *App) build(ctx context.Context, cfg *config.Config) (*generation, error) {
	pol := drift.Policy{
		MaxInventoryAge: cfg.Inventory.MaxAge,
		DefaultSeverity: cfg.Policy.DefaultSeverity,
		Rules:           policyRules(cfg),
		Custom:          cfg.Policy.Custom,
	}
	cp, err := drift.CompilePolicy(&pol)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	rt := &generation{cfg: cfg, policy: cp, policyVersion: policyVersionOf(&pol, drift.NormalizationVersion), rules: pol.Rules}

	a.lims.set(cfg.Inventory.RateLimits)
	mw := callMiddleware{lim: &a.lims, count: func(svc, op, code string) {
		a.metrics.APICalls.WithLabelValues(svc, op, code).Inc()
		a.calls.add(callKey{svc, op, code})
	}}
	rt.clients, err = loadAWS(ctx, cfg.AWS, a.opts.AWS, mw)
	if err != nil {
		return nil, err
	}
	// Baseline sources share the daemon's SDK configuration: credentials,
	// endpoints, retryer, rate limits and API-call metrics.
	rec := metricsRecorder{a.metrics}
	rt.chain = &dcollectors.Chain{Recorder: rec}
	bc := baselines.NewClients(rt.clients.AWS)
	for i, b := range cfg.Baselines {
		var src dcollectors.BaselineSource
		if b.Kind() == config.BaselineKindDir {
			// Decoded with the AMI id, so name-glob index entries can share
			// one file between AMIs.
			src, err = dcollectors.NewDirSource(b.Name, b.Dir.Path, b.Dir.Index, nil)
		} else {
			var s []dcollectors.BaselineSource
			s, err = baselines.Build(config.Baselines{b}, bc, a.log, rec, a.now)
			if err == nil {
				src = s[0]
			}
		}
		if err != nil {
			return nil, fmt.Errorf("baselines[%d]: %w", i, err)
		}
		rt.chain.Sources = append(rt.chain.Sources, src)
	}
	return rt, nil
}

// Config returns the active configuration (do not modify).
func (a *App) Config() *config.Config { return a.rt.Load().cfg }

// Clients returns the active AWS clients (for engines that need the same
// credentials, endpoint and call accounting).
func (a *App) Clients() Clients { return a.rt.Load().clients }

// Registry returns the metrics registry (other engines register here).
func (a *App) Registry() *prometheus.Registry { return a.reg }

// Metrics returns the daemon metrics.
func (a *App) Metrics() *alerting.DaemonMetrics { return a.metrics }

// State returns the per-instance state store.
func (a *App) State() *state.Store { return a.store }

// LastScan returns the last scan's result (nil before the first scan).
func (a *App) LastScan() *ScanResult { return a.last.Load() }

// Ready reports whether a first scan has succeeded.
func (a *App) Ready() bool { return a.ready.Load() }

// AddObserver registers an observer called after every later scan.
func (a *App) AddObserver(o ScanObserver) {
	a.obsMu.Lock()
	a.observers = append(a.observers, o)
	a.obsMu.Unlock()
}

// OnReload registers fn, called with the new configuration after every
// successful reload (e.g. to pass the remediation section to its engine).
func (a *App) OnReload(fn func(*config.Config)) {
	a.obsMu.Lock()
	a.reloadFns = append(a.reloadFns, fn)
	a.obsMu.Unlock()
}

// Handle adds a route to the daemon's HTTP server (other engines' APIs,
// e.g. /api/v1/remediation). Call it before Run; patterns use
// net/http.ServeMux syntax and must not clash with the daemon's own routes.
func (a *App) Handle(pattern string, h http.Handler) {
	a.obsMu.Lock()
	defer a.obsMu.Unlock()
	if a.extraMux == nil {
		a.extraMux = http.NewServeMux()
	}
	a.extraMux.Handle(pattern, h)
}

// Reload re-reads the configuration and swaps it in atomically. A bad
// configuration is rejected, logged and counted; the old one keeps running.
func (a *App) Reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	err := func() error {
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		old := a.rt.Load()
		rt, err := a.build(ctx, cfg)
		if err != nil {
			a.lims.set(old.cfg.Inventory.RateLimits)
			return err
		}
		if rt.cfg.HTTP.Listen != old.cfg.HTTP.Listen {
			a.log.Warn("http.listen changed; takes effect after a restart", zap.String("listen", old.cfg.HTTP.Listen))
		}
		a.rt.Store(rt)
		a.metrics.InitInventoryTypes(rt.cfg.Inventory.Types)
		if s := a.sched.Load(); s != nil && rt.cfg.Schedule.Cron != old.cfg.Schedule.Cron {
			if err := s.reschedule(rt.cfg.Schedule.Cron); err != nil {
				return err
			}
		}
		return nil
	}()
	a.metrics.ObserveReload(err == nil)
	if err != nil {
		a.log.Error("configuration reload failed; keeping the running configuration", zap.Error(err))
		return err
	}
	a.obsMu.RLock()
	fns := append(make([]func(*config.Config), 0, len(a.reloadFns)), a.reloadFns...)
	a.obsMu.RUnlock()
	for _, fn := range fns {
		fn(a.rt.Load().cfg)
	}
	a.log.Info("configuration reloaded")
	return nil
}

// ErrScanRunning is returned by Scan when another scan is in progress.
var ErrScanRunning = errors.New("a scan is already running")

// Scan runs one scan now (no overlap: returns ErrScanRunning if one is in
// progress), publishes metrics, saves state and calls the observers. The
// scan is bounded by schedule.timeout. sel restricts instances
// (InstanceIDs); the configured selection applies otherwise.
func (a *App) Scan(ctx context.Context, only []string) (*ScanResult, error) {
	if !a.scanMu.TryLock() {
		return nil, ErrScanRunning
	}
	defer a.scanMu.Unlock()
	rt := a.rt.Load()
	parent := ctx
	if t := rt.cfg.Schedule.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res := &ScanResult{ID: a.seq.Add(1), Started: a.now(), Partial: len(only) > 0}
	before := a.calls.snapshot()
	wall := time.Now()
	sc := &scanner{rt: rt, store: a.store, log: a.log, rec: metricsRecorder{a.metrics}, now: a.now, fromTag: rt.cfg.State.RestoreFromTags()}
	var finishCost func(*ScanResult)
	sc.inv, finishCost = a.scanInventory(rt, only)
	sc.noInventory = noInventoryReason(rt.cfg)
	sel := dcollectors.Selection{Tags: rt.cfg.Selection.Tags, ASGNames: rt.cfg.Selection.ASGNames,
		IncludeStandalone: rt.cfg.Selection.IncludeStandalone, InstanceIDs: only}
	err := sc.scan(ctx, sel, res)
	res.Finished = a.now()
	res.Duration = time.Since(wall)
	res.APICalls = diffCalls(before, a.calls.snapshot())
	res.Err = err
	// Cancelled by the caller (shutdown: SIGTERM, SIGINT) rather than by
	// schedule.timeout: the scan did not fail, it was stopped. A timeout
	// (our own deadline) or a caller's deadline is a failure.
	res.Interrupted = err != nil && errors.Is(parent.Err(), context.Canceled)
	finishCost(res)
	if !res.Interrupted {
		a.metrics.ObserveScan(res.Duration, err == nil, res.Finished)
	}
	a.metrics.SetInventoryTypes(res.InventoryTypes)
	switch {
	case res.Interrupted:
		a.log.Info("scan interrupted by shutdown", zap.Int64("scan", res.ID), zap.Duration("duration", res.Duration))
	case err != nil:
		a.log.Error("scan failed", zap.Int64("scan", res.ID), zap.Error(err), zap.Duration("duration", res.Duration))
	default:
		if !res.Partial { // a partial scan sees a subset: fleet gauges keep the last full picture
			a.metrics.SetFleet(fleetSample(res, res.Finished))
			a.ready.Store(true)
		}
		a.log.Info("scan finished", zap.Int64("scan", res.ID), zap.Duration("duration", res.Duration),
			zap.Int("instances", len(res.Instances)), zap.Int("reused", res.Reused), zap.Any("verdicts", res.Summary),
			zap.Int("api_calls", res.APICalls.Total))
		if f := rt.cfg.State.File; f != "" && len(only) == 0 {
			if serr := a.store.Save(f, res.Finished); serr != nil {
				a.log.Error("saving state", zap.String("file", f), zap.Error(serr))
			}
		}
	}
	summary := *res
	summary.Instances = nil
	a.last.Store(&summary)
	a.notify(ctx, res)
	return res, err
}

func (a *App) notify(ctx context.Context, res *ScanResult) {
	a.obsMu.RLock()
	obs := append([]ScanObserver(nil), a.observers...)
	a.obsMu.RUnlock()
	for i, o := range obs {
		func() {
			defer func() {
				if p := recover(); p != nil {
					a.log.Error("scan observer panicked", zap.Int("observer", i), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				}
			}()
			o.OnScan(ctx, res)
		}()
	}
}

// metricsRecorder adapts the daemon metrics to the collectors' recorders.
type metricsRecorder struct{ m *alerting.DaemonMetrics }

func (r metricsRecorder) ObserveCollector(name string, d time.Duration, ok bool) {
	r.m.ObserveCollector(name, d, ok)
}

func (r metricsRecorder) CollectorError(name, reason string) {
	r.m.CollectorErrors.WithLabelValues(name, reason).Inc()
}

func (r metricsRecorder) BaselineError(source string) {
	r.m.BaselineErrors.WithLabelValues(source).Inc()
}
