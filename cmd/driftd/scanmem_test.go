package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/scan"
)

// driftedManifest returns a manifest whose every n-th package has another
// version, so that every instance of the AMI reports those packages as
// drifted (n <= 0: unchanged).
func driftedManifest(tb testing.TB, doc []byte, n int) []byte {
	tb.Helper()
	if n <= 0 {
		return doc
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		tb.Fatal(err)
	}
	pkgs, _ := m["packages"].([]any)
	for i := 0; i < len(pkgs); i += n {
		p := pkgs[i].(map[string]any)
		p["version"] = "0.0.1"
	}
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// scanFleet scans a generated fleet of n instances × pkgs packages (4 AMIs,
// every 100th instance drifted) in a simulated region, in-process, against
// baselines in which every driftEvery-th package has another version.
func scanFleet(tb testing.TB, n, pkgs, driftEvery int) *scan.Result {
	tb.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1, CallLogLimit: 1})
	if err := sim.LoadScenario(awssim.GenerateFleet(n, pkgs, 4, 1)); err != nil {
		tb.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	dir := tb.TempDir()
	for _, v := range sim.Instances() {
		p := filepath.Join(dir, v.ImageID+".json")
		if _, err := os.Stat(p); err == nil {
			continue
		}
		doc, err := sim.Manifest(v.ImageID)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, driftedManifest(tb, doc, driftEvery), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	cfg.Inventory.Concurrency = 16
	cfg.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	cfg.Schedule.Timeout = 30 * time.Minute
	a, err := daemon.New(context.Background(), daemon.Options{
		ConfigLoader: func() (*config.Config, error) { return cfg, nil },
		AWS: &aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := a.Scan(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(res.Instances) != n {
		tb.Fatalf("%d of %d instances scanned", len(res.Instances), n)
	}
	return res
}

// heapSampler records the peak of the heap's allocated bytes (live and
// not yet swept: what HeapAlloc reports) while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		peak := heapInUse()
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				h.done <- max(peak, heapInUse())
				return
			case <-t.C:
				peak = max(peak, heapInUse())
			}
		}
	}()
	return h
}

// Peak stops the sampler and returns the peak.
func (h *heapSampler) Peak() uint64 { close(h.stop); return <-h.done }

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var (
	reportFleetOnce sync.Once
	reportFleet     *scan.Result
)

// BenchmarkScanReportJSON measures `driftd scan --output json`'s rendering
// of a scan of 1,000 instances × 500 packages in which every instance has
// 100 drifted packages (baselines with every 5th package at another version),
// a report of about 35 MB: allocated bytes per rendering (B/op), the peak
// growth of the heap while rendering (peak-heap-MB, sampled every 100 µs,
// above the heap that holds the scan result) and the report's size.
// DRIFTD_REPORT_INSTANCES and DRIFTD_REPORT_DRIFT_EVERY change the fleet.
//
//	go test ./cmd/driftd -run XXX -bench ScanReportJSON -benchmem -count 6
func BenchmarkScanReportJSON(b *testing.B) {
	n, every := 1000, 5
	if v, err := strconv.Atoi(os.Getenv("DRIFTD_REPORT_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("DRIFTD_REPORT_DRIFT_EVERY")); err == nil {
		every = v
	}
	reportFleetOnce.Do(func() { reportFleet = scanFleet(b, n, 500, every) })
	res := reportFleet
	var peak uint64
	var w countWriter
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		base := heapInUse()
		w.n = 0
		h := startHeapSampler()
		b.StartTimer()
		if err := renderScan(&w, "json", res); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if p := h.Peak(); p > base {
			peak = max(peak, p-base)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(w.n)/(1<<20), "report-MB")
}

// TestScanResultMemory reports how much of the heap a scan result holds and
// how much of that is findings, for the fleet of BenchmarkScanReportJSON. It
// is a measurement, run on demand:
//
//	DRIFTD_PERF=1 go test ./cmd/driftd -run TestScanResultMemory -v
func TestScanResultMemory(t *testing.T) {
	if os.Getenv("DRIFTD_PERF") == "" {
		t.Skip("SKIPPED: measurement; set DRIFTD_PERF=1 to run it")
	}
	res := scanFleet(t, 1000, 500, 5)
	live := func() uint64 { runtime.GC(); runtime.GC(); return heapInUse() }
	withAll := live()
	findings := 0
	for i := range res.Instances {
		findings += len(res.Instances[i].Report.Findings)
		res.Instances[i].Report.Findings = nil
	}
	noFindings := live()
	res.Instances = nil
	none := live()
	if withAll <= noFindings || findings == 0 {
		t.Fatalf("no findings measured: %d findings, heap %d → %d", findings, withAll, noFindings)
	}
	t.Logf("scan result of 1,000 instances: %.1f MB, of which the reports' findings %.1f MB (%d findings), the rest of the per-instance results %.1f MB",
		float64(withAll-none)/(1<<20), float64(withAll-noFindings)/(1<<20), findings, float64(noFindings-none)/(1<<20))
}
