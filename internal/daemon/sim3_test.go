package daemon

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

func TestSelection(t *testing.T) {
	f := newFixture(t)
	ids, err := f.sim.AddInstances(f.amiA, "t3.micro", 2, map[string]string{"env": "prod"}, time.Hour)
	must(t, err)
	tests := []struct {
		name   string
		mutate func(*fixture) []string
		want   int
	}{
		{"default: groups only", func(*fixture) []string { return nil }, 7},
		{"asg glob", func(*fixture) []string { return []string{"w*"} }, 4},
		{"standalone too", nil, 9},
		{"tag filter", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.config()
			switch tt.name {
			case "asg glob":
				c.Selection.ASGNames = tt.mutate(f)
			case "standalone too":
				c.Selection.IncludeStandalone = true
			case "tag filter":
				c.Selection.IncludeStandalone = true
				c.Selection.Tags = map[string][]string{"env": {"prod"}}
			}
			res, err := f.app(t, c).Scan(context.Background(), nil)
			must(t, err)
			if len(res.Instances) != tt.want {
				t.Fatalf("%d instances, want %d", len(res.Instances), tt.want)
			}
			if tt.name == "tag filter" {
				for _, ir := range res.Instances {
					if ir.Report.InstanceID != ids[0] && ir.Report.InstanceID != ids[1] {
						t.Errorf("unexpected %s", ir.Report.InstanceID)
					}
				}
			}
		})
	}
}

