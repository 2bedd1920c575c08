package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/awsclients"
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

func (c *demoCmd) run(ctx context.Context, g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	if c.Interval < time.Second {
		return &ExitError{Code: 2, Err: fmt.Errorf("--interval %s: must be at least 1s", c.Interval)}
	}
	// The simulated region, with the demo fleet.
	sim := awssim.New(awssim.Options{})
	sc := awssim.DemoScenario()
	if err := sim.LoadScenario(sc); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("loading the demo scenario: %w", err)}
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer srv.Close()

	formats, sbom, docs, err := demoBaselines(sim, sc)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	// The SDK reaches the simulator through its standard BaseEndpoint
	// setting, with static demo credentials.
	awsCfg := &aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIADEMO", "demo-secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	// Publish the golden baselines where image pipelines keep them — S3 and
	// SSM Parameter Store — and read them back through those sources.
	sim.S3().CreateBucket(demoBucket)
	seeder := awsclients.New(*awsCfg)
	seed, err := publish.SeedDemo(ctx, seeder.S3, seeder.SSM, demoBucket, docs)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("publishing demo baselines: %w", err)}
	}

	cfg, err := c.config(seed)
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	live := &demoPrinter{out: out, sim: sim, formats: formats, sbom: sbom, every: c.InjectEvery, limit: c.Scans, stop: cancel,
		rng: rand.New(rand.NewPCG(c.Seed, 42))}
	a, err := daemon.New(ctx, daemon.Options{Config: cfg, AWS: awsCfg, Logger: log, Observers: []scan.Observer{live}})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := mountPage(a, nil); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	fmt.Fprintf(out, "driftd demo: simulated region at %s, %d instances in %d groups\n", srv.URL, len(sim.Instances()), len(sc.Groups))
	fmt.Fprintf(out, "page: http://%s/   metrics: http://%s/metrics   API: http://%s/api/v1/instances?verdict=drifted\n", ln.Addr(), ln.Addr(), ln.Addr())
	fmt.Fprintf(out, "baselines: %d in %s, %d in SSM parameters %s\n", len(seed.Objects), seed.Baselines[0].S3.URI, len(seed.Parameters), seed.Baselines[1].SSMParameter.Name)
	fmt.Fprintf(out, "scanning every %s; Ctrl-C to stop\n\n", c.Interval)
	if err := a.Run(ctx, ln); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	fmt.Fprintf(out, "demo stopped after %d scans\n", live.scans())
	return nil
}

const demoBucket = "driftd-demo-golden"

// demoBaselines returns each AMI's package format, whether its baseline is
// an SBOM (packages only), and its baseline document: native manifests, or
// CycloneDX SBOMs for the Debian and Ubuntu AMIs. The scenario leaves one
// AMI without a baseline on purpose.
func demoBaselines(sim *awssim.Sim, sc *awssim.Scenario) (formats map[string]string, sbom map[string]bool, docs map[string][]byte, err error) {
	formats, sbom, docs = map[string]string{}, map[string]bool{}, map[string][]byte{}
	for _, a := range sc.AMIs {
		formats[a.ID] = a.Format
		if a.ManifestParameter == "" {
			continue
		}
		_, doc, err := sim.BaselineDocument(a.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		docs[a.ID] = doc
		sbom[a.ID] = a.ManifestFormat == awssim.ManifestCycloneDX
	}
	return formats, sbom, docs, nil
}

// config is the demo daemon's configuration: the published baselines, a
// short schedule, the simulator's generous rate limits.
func (c *demoCmd) config(seed *publish.DemoSeed) (*config.Config, error) {
	cfg := config.Default()
	cfg.Baselines = seed.Baselines
	cfg.Selection.IncludeStandalone = true
	cfg.Schedule.Cron = "@every " + c.Interval.String()
	cfg.Schedule.Timeout = max(c.Interval*8/10, time.Minute)
	cfg.Schedule.ShutdownTimeout = 2 * time.Second
	cfg.HTTP.Listen = c.Listen
	cfg.Log.Level, cfg.Log.Format = "warn", "console"
	// The simulator is local: no need to spare an account's API quota.
	cfg.Inventory.RateLimits = map[string]float64{"ssm": 1000, "ec2": 1000, "autoscaling": 1000}
	cfg.Inventory.Concurrency = 16
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, &config.ValidationError{Errors: errs}
	}
	return cfg, nil
}

// demoPrinter prints a live summary after each scan and now and then
// injects a new drift so detection can be watched.
type demoPrinter struct {
	out     io.Writer
	sim     *awssim.Sim
	formats map[string]string
	sbom    map[string]bool
	every   int
	limit   int
	stop    context.CancelFunc
	rng     *rand.Rand

	mu       sync.Mutex
	n        int
	injected map[string]string
}

