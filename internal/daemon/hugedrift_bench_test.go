package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// countingWriter counts bytes written.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkScanHugeDrift measures what an instance that differs from its
// baseline in every package costs the daemon: 7 instances of one AMI, read
// through Resource Data Sync, against a valid 200,000-package baseline
// (DRIFTD_BENCH_PACKAGES overrides): the instances have half of its packages,
// each at another version, and lack the other half (200,000 findings per
// instance). It reports the heap held right
// after the scan with its result alive (what observers, notifications and
// `driftd scan --output json` work from), the heap the daemon retains once
// the result is dropped (state, the parsed baseline), both net of the
// simulator's memory, and the size of the instances' JSON.
//
//	go test ./internal/daemon -run '^$' -bench ScanHugeDrift -benchtime 1x -timeout 30m
func BenchmarkScanHugeDrift(b *testing.B) {
	const n = 7
	pkgs := envInt("DRIFTD_BENCH_PACKAGES", 200_000)
	sim, url := startSim(b, awssim.Options{CallLogLimit: 1})
	// awssim generates at most 100,000 packages per image: the instances
	// have half the manifest's packages, each at another version, and the
	// other half is missing.
	must(b, sim.LoadScenario(awssim.GenerateFleet(n, pkgs/2, 1, 3)))
	ds := sim.EnableResourceDataSync("driftd-inventory", "inv")
	b.Cleanup(ds.Close)
	dir := b.TempDir()
	ami := sim.Instances()[0].ImageID
	raw, err := sim.Manifest(ami)
	must(b, err)
	var doc map[string]any
	must(b, json.Unmarshal(raw, &doc))
	list := doc["packages"].([]any)
	for _, p := range list {
		pm := p.(map[string]any)
		pm["version"] = pm["version"].(string) + ".1"
	}
	for i := len(list); i < pkgs; i++ {
		list = append(list, map[string]any{"name": fmt.Sprintf("absent-%06d", i), "arch": "x86_64", "version": "1.0", "release": "1.amzn2023"})
	}
	doc["packages"] = list
	raw, err = json.Marshal(doc)
	must(b, err)
	must(b, os.WriteFile(filepath.Join(dir, ami+".json"), raw, 0o644))
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4, "s3": 1e4}
	c.Inventory.InventorySource = config.InventorySource{Source: config.SourceResourceDataSync,
		ResourceDataSync: &config.ResourceDataSync{Bucket: "driftd-inventory", Prefix: "inv", AccountID: "123456789012"}}
	c.Schedule.Timeout = 20 * time.Minute
	for range b.N {
		a, err := New(context.Background(), Options{Config: c, AWS: simAWS(url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
		must(b, err)
		res, err := a.Scan(context.Background(), nil)
		must(b, err)
		if res.Summary[drift.VerdictDrifted] != n {
			b.Fatalf("summary %v", res.Summary)
		}
		findings := 0
		for _, ir := range res.Instances {
			findings += len(ir.Report.Findings)
		}
		withResult := heapAlloc()
		var out countingWriter
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		must(b, enc.Encode(res.Instances))
		res = nil
		withApp := heapAlloc()
		runtime.KeepAlive(a)
		a = nil
		without := heapAlloc() // the simulator's own memory (same process) stays in all three
		b.ReportMetric(float64(findings)/n, "listed-findings/instance")
		b.ReportMetric(float64(int64(withResult)-int64(without))/(1<<20), "MiB-with-result")
		b.ReportMetric(float64(int64(withApp)-int64(without))/(1<<20), "MiB-retained")
		b.ReportMetric(float64(out.n)/(1<<20), "MiB-json")
	}
}
