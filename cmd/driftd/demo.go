package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/scan"
)

type demoCmd struct {
	Listen      string        `help:"Address for /metrics and the API." default:"127.0.0.1:9464"`
	Interval    time.Duration `help:"Scan interval." default:"10s"`
	Duration    time.Duration `help:"Stop after this long (0: until interrupted)." default:"0"`
	Scans       int           `help:"Stop after this many scans (0: no limit)." default:"0"`
	InjectEvery int           `help:"Inject a new drift into a random in-sync instance every N scans (0: never)." default:"3"`
	Seed        uint64        `help:"Seed for the injected drifts." default:"1"`

	out io.Writer
}

func init() {
	register("demo", "Run driftd against an in-process simulated AWS region with a demo fleet.", &demoCmd{})
}

func (c *demoCmd) Run(g *Globals) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return c.run(ctx, g)
}

// The demo's simulated region launches replacements and reports their first
// inventory within seconds, so a replacement completes in a few scans.
const (
	demoLaunchDelay    = 5 * time.Second
	demoInventoryDelay = -1 // a replacement reports its inventory as soon as it is InService
)

func (c *demoCmd) run(ctx context.Context, g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	if c.Interval < time.Second {
		return &ExitError{Code: 2, Err: fmt.Errorf("--interval %s: must be at least 1s", c.Interval)}
	}
	// The simulated region, with the demo fleet.
	sim := awssim.New(awssim.Options{LaunchDelay: demoLaunchDelay, InventoryDelay: demoInventoryDelay})
	sc := awssim.DemoScenario()
	if err := sim.LoadScenario(sc); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("loading the demo scenario: %w", err)}
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer srv.Close()
	region, err := seedDemoRegion(ctx, sim, sc, srv.URL)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	awsCfg := demoAWSConfig(srv.URL)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	live := &demoPrinter{out: out, sim: sim, formats: region.formats, sbom: region.sbom, every: c.InjectEvery, limit: c.Scans, stop: cancel,
		rng: rand.New(rand.NewPCG(c.Seed, 42))}

	// A local webhook receiver, so the notifications show up here.
	dir, err := os.MkdirTemp("", "driftd-demo-")
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer os.RemoveAll(dir)
	hook, err := startDemoReceiver(dir, live.notify, live.notifyError)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer hook.Close()

	cfg, err := c.configWithHook(region.seed, hook.URL(), hook.file)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	log, err := logger(g, cfg)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer log.Sync() //nolint:errcheck

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	a, err := daemon.New(ctx, daemon.Options{Config: cfg, AWS: &awsCfg, Logger: log, Observers: []scan.Observer{live}})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	eng, err := a.AttachEngines(log)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Close(flush); err != nil {
			log.Warn("notifications not flushed on shutdown", zap.Error(err))
		}
	}()
	if err := mountPage(a, eng.Remediation); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	seed := region.seed
	fmt.Fprintf(out, "driftd demo: simulated region at %s, %d instances in %d groups\n", srv.URL, len(sim.Instances()), len(sc.Groups))
	fmt.Fprintf(out, "page: http://%s/   metrics: http://%s/metrics   API: http://%s/api/v1/instances?verdict=drifted   remediation: http://%s/api/v1/remediation\n", ln.Addr(), ln.Addr(), ln.Addr(), ln.Addr())
	fmt.Fprintf(out, "baselines: %d in %s, %d in SSM parameters %s\n", len(seed.Objects), seed.Baselines[0].S3.URI, len(seed.Parameters), seed.Baselines[1].SSMParameter.Name)
	fmt.Fprintf(out, "remediation: group ingest replaces drifted instances (budget 1, after %d drifted scans); web is flagged; the rest report only\n", cfg.Remediation.DebounceScans)
	fmt.Fprintf(out, "notifications: signed webhook to %s (this process)\n", hook.URL())
	fmt.Fprintf(out, "scanning every %s; Ctrl-C to stop\n\n", c.Interval)
	if err := a.Run(ctx, ln); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	fmt.Fprintf(out, "demo stopped after %d scans\n", live.scans())
	return nil
}

// config is the demo daemon's configuration without a notification sink.
func (c *demoCmd) config(seed *publish.DemoSeed) (*config.Config, error) {
	return c.configWithHook(seed, "", "")
}

// configWithHook is the demo daemon's configuration; a webhook sink posts
// to hookURL when it is set.
func (c *demoCmd) configWithHook(seed *publish.DemoSeed, hookURL, secretFile string) (*config.Config, error) {
	cfg, err := config.Parse([]byte(c.configYAML(seed, hookURL, secretFile)))
	if err != nil {
		return nil, fmt.Errorf("the demo configuration: %w", err)
	}
	return cfg, nil
}

// configYAML is the demo daemon's configuration, written as an operator
// would write it: the published baselines, severities as in
// examples/driftd.yaml, one replace-mode group with a budget of 1, a flag
// group, a signed webhook to the local receiver, a short schedule and the
// simulator's generous rate limits.
func (c *demoCmd) configYAML(seed *publish.DemoSeed, hookURL, secretFile string) string {
	timeout := max(c.Interval*8/10, time.Minute)
	return `aws: {region: us-east-1}
selection: {include_standalone: true}
schedule:
  cron: "@every ` + c.Interval.String() + `"
  timeout: ` + timeout.String() + `
  shutdown_timeout: 2s
inventory:
  rate_limits: {ssm: 1000, ec2: 1000, autoscaling: 1000}   # the simulator is local
  concurrency: 16
policy:
  default_severity: {package: low, file: high, service: high, instance: high}
  rules:
    - {id: kernel-critical, category: package, name: "kernel*", action: severity, severity: critical}
` + seed.YAML() + `http: {listen: ` + strconv.Quote(c.Listen) + `}
log: {level: warn, format: console}
remediation:
  mode_default: "off"
  allow_tag_override: false    # group tags may lower a mode, not raise it
  debounce_scans: 2
  min_severity: high
  groups:
    - {match: ingest, mode: replace, budget: "1"}
    - {match: web, mode: flag}
` + demoAlerting(hookURL, secretFile)
}

// demoAlerting is the alerting section: a signed webhook to hookURL, or
// none.
func demoAlerting(hookURL, secretFile string) string {
	if hookURL == "" {
		return ""
	}
	return `alerting:
  min_drifted_scans: 1
  sinks:
    - name: demo-webhook
      type: webhook
      url: ` + strconv.Quote(hookURL) + `
      secret_file: ` + strconv.Quote(secretFile) + `
      max_retries: 1
`
}
