package daemon

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchFleet loads awssim.GenerateFleet(n, pkgs, 4 AMIs) and writes the
// AMIs' baselines.
func benchFleet(b *testing.B, n, pkgs int) (*awssim.Sim, string, *config.Config) {
	sim, url := startSim(b, awssim.Options{CallLogLimit: 1})
	sc := awssim.GenerateFleet(n, pkgs, 4, 1)
	must(b, sim.LoadScenario(sc))
	dir := b.TempDir()
	for _, v := range sim.Instances() {
		p := filepath.Join(dir, v.ImageID+".json")
		if _, err := os.Stat(p); err == nil {
			continue
		}
		raw, err := sim.Manifest(v.ImageID)
		must(b, err)
		must(b, os.WriteFile(p, raw, 0o644))
	}
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	// Without throttling: the simulator is local.
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	c.Inventory.Concurrency = 32
	c.Schedule.Timeout = 20 * time.Minute
	return sim, url, c
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func reportScan(b *testing.B, res *scan.Result, n int) {
	b.ReportMetric(res.Duration.Seconds(), "s/scan")
	b.ReportMetric(float64(res.APICalls.Total)/float64(n), "calls/instance")
	b.ReportMetric(float64(res.APICalls.ByOperation["ssm:ListInventoryEntries"])/float64(n), "ListInventoryEntries/instance")
}

// BenchmarkScan2000 measures a cold and a warm (nothing changed) scan of a
// generated fleet, 2,000 instances x 500 packages by default
// (DRIFTD_BENCH_INSTANCES, DRIFTD_BENCH_PACKAGES override), with real SDK
// clients against awssim over HTTP. It reports wall time per scan, API calls
// per instance, and the heap the daemon retains per instance after a scan
// (state + caches; measured as live heap with the Daemon minus without it).
//
//	go test ./internal/daemon -run '^$' -bench Scan2000 -benchtime 1x
func BenchmarkScan2000(b *testing.B) {
	n, pkgs := envInt("DRIFTD_BENCH_INSTANCES", 2000), envInt("DRIFTD_BENCH_PACKAGES", 500)
	sim, url, c := benchFleet(b, n, pkgs)
	newApp := func() *Daemon {
		a, err := New(context.Background(), Options{Config: c, AWS: simAWS(url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
		must(b, err)
		return a
	}
	check := func(res *scan.Result) {
		if len(res.Instances) != n || res.Summary[drift.VerdictDrifted] == 0 || res.Summary[drift.VerdictInSync]+res.Summary[drift.VerdictDrifted] != n {
			b.Fatalf("scan of %d instances: %v", len(res.Instances), res.Summary)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			a := newApp()
			res, err := a.Scan(context.Background(), nil)
			must(b, err)
			check(res)
			reportScan(b, res, n)
			with := heapAlloc()
			runtime.KeepAlive(a)
			a, res = nil, nil
			without := heapAlloc()
			if with > without {
				b.ReportMetric(float64(with-without)/float64(n), "retained-B/instance")
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		a := newApp()
		_, err := a.Scan(context.Background(), nil)
		must(b, err)
		b.ResetTimer()
		for range b.N {
			sim.ResetCalls()
			res, err := a.Scan(context.Background(), nil)
			must(b, err)
			check(res)
			if res.Reused != n {
				b.Fatalf("warm scan reused %d of %d", res.Reused, n)
			}
			reportScan(b, res, n)
		}
	})
}
