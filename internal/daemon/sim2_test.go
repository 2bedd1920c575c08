package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/sdkhttp"
)

// inventoryCalls counts ListInventoryEntries calls per instance/type from
// the simulator's call log.
func inventoryCalls(sim *awssim.Sim) map[string]int {
	m := map[string]int{}
	for _, c := range sim.Calls() {
		if c.Operation == "ListInventoryEntries" {
			m[c.Params]++
		}
	}
	return m
}

func TestWarmScanCostsOneCallPerType(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	c := f.config()
	a := f.app(t, c)
	cold, err := a.Scan(context.Background(), nil)
	must(t, err)
	if cold.Reused != 0 || cold.Summary[drift.VerdictDrifted] != 1 {
		t.Fatalf("cold scan: reused %d summary %v", cold.Reused, cold.Summary)
	}
	f.sim.ResetCalls()
	warm, err := a.Scan(context.Background(), nil)
	must(t, err)
	instances, types := 7, 0
	for _, typ := range c.Inventory.Types {
		if drift.TypeApplies(typ, drift.PlatformLinux) { // a Linux instance is asked for its platform's types only
			types++
		}
	}
	if n := f.sim.CallCount("ssm", "ListInventoryEntries"); n != instances*types {
		t.Errorf("warm scan: %d ListInventoryEntries calls, want %d (%d instances x %d types)", n, instances*types, instances, types)
	}
	per := inventoryCalls(f.sim)
	if len(per) != instances*types {
		t.Errorf("warm scan: %d distinct instance/type requests, want %d: %v", len(per), instances*types, per)
	}
	for k, n := range per {
		if n != 1 {
			t.Errorf("warm scan: %d calls for %s", n, k)
		}
	}
	if warm.Reused != instances || warm.Summary[drift.VerdictDrifted] != 1 || warm.Summary[drift.VerdictInSync] != 6 {
		t.Errorf("warm scan: reused %d summary %v", warm.Reused, warm.Summary)
	}
	if warm.APICalls.ByOperation["ssm:ListInventoryEntries"] != instances*types {
		t.Errorf("warm scan api_calls %v", warm.APICalls.ByOperation)
	}
	// The reused drifted verdict keeps its findings.
	if r := byID(warm)[f.web[0]]; r == nil || len(r.Findings) != 1 || r.Findings[0].Name != "curl" {
		t.Errorf("reused drifted report %+v", r)
	}

	// A change on one instance: only that one is read in full and re-judged.
	must(t, f.sim.Inject(f.web[1], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.93", Release: "1.amzn2023"}}))
	third, err := a.Scan(context.Background(), nil)
	must(t, err)
	if third.Reused != instances-1 || byID(third)[f.web[1]].Verdict != drift.VerdictDrifted {
		t.Errorf("after injection: reused %d, %s %s", third.Reused, f.web[1], byID(third)[f.web[1]].Verdict)
	}
	st, _ := a.State().Get(f.web[0])
	if st.ConsecutiveDrifted != 3 || st.FirstDrifted.IsZero() {
		t.Errorf("state of %s: %+v", f.web[0], st)
	}
}

func TestFaultsNeverYieldDriftFromPartialData(t *testing.T) {
	tests := []struct {
		name        string
		fault       awssim.Fault
		attempts    int
		code        string // an error code expected in driftd_aws_api_calls_total
		wantUnknown bool   // false: retries must absorb the fault completely
	}{
		{"throttling absorbed by retries", awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Rate: 10, Burst: 3}, 5, "ThrottlingException", false},
		{"throttling beyond retries", awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Rate: 1, Burst: 4}, 2, "ThrottlingException", true},
		{"server errors", awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", ErrorRate: 0.5}, 2, "InternalServerError", true},
		{"truncated bodies", awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", TruncateRate: 0.5}, 2, "", true},
		{"timeouts", awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Latency: 2 * time.Second}, 2, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			// One real drift; the rest of the fleet is in sync.
			must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
			_, err := f.sim.AddFault(tt.fault)
			must(t, err)
			c := f.config()
			c.AWS.MaxAttempts = tt.attempts
			if tt.wantUnknown {
				c.AWS.RetryMode = "standard" // adaptive mode would slow down to the throttled rate
			}
			c.Inventory.Concurrency = 4
			if tt.name == "timeouts" {
				c.Schedule.Timeout = 30 * time.Second
			}
			reg := prometheus.NewRegistry()
			opts := Options{Config: c, AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: reg}
			if tt.name == "timeouts" {
				aw := simAWS(f.url)
				aw.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond, Transport: sdkhttp.Transport(http.DefaultTransport)}
				opts.AWS = aw
			}
			a, err := New(context.Background(), opts)
			must(t, err)
			res, err := a.Scan(context.Background(), nil)
			must(t, err)
			unknown := 0
			for _, ir := range res.Instances {
				r := ir.Report
				switch r.Verdict {
				case drift.VerdictDrifted:
					if r.InstanceID != f.web[0] {
						t.Errorf("%s drifted under faults: %v", r.InstanceID, r.Findings)
					}
				case drift.VerdictUnknown:
					unknown++
					if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], "collecting inventory: ListInventoryEntries") {
						t.Errorf("%s unknown with reason %v", r.InstanceID, r.Reasons)
					}
				case drift.VerdictInSync:
				default:
					t.Errorf("%s: verdict %s %v", r.InstanceID, r.Verdict, r.Reasons)
				}
			}
			if tt.wantUnknown && unknown == 0 {
				t.Errorf("no instance affected by the fault (summary %v)", res.Summary)
			}
			if !tt.wantUnknown && (res.Summary[drift.VerdictDrifted] != 1 || res.Summary[drift.VerdictInSync] != 6) {
				t.Errorf("retries did not absorb the fault: %v", res.Summary)
			}
			if len(res.APICalls.Errors) == 0 {
				t.Errorf("no failed attempts recorded in the scan's API call summary")
			}
			if tt.code != "" {
				if n := metricValue(a.Metrics().APICalls.WithLabelValues("ssm", "ListInventoryEntries", tt.code)); n < 2 {
					t.Errorf("driftd_aws_api_calls_total{code=%q} = %v, want retries counted", tt.code, n)
				}
			}
			if n := metricValue(a.Metrics().CollectorSuccess.WithLabelValues("ssm_inventory")); tt.wantUnknown != (n == 0) {
				t.Errorf("ssm_inventory success = %v", n)
			}
		})
	}
}