func TestHistoryRestoredFromTagsAndTransitionsLogged(t *testing.T) {
	f := newFixture(t)
	since := "2026-01-02T03:04:05Z"
	ids, err := f.sim.AddInstances(f.amiA, "t3.micro", 1, map[string]string{"driftd:status": "drifted", "driftd:since": since}, time.Hour)
	must(t, err)
	must(t, f.sim.Inject(ids[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	c := f.config()
	c.Selection.IncludeStandalone = true
	core, logs := observer.New(zapcore.InfoLevel)
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(f.url), Logger: zap.New(core), Registry: prometheus.NewRegistry()})
	must(t, err)
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st, _ := a.State().Get(ids[0])
	if st.Verdict != drift.VerdictDrifted || st.FirstDrifted.Format(time.RFC3339) != since || st.ConsecutiveDrifted != 1 {
		t.Errorf("restored state %+v", st)
	}
	lines := logs.FilterMessage("verdict changed").All()
	if len(lines) != 1 {
		t.Fatalf("%d transition lines, want 1 (only the drifted instance is new and not in sync)", len(lines))
	}
	fields := lines[0].ContextMap()
	if fields["instance_id"] != ids[0] || fields["verdict"] != "drifted" {
		t.Errorf("transition fields %v", fields)
	}
	if top, _ := fields["top_findings"].([]any); len(top) != 1 || top[0] != "package curl.x86_64 removed: was 8.5.0-1.amzn2023.0.4 (low)" {
		t.Errorf("top findings %v", fields["top_findings"])
	}
	// Heal it: one more transition line, back to in_sync. CaptureTime has
	// one-second resolution (as in SSM): let the clock move on first.
	time.Sleep(1100 * time.Millisecond)
	must(t, f.sim.Inject(ids[0], awssim.Drift{Action: awssim.DriftHeal}))
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	lines = logs.FilterMessage("verdict changed").All()
	if len(lines) != 2 || lines[1].ContextMap()["verdict"] != "in_sync" || lines[1].ContextMap()["previous"] != "drifted" {
		t.Errorf("heal transition: %v", lines)
	}
}

func TestScheduledScansDoNotOverlap(t *testing.T) {
	f := newFixture(t)
	// Each scan takes over a second; the schedule fires every second, and
	// manual scans are attempted in between: no two may ever overlap.
	_, err := f.sim.AddFault(awssim.Fault{Service: "ec2", Operation: "DescribeInstances", Latency: 1200 * time.Millisecond})
	must(t, err)
	c := f.config()
	c.Schedule.Cron = "@every 1s"
	c.Schedule.Timeout = 10 * time.Second
	a := f.app(t, c)
	var mu sync.Mutex
	var spans [][2]time.Time
	a.AddObserver(scan.ObserverFunc(func(_ context.Context, r *scan.Result) {
		mu.Lock()
		spans = append(spans, [2]time.Time{r.Started, r.Finished})
		mu.Unlock()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port, not http.listen's default
	must(t, err)
	go func() { done <- a.Run(ctx, ln) }()
	refused := 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(spans)
		mu.Unlock()
		if n >= 4 {
			break
		}
		if _, err := a.Scan(context.Background(), nil); errors.Is(err, ErrScanRunning) {
			refused++
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	if len(spans) < 4 {
		t.Fatalf("%d scans in 8s", len(spans))
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0].Before(spans[j][0]) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0].Before(spans[i-1][1]) {
			t.Errorf("scan %d started at %s before scan %d finished at %s", i, spans[i][0], i-1, spans[i-1][1])
		}
	}
	t.Logf("%d scans, %d manual scans refused while another ran", len(spans), refused)
	if !a.Ready() {
		t.Error("not ready after successful scans")
	}
}

// TestExpiredRuleInvalidatesReusedVerdict: a verdict computed under an
// ignore rule is not reused once the rule expires, although the inventory
// did not change.
func TestExpiredRuleInvalidatesReusedVerdict(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	c := f.config()
	expires := time.Now().Add(time.Hour)
	c.Policy.Rules = []drift.Rule{{ID: "curl-waiver", Category: drift.CategoryPackage, Name: "curl", Action: drift.ActionIgnore, Expires: expires, Reason: "ticket 42"}}
	now := time.Now()
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		Now: func() time.Time { return now }})
	must(t, err)
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	if byID(res)[f.web[0]].Verdict != drift.VerdictInSync {
		t.Fatalf("waived drift: %s", byID(res)[f.web[0]].Verdict)
	}
	res, err = a.Scan(context.Background(), nil)
	must(t, err)
	if res.Reused != 7 {
		t.Fatalf("unchanged fleet not reused: %d", res.Reused)
	}
	now = expires.Add(time.Minute)
	res, err = a.Scan(context.Background(), nil)
	must(t, err)
	if r := byID(res)[f.web[0]]; r.Verdict != drift.VerdictDrifted || res.Reused != 0 {
		t.Errorf("after the waiver expired: %s, reused %d", r.Verdict, res.Reused)
	}
}

func TestLaunchTemplateVersionsResolved(t *testing.T) {
	sim, url := startSim(t, awssim.Options{})
	var amis []string
	for _, n := range []string{"a", "b", "c"} {
		id, err := sim.AddAMI(awssim.AMISpec{Name: "img-" + n, Packages: basePackages})
		must(t, err)
		amis = append(amis, id)
	}
	_, err := sim.AddLaunchTemplate("lt", "t3.micro", amis[0], amis[1]) // default: version 2
	must(t, err)
	for _, g := range []struct{ name, version string }{{"g-default", "$Default"}, {"g-latest", "$Latest"}, {"g-pinned", "1"}} {
		_, err := sim.AddGroup(awssim.GroupSpec{Name: g.name, LaunchTemplateName: "lt", LaunchTemplateVersion: g.version, Max: 2, Desired: 1}, time.Hour)
		must(t, err)
	}
	_, err = sim.AddLaunchTemplateVersion("lt", amis[2], false) // $Latest = 3, $Default stays 2
	must(t, err)
	f := &fixture{sim: sim, url: url, dir: t.TempDir()}
	for _, id := range amis {
		f.writeManifest(t, id)
	}
	res, err := f.app(t, f.config()).Scan(context.Background(), nil)
	must(t, err)
	want := map[string]string{"g-default": amis[1], "g-latest": amis[2], "g-pinned": amis[0]}
	for g, ami := range want {
		if res.Groups[g] != ami {
			t.Errorf("%s: launch-template AMI %s, want %s", g, res.Groups[g], ami)
		}
	}
	// Members launched from their group's version at creation; only the
	// $Latest group now launches another AMI (version 3).
	for _, ir := range res.Instances {
		r := ir.Report
		instFinding := len(r.Findings) == 1 && r.Findings[0].Category == drift.CategoryInstance
		switch r.ASG {
		case "g-default", "g-pinned":
			if r.Verdict != drift.VerdictInSync || r.AMI != want[r.ASG] {
				t.Errorf("%s in %s: %s %v", r.InstanceID, r.ASG, r.Verdict, r.Findings)
			}
		case "g-latest":
			if r.Verdict != drift.VerdictDrifted || !instFinding || r.Findings[0].Expected != want[r.ASG] {
				t.Errorf("%s in %s: %s %+v", r.InstanceID, r.ASG, r.Verdict, r.Findings)
			}
		}
	}
}

// TestStateFileSurvivesRestart: a new process (Daemon) with the same state file
// reuses the verdicts of unchanged instances and keeps drift history.
func TestStateFileSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	c := f.config()
	c.State.File = filepath.Join(t.TempDir(), "state.json")
	first := f.app(t, c)
	_, err := first.Scan(context.Background(), nil)
	must(t, err)
	before, _ := first.State().Get(f.web[0])

	second := f.app(t, c)
	f.sim.ResetCalls()
	res, err := second.Scan(context.Background(), nil)
	must(t, err)
	if res.Reused != 7 || f.sim.CallCount("ssm", "ListInventoryEntries") != 7*3 {
		t.Errorf("after restart: reused %d, %d inventory calls", res.Reused, f.sim.CallCount("ssm", "ListInventoryEntries"))
	}
	after, _ := second.State().Get(f.web[0])
	if !after.FirstDrifted.Equal(before.FirstDrifted) || after.ConsecutiveDrifted != 2 {
		t.Errorf("history lost across restart: before %+v after %+v", before, after)
	}
	for _, ir := range res.Instances {
		if ir.Transition {
			t.Errorf("%s: spurious transition after restart (%s -> %s)", ir.Report.InstanceID, ir.Previous, ir.Report.Verdict)
		}
	}
}

