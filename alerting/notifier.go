package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/outbound"
)

// Options are the Notifier's dependencies. Zero values are usable except
// for SNS/EventBridge, which are required when a sink of that type is
// configured.
type Options struct {
	Logger  *zap.Logger
	Metrics *NotifyMetrics // create once per process; nil = unregistered counters
	// HTTPClient is used by webhook, Slack and Alertmanager sinks (per-attempt
	// timeouts come from each sink's timeout); nil = outbound.NewClient().
	// Whatever it is, sinks use a copy that never follows redirects and
	// never sends a Referer (outbound.Client).
	HTTPClient  *http.Client
	SNS         SNSAPI
	EventBridge EventBridgeAPI
	SecurityHub SecurityHubAPI
	// Region is the AWS Region of the clients (Security Hub findings name
	// it in their product and resource ARNs).
	Region string
	// Getenv and ReadFile read secrets (defaults os.Getenv, os.ReadFile).
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// Now is the clock for payload timestamps and signatures (default time.Now).
	Now     func() time.Time
	Backoff Backoff // zero = DefaultBackoff
	// State, when set, is the starting deduplication state instead of the
	// state file: pass the previous Notifier's State() on a config reload so
	// nothing is re-announced.
	State *NotifyState
	// ExtraSinks are added to the configured ones (custom sinks, tests); they
	// use the defaults of config.AlertSink.
	ExtraSinks []Sink
}

// Notifier is the alerting front door for the daemon: call Scan after every
// successful scan, ScanFailed after a failed one, Emit for remediation events
// and Close on shutdown. All methods are safe for concurrent use and never
// block on a sink.
type Notifier struct {
	cfg     config.Alerting
	dedup   DedupConfig
	limits  Limits
	log     *zap.Logger
	metrics *NotifyMetrics
	now     func() time.Time

	mu      sync.Mutex
	state   NotifyState
	runners []*sinkEntry
	closed  bool
}

type sinkEntry struct {
	r      *runner
	allow  map[EventType]bool
	active bool
	// complete: the sink needs every event of a batch (one per instance,
	// no max_instances_per_group truncation): Security Hub findings.
	complete bool
}