func TestRetriesRecoverFromTransientErrors(t *testing.T) {
	f := newFixture(t)
	_, err := f.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", ErrorRate: 1, Count: 3})
	must(t, err)
	_, err = f.sim.AddFault(awssim.Fault{Service: "ec2", Operation: "DescribeInstances", ErrorRate: 1, ErrorStatus: 503, Count: 1})
	must(t, err)
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	if res.Summary[drift.VerdictInSync] != 7 {
		t.Fatalf("summary %v", res.Summary)
	}
	if n := metricValue(a.Metrics().APICalls.WithLabelValues("ssm", "ListInventoryEntries", "InternalServerError")); n != 3 {
		t.Errorf("failed attempts counted %v, want 3", n)
	}
	if res.APICalls.ByOperation["ec2:DescribeInstances"] != 2 {
		t.Errorf("DescribeInstances attempts %d, want 2 (one retry); failed attempts %v", res.APICalls.ByOperation["ec2:DescribeInstances"], res.APICalls.Errors)
	}
}

func TestNoBaseline(t *testing.T) {
	f := newFixture(t)
	// amiB: no manifest at all; a third AMI whose file records another AMI.
	must(t, os.Remove(filepath.Join(f.dir, f.amiB+".json")))
	amiC, err := f.sim.AddAMI(awssim.AMISpec{Name: "batch-2026", Packages: basePackages})
	must(t, err)
	ids, err := f.sim.AddInstances(amiC, "m6i.large", 1, nil, time.Hour)
	must(t, err)
	b, _ := f.sim.Manifest(f.amiA)
	must(t, os.WriteFile(filepath.Join(f.dir, amiC+".json"), b, 0o644))
	c := f.config()
	c.Selection.IncludeStandalone = true
	a := f.app(t, c)
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	got := byID(res)
	for _, id := range f.api {
		r := got[id]
		if r.Verdict != drift.VerdictNoBaseline || !strings.Contains(strings.Join(r.Reasons, ";"), "local: no manifest: no "+f.amiB+".{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json} in "+f.dir) {
			t.Errorf("%s: %s %v", id, r.Verdict, r.Reasons)
		}
	}
	r := got[ids[0]]
	if r == nil || r.Verdict != drift.VerdictNoBaseline || !strings.Contains(r.Reasons[0], "ami_id: document describes "+f.amiA+", expected "+amiC) {
		t.Errorf("wrong-AMI manifest: %+v", r)
	}
	if res.Summary[drift.VerdictInSync] != 4 {
		t.Errorf("the rest was not scanned: %v", res.Summary)
	}
	if n := metricValue(a.Metrics().BaselineErrors.WithLabelValues("local")); n != 1 {
		t.Errorf("baseline errors %v, want 1 (missing files are not errors)", n)
	}
}

