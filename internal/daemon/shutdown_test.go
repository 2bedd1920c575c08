package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/config"
)

// slowDaemon is a daemon with alerting attached to a webhook receiver, over
// a simulated region whose ListInventoryEntries answers slowly.
func slowDaemon(t *testing.T, timeout string) (*Daemon, *Engines, *receiver, *observer.ObservedLogs, *awssim.Sim) {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2.15", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddLaunchTemplate("web-lt", "m6i.large", ami); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddGroup(awssim.GroupSpec{Name: "web", LaunchTemplateName: "web-lt", Min: 0, Max: 10, Desired: 4}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddFault(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Latency: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := sim.Manifest(ami)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ami+".json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	t.Setenv("ENGINES_TEST_SECRET", "s3cr3t")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
baselines:
  - dir: {path: %q}
inventory:
  concurrency: 1
  rate_limits: {ssm: 2000, ec2: 2000, autoscaling: 2000}
schedule: {cron: "@every 1h", timeout: %s, shutdown_timeout: 100ms}
alerting:
  sinks:
    - {name: hook, type: webhook, url: %q, secret_env: ENGINES_TEST_SECRET, timeout: 2s}
`, dir, timeout, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	a, err := New(context.Background(), Options{Config: cfg, Logger: zap.New(core), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String("http://" + srv.Addr())}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := a.AttachEngines(zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return a, eng, rcv, logs, sim
}

// TestShutdownMidScanIsNotAScanFailure reproduces the probe: SIGTERM while
// a scan collects inventory. The scan is interrupted, not failed: no
// scan.failed notification, no failure counted, an info line saying so.
func TestShutdownMidScanIsNotAScanFailure(t *testing.T) {
	a, eng, rcv, logs, sim := slowDaemon(t, "1m")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	deadline := time.Now().Add(5 * time.Second)
	for sim.CallCount("ssm", "ListInventoryEntries") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := a.LastScan()
	if last == nil || last.Err == nil || !last.Interrupted {
		t.Fatalf("last scan %+v: want an interrupted scan", last)
	}
	if got := rcv.types(""); slices.Contains(got, "scan.failed") {
		t.Errorf("shutdown announced as a failed scan: %v", got)
	}
	if n := testutil.ToFloat64(a.Metrics().Scans.WithLabelValues("failure")); n != 0 {
		t.Errorf("driftd_scans_total{result=failure} = %v, want 0", n)
	}
	if logs.FilterMessage("scan interrupted by shutdown").Len() != 1 || logs.FilterMessage("scan failed").Len() != 0 {
		t.Errorf("logs: %v", logs.All())
	}
}

// TestScanTimeoutIsAScanFailure: a scan stopped by schedule.timeout did fail:
// scan.failed is announced and counted.
func TestScanTimeoutIsAScanFailure(t *testing.T) {
	a, eng, rcv, logs, _ := slowDaemon(t, "300ms")
	res, err := a.Scan(context.Background(), nil)
	if err == nil || res.Interrupted {
		t.Fatalf("scan: err %v, interrupted %v; want a timed-out failure", err, res.Interrupted)
	}
	rcv.waitFor(t, "", "scan.failed")
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(a.Metrics().Scans.WithLabelValues("failure")); n != 1 {
		t.Errorf("driftd_scans_total{result=failure} = %v, want 1", n)
	}
	if logs.FilterMessage("scan failed").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
}