// New builds the sinks of cfg (reading their secrets), restores the state
// file when one is configured, and starts one delivery worker per sink. cfg
// should have been validated (config.Load does); New still reports bad
// sinks with the key that names them.
func New(cfg config.Alerting, opt Options) (*Notifier, error) {
	cfg.ApplyDefaults()
	if opt.Logger == nil {
		opt.Logger = zap.NewNop()
	}
	if opt.Metrics == nil {
		opt.Metrics = NewNotifyMetrics(nil)
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.ReadFile == nil {
		opt.ReadFile = os.ReadFile
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Backoff.Initial == 0 && opt.Backoff.Max == 0 {
		opt.Backoff = DefaultBackoff
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = outbound.NewClient()
	}
	n := &Notifier{
		cfg:     cfg,
		dedup:   DedupConfig{RepeatInterval: cfg.RepeatInterval, MinDriftedScans: cfg.MinDriftedScans},
		limits:  Limits{MaxInstancesPerGroup: cfg.MaxInstancesPerGroup, MaxFindingsPerInstance: cfg.MaxFindingsPerInstance},
		log:     opt.Logger.Named("alerting"),
		metrics: opt.Metrics,
		now:     opt.Now,
		state:   NotifyState{Version: StateVersion},
	}
	for _, w := range cfg.Warnings() {
		n.log.Warn(w)
	}
	sinks, err := buildSinks(cfg, opt)
	if err != nil {
		return nil, err
	}
	n.restoreState(opt.State)
	for _, b := range sinks {
		e := &sinkEntry{r: newRunner(b.s, b.pol, n.metrics, n.log), complete: b.complete}
		if len(b.ev) > 0 {
			e.allow = map[EventType]bool{}
			for _, t := range b.ev {
				e.allow[EventType(t)] = true
			}
		}
		if as, ok := b.s.(activeSink); ok && as.WantsActive() {
			e.active = true
		}
		n.runners = append(n.runners, e)
	}
	return n, nil
}

// builtSink is a sink with its delivery policy and event filter.
type builtSink struct {
	s        Sink
	pol      deliveryPolicy
	ev       []string
	complete bool
}

// buildSinks builds the configured sinks and the extra ones; every bad sink
// is reported, each with the key that names it.
func buildSinks(cfg config.Alerting, opt Options) ([]builtSink, error) {
	var sinks []builtSink
	var errs []error
	for i, sc := range cfg.Sinks {
		s, err := buildSink(i, sc, cfg, opt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bs := builtSink{s: s, pol: deliveryPolicy{Timeout: sc.Timeout, MaxRetries: sc.MaxRetries, QueueSize: sc.QueueSize, Backoff: opt.Backoff}, ev: sc.Events}
		if sc.Type == config.SinkSecurityHub {
			bs.complete = true
			if len(bs.ev) == 0 {
				bs.ev = config.SecurityHubEventTypes
			}
		}
		sinks = append(sinks, bs)
	}
	for _, s := range opt.ExtraSinks {
		sinks = append(sinks, builtSink{s: s, pol: deliveryPolicy{Timeout: config.DefaultSinkTimeout, MaxRetries: config.DefaultSinkMaxRetries, QueueSize: config.DefaultSinkQueueSize, Backoff: opt.Backoff}})
	}
	return sinks, errors.Join(errs...)
}

// restoreState starts from the previous notifier's state (a reload) or the
// state file. A state file that cannot be read starts empty: that
// re-announces at worst (tags still seed), and is never fatal.
func (n *Notifier) restoreState(prev *NotifyState) {
	if prev != nil {
		n.state = prev.Clone()
		return
	}
	if n.cfg.StateFile == "" {
		return
	}
	st, err := LoadState(n.cfg.StateFile)
	if err != nil {
		n.log.Error("notification state not restored; starting empty", zap.Error(err))
		return
	}
	n.state = st
}

func buildSink(i int, sc config.AlertSink, cfg config.Alerting, opt Options) (Sink, error) {
	key := fmt.Sprintf("alerting.sinks[%d] (%s)", i, sc.Name)
	switch sc.Type {
	case config.SinkWebhook:
		secret, err := readSecret(key, sc, opt)
		if err != nil {
			return nil, err
		}
		return NewWebhookSink(sc.Name, sc.URL, []byte(secret), opt.HTTPClient, opt.Now), nil
	case config.SinkSlack:
		u := sc.URL
		if sc.SecretFile != "" || sc.SecretEnv != "" {
			s, err := readSecret(key, sc, opt)
			if err != nil {
				return nil, err
			}
			u = s
		}
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, fmt.Errorf("%s: the Slack webhook URL is not an http(s) URL", key)
		}
		return NewSlackSink(sc.Name, u, opt.HTTPClient), nil
	case config.SinkSNS:
		if opt.SNS == nil {
			return nil, fmt.Errorf("%s: no SNS client", key)
		}
		return NewSNSSink(sc.Name, sc.TopicARN, opt.SNS), nil
	case config.SinkEventBridge:
		if opt.EventBridge == nil {
			return nil, fmt.Errorf("%s: no EventBridge client", key)
		}
		return NewEventBridgeSink(sc.Name, sc.EventBus, opt.EventBridge), nil
	case config.SinkSecurityHub:
		if opt.SecurityHub == nil {
			return nil, fmt.Errorf("%s: no Security Hub client", key)
		}
		if opt.Region == "" {
			return nil, fmt.Errorf("%s: no AWS Region for the Security Hub findings", key)
		}
		return NewSecurityHubSink(opt.SecurityHub, SecurityHubOptions{
			Name: sc.Name, AccountID: sc.AccountID, Region: opt.Region, ProductARN: sc.ProductARN, Metrics: opt.Metrics,
		}), nil
	case config.SinkAlertmanager:
		urls := append([]string(nil), sc.URLs...)
		if sc.URL != "" {
			urls = append(urls, sc.URL)
		}
		if len(urls) == 0 {
			return nil, fmt.Errorf("%s: no Alertmanager URL", key)
		}
		s := NewAlertmanagerSink(sc.Name, urls, opt.HTTPClient, sc.ResendWindow, cfg.ExternalURL, cfg.MaxFindingsPerInstance, opt.Now)
		s.Log = opt.Logger.Named("alerting")
		return s, nil
	}
	return nil, fmt.Errorf("%s: unknown sink type %q", key, sc.Type)
}

// readSecret reads a sink's secret from its file, environment variable or
// inline value. Errors name where it was looked for, never its content.
func readSecret(key string, sc config.AlertSink, opt Options) (string, error) {
	var s string
	switch {
	case sc.SecretFile != "":
		b, err := opt.ReadFile(sc.SecretFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("%s: secret_file %s: %v", key, sc.SecretFile, err)
		}
		s = strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s: secret_file %s is empty", key, sc.SecretFile)
		}
	case sc.SecretEnv != "":
		s = strings.TrimSpace(opt.Getenv(sc.SecretEnv))
		if s == "" {
			return "", fmt.Errorf("%s: environment variable %s (secret_env) is unset or empty", key, sc.SecretEnv)
		}
	case sc.Secret != "":
		s = sc.Secret
	default:
		return "", fmt.Errorf("%s: no secret configured (secret_file or secret_env)", key)
	}
	return s, nil
}

func newBatchID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// SeedFromTags marks instances tagged driftd:status=drifted as already
// announced (call once at start-up, after New, with the first discovery).
func (n *Notifier) SeedFromTags(tagged []TaggedInstance) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state = SeedFromTags(n.state, tagged, n.now())
	n.saveLocked()
}