func TestLaunchTemplateAMIDrift(t *testing.T) {
	f := newFixture(t)
	_, err := f.sim.AddLaunchTemplateVersion("web-lt", f.amiB, true)
	must(t, err)
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	for _, id := range f.web {
		r := byID(res)[id]
		if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Category != drift.CategoryInstance ||
			r.Findings[0].Expected != f.amiB || r.Findings[0].Observed != f.amiA {
			t.Errorf("%s: %s %+v", id, r.Verdict, r.Findings)
		}
	}
	if res.Groups["web"] != f.amiB || res.Groups["api"] != f.amiB {
		t.Errorf("groups %v", res.Groups)
	}
}

func TestEndpointFromEnvironment(t *testing.T) {
	f := newFixture(t)
	t.Setenv("AWS_ENDPOINT_URL", f.url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	a, err := New(context.Background(), Options{Config: f.config(), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	if res.Summary[drift.VerdictInSync] != 7 || f.sim.CallCount("ssm", "ListInventoryEntries") == 0 {
		t.Fatalf("summary %v", res.Summary)
	}
}

func TestReloadRejectsBadConfig(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "driftd.yaml")
	good := "baselines:\n  - dir: {path: " + f.dir + "}\nschedule: {cron: '@every 1m', timeout: 30s}\n"
	must(t, os.WriteFile(file, []byte(good), 0o644))
	a, err := New(context.Background(), Options{ConfigFile: file, AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	old := a.Config()
	must(t, os.WriteFile(file, []byte(good+"bogus: true\n"), 0o644))
	if err := a.Reload(context.Background()); err == nil {
		t.Fatal("bad config accepted")
	}
	if a.Config() != old {
		t.Fatal("configuration replaced by a bad one")
	}
	// A valid file whose baseline directory does not exist is rejected too.
	must(t, os.WriteFile(file, []byte(strings.Replace(good, f.dir, f.dir+"/missing", 1)), 0o644))
	if err := a.Reload(context.Background()); err == nil {
		t.Fatal("config with a missing baseline dir accepted")
	}
	m := a.Metrics()
	if metricValue(m.ConfigReloads.WithLabelValues("failure")) != 2 || metricValue(m.ConfigLastReload) != 0 {
		t.Error("failed reloads not counted")
	}
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatalf("old configuration no longer works: %v", err)
	}
	must(t, os.WriteFile(file, []byte(strings.Replace(good, "@every 1m", "@every 2m", 1)), 0o644))
	must(t, a.Reload(context.Background()))
	if a.Config().Schedule.Cron != "@every 2m" || metricValue(m.ConfigLastReload) != 1 {
		t.Error("good reload not applied")
	}
}

func TestShutdownDuringScan(t *testing.T) {
	f := newFixture(t)
	_, err := f.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Latency: 300 * time.Millisecond})
	must(t, err)
	c := f.config()
	c.Inventory.Concurrency = 1
	c.Schedule.ShutdownTimeout = 200 * time.Millisecond
	a := f.app(t, c)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	// Wait until the first scan is collecting inventory.
	deadline := time.Now().Add(5 * time.Second)
	for f.sim.CallCount("ssm", "ListInventoryEntries") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancellation")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s, bound is 200ms + one in-flight call", d)
	}
	if a.LastScan() == nil || a.LastScan().Err == nil || !errors.Is(a.LastScan().Err, context.Canceled) {
		t.Errorf("interrupted scan not reported as failed: %+v", a.LastScan())
	}
	if a.State().Len() != 0 {
		t.Errorf("verdicts of an interrupted scan were recorded")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/-/healthy"); err == nil {
		t.Error("HTTP server still serving after Run returned")
	}
}

var _ = config.Default