func (p *demoPrinter) scans() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *demoPrinter) OnScan(_ context.Context, r *scan.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	w := p.out
	if r.Err != nil {
		fmt.Fprintf(w, "scan #%d failed: %v\n\n", r.ID, r.Err)
		p.done()
		return
	}
	fmt.Fprintf(w, "── scan #%d at %s: %d instances in %.2fs, %d API calls, %d unchanged (verdict reused)\n",
		r.ID, r.Finished.UTC().Format("15:04:05"), len(r.Instances), r.Duration.Seconds(), r.APICalls.Total, r.Reused)
	type row struct{ counts map[drift.Verdict]int }
	groups := map[string]*row{}
	for _, ir := range r.Instances {
		g := ir.Report.ASG
		if g == "" {
			g = "(standalone)"
		}
		if groups[g] == nil {
			groups[g] = &row{counts: map[drift.Verdict]int{}}
		}
		groups[g].counts[ir.Report.Verdict]++
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "ASG\t")
	for _, v := range drift.Verdicts {
		fmt.Fprintf(tw, "%s\t", v)
	}
	fmt.Fprintln(tw)
	for _, g := range names {
		fmt.Fprintf(tw, "%s\t", g)
		for _, v := range drift.Verdicts {
			fmt.Fprintf(tw, "%d\t", groups[g].counts[v])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	drifted := r.Drifted()
	if len(drifted) > 0 {
		fmt.Fprintf(w, "drifted:\n")
	}
	for _, ir := range drifted {
		rep := ir.Report
		mark := ""
		if ir.Transition {
			mark = "  ← NEW"
		}
		fmt.Fprintf(w, "  %s  %-7s %-8s %d finding(s), drifted for %d scan(s)%s\n", rep.InstanceID, rep.ASG, rep.Severity, len(rep.Findings), ir.History.ConsecutiveDrifted, mark)
		for _, f := range drift.TopFindings(rep.Findings, 3) {
			fmt.Fprintf(w, "      %s\n", f.String())
		}
	}
	for _, ir := range r.Instances {
		if v := ir.Report.Verdict; v != drift.VerdictDrifted && v != drift.VerdictInSync {
			fmt.Fprintf(w, "  %s  %-7s %s: %s\n", ir.Report.InstanceID, ir.Report.ASG, v, strings.Join(ir.Report.Reasons, "; "))
		}
	}
	if p.every > 0 && p.n%p.every == 0 && (p.limit == 0 || p.n < p.limit) {
		p.inject(w, r)
	}
	fmt.Fprintln(w)
	p.done()
}

func (p *demoPrinter) done() {
	if p.limit > 0 && p.n >= p.limit {
		p.stop()
	}
}

// inject changes a random in-sync group member.
func (p *demoPrinter) inject(w io.Writer, r *scan.Result) {
	var candidates []*drift.Report
	for _, ir := range r.Instances {
		if ir.Report.Verdict == drift.VerdictInSync && ir.Report.ASG != "" {
			candidates = append(candidates, ir.Report)
		}
	}
	if len(candidates) == 0 {
		return
	}
	target := candidates[p.rng.IntN(len(candidates))]
	var d awssim.Drift
	var what string
	kind := p.rng.IntN(3)
	if p.sbom[target.AMI] {
		kind = 0 // an SBOM baseline lists packages, not files or services
	}
	if p.formats[target.AMI] == awssim.FormatWindows {
		kind += 3 // a Windows instance: an application, a KB or a service
	}
	switch kind {
	case 3:
		d = awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "7-Zip 23.01 (x64)", Publisher: "Igor Pavlov", Version: "23.01"}}
		what = "installed application 7-Zip 23.01 (x64)"
	case 4:
		d = awssim.Drift{Action: awssim.DriftInstallUpdate, Update: &awssim.UpdateSpec{HotFixID: "KB5036909", Description: "Update"}}
		what = "installed update KB5036909"
	case 5:
		d = awssim.Drift{Action: awssim.DriftDisableService, Service: &awssim.ServiceSpec{Name: "WinRM"}}
		what = "disabled service WinRM"
	case 0:
		names := []string{"tcpdump", "strace", "gdb", "netcat", "telnet"}
		name := names[p.rng.IntN(len(names))]
		ver := "4.99.1"
		rel := "1.amzn2023"
		if p.formats[target.AMI] == "deb" {
			ver, rel = "4.99.1-1", ""
		}
		d = awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: name, Version: ver, Release: rel}}
		what = "installed package " + name
	case 1:
		d = awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/sudoers",
			SHA256: fmt.Sprintf("%064x", p.rng.Uint64()), Size: 4400}}
		what = "edited /etc/sudoers"
	default:
		d = awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "sshd.service"}}
		what = "stopped sshd.service"
	}
	if err := p.sim.Inject(target.InstanceID, d); err != nil {
		fmt.Fprintf(w, "injecting drift into %s: %v\n", target.InstanceID, err)
		return
	}
	fmt.Fprintf(w, "⚡ injected drift: %s on %s (%s); watch the next scan\n", what, target.InstanceID, target.ASG)
}