// TestPerOperationRateLimit: a per-operation limit slows exactly that
// operation; 21 ListInventoryEntries calls at 10/s (burst 10) need at least
// 1.1 s.
func TestPerOperationRateLimit(t *testing.T) {
	f := newFixture(t)
	c := f.config()
	c.Inventory.RateLimits["ssm:ListInventoryEntries"] = 10
	a := f.app(t, c)
	start := time.Now()
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	if d := time.Since(start); d < 1100*time.Millisecond {
		t.Errorf("scan took %s; the limit allows 21 calls in no less than 1.1s", d)
	}
	if res.Summary[drift.VerdictInSync] != 7 || res.APICalls.ByOperation["ssm:ListInventoryEntries"] != 21 {
		t.Errorf("summary %v calls %v", res.Summary, res.APICalls.ByOperation)
	}
	// Removing the limit on reload takes effect.
	c2 := *c
	c2.Inventory.RateLimits = map[string]float64{"ssm": 2000, "ec2": 2000, "autoscaling": 2000}
	a.opts.ConfigLoader = func() (*config.Config, error) { return &c2, nil }
	must(t, a.Reload(context.Background()))
	if a.limits.Get("ssm:ListInventoryEntries") != nil || a.limits.Get("ssm").Limit() != 2000 {
		t.Error("reload did not replace the rate limits")
	}
}

// TestJitterDelaysAndShutdownInterruptsIt: a scheduled job first waits a
// random jitter; cancellation during the wait skips the scan.
func TestJitterDelaysAndShutdownInterruptsIt(t *testing.T) {
	f := newFixture(t)
	c := f.config()
	c.Schedule.Jitter = time.Hour
	a := f.app(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	s := newScheduler(a, ctx)
	done := make(chan struct{})
	go func() { s.job(); close(done) }()
	time.Sleep(100 * time.Millisecond)
	if a.LastScan() != nil {
		t.Fatal("scan started without waiting for the jitter")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("jitter wait not interrupted by shutdown")
	}
	if a.LastScan() != nil {
		t.Error("a scan ran after shutdown")
	}
}