// Scan is the per-scan hook: it decides the events of a successful scan
// (cur = every instance of the fleet, see Decide), persists the state, and
// queues one notification per sink. It returns the events (for logs and the
// API) and never blocks on delivery.
func (n *Notifier) Scan(now time.Time, cur []InstanceState) []Event {
	return n.scan(now, cur, false)
}

// ScanSubset is Scan for a scan of part of the fleet (chosen instance ids):
// instances not in cur are neither resolved nor forgotten.
func (n *Notifier) ScanSubset(now time.Time, cur []InstanceState) []Event {
	return n.scan(now, cur, true)
}

func (n *Notifier) scan(now time.Time, cur []InstanceState, partial bool) []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	cfg := n.dedup
	cfg.Partial = partial
	events, next := Decide(n.state, cur, now, cfg)
	n.state = next
	n.saveLocked()
	var active []Event
	for _, e := range n.runners {
		if e.active {
			active = ActiveAlerts(next, cur, now)
			break
		}
	}
	n.dispatchLocked(now, events, active, true)
	return events
}

// ScanFailed records a failed scan: scan.failed is announced on the first
// failure and then every repeat_interval while scans keep failing.
func (n *Notifier) ScanFailed(now time.Time, reason string) []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	events, next := DecideScanFailure(n.state, reason, now, n.dedup)
	n.state = next
	n.saveLocked()
	n.dispatchLocked(now, events, nil, false)
	return events
}

// Emit queues events pushed by the remediation engine (remediation.*,
// breaker.*, killswitch.*) as one notification per sink. Breaker and kill
// switch events that do not change the recorded state are dropped (see
// DecideEmitted). Unknown event types are rejected.
func (n *Notifier) Emit(events ...Event) error {
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("alerting: notifier closed")
	}
	var pass []Event
	for _, ev := range events {
		if !ev.Type.Valid() {
			return fmt.Errorf("alerting: unknown event type %q", ev.Type)
		}
		ok, ev, next := DecideEmitted(n.state, ev, now)
		n.state = next
		if ok {
			pass = append(pass, ev)
		}
	}
	n.saveLocked()
	n.dispatchLocked(now, pass, nil, false)
	return nil
}

func (n *Notifier) dispatchLocked(now time.Time, events, active []Event, scan bool) {
	id := newBatchID(now)
	for _, e := range n.runners {
		evs := FilterEvents(events, e.allow)
		if len(evs) == 0 && !(e.active && scan && len(active) > 0) {
			continue
		}
		lim := n.limits
		if e.active || e.complete {
			// One alert per instance: resolutions must not be truncated away.
			lim.MaxInstancesPerGroup = 0
		}
		b := BuildBatch(id, now, evs, lim)
		if e.active {
			b.Active = active
		}
		e.r.enqueue(b)
	}
}

func (n *Notifier) saveLocked() {
	if n.cfg.StateFile == "" {
		return
	}
	if err := SaveState(n.cfg.StateFile, n.state); err != nil {
		n.log.Error("notification state not saved", zap.Error(err))
	}
}

// State returns a copy of the deduplication state.
func (n *Notifier) State() NotifyState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state.Clone()
}

// Pending returns the number of notifications queued (all sinks).
func (n *Notifier) Pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := 0
	for _, e := range n.runners {
		total += e.r.pending()
	}
	return total
}

// Close stops accepting events and waits for queued notifications until ctx
// ends; what is still queued then is dropped and counted.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	runners := n.runners
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range runners {
		wg.Add(1)
		go func(r *runner) {
			defer wg.Done()
			r.close(ctx)
		}(e.r)
	}
	wg.Wait()
	return ctx.Err()
}
