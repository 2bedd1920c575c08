package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
)

// TestScanProcessFootprint runs `driftd scan` as a separate process against
// a generated fleet (default 2,000 instances x 500 packages), cold and then
// warm (state file, nothing changed), and reports wall time, API calls and
// peak RSS of the driftd process. It is a measurement, run on demand:
//
//	DRIFTD_PERF=1 go test ./cmd/driftd -run TestScanProcessFootprint -v -timeout 30m
//	DRIFTD_PERF=1 DRIFTD_PERF_INSTANCES=1000 DRIFTD_PERF_DRIFT_EVERY=5 go test ./cmd/driftd -run TestScanProcessFootprint -v
func TestScanProcessFootprint(t *testing.T) {
	if os.Getenv("DRIFTD_PERF") == "" {
		t.Skip("SKIPPED: measurement; set DRIFTD_PERF=1 to run it")
	}
	n, pkgs, every := 2000, 500, 0
	if v, err := strconv.Atoi(os.Getenv("DRIFTD_PERF_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	// DRIFTD_PERF_DRIFT_EVERY=5: every 5th baseline package at another
	// version, so every instance reports 100 drifted packages (a large report).
	if v, err := strconv.Atoi(os.Getenv("DRIFTD_PERF_DRIFT_EVERY")); err == nil && v > 0 {
		every = v
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "driftd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1, CallLogLimit: 1})
	if err := sim.LoadScenario(awssim.GenerateFleet(n, pkgs, 4, 1)); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := filepath.Join(dir, "baselines")
	os.Mkdir(base, 0o755)
	for _, v := range sim.Instances() {
		if _, err := os.Stat(filepath.Join(base, v.ImageID+".json")); err == nil {
			continue
		}
		doc, err := sim.Manifest(v.ImageID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, v.ImageID+".json"), driftedManifest(t, doc, every), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "driftd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`baselines:
  - dir: {path: %s}
inventory:
  concurrency: 32
  rate_limits: {ssm: 10000, ec2: 10000, autoscaling: 10000}
schedule: {cron: "@every 1h", timeout: 30m}
state: {file: %s}
`, base, filepath.Join(dir, "state.json"))), 0o644)
	env := append(os.Environ(), "AWS_ENDPOINT_URL="+srv.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	for _, phase := range []string{"cold", "warm"} {
		cmd := exec.Command(bin, "scan", "--config", cfg, "--output", "json")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if code := cmd.ProcessState.ExitCode(); code != 1 { // the generated fleet has drift
			t.Fatalf("%s scan: exit %d (%v)\n%s", phase, code, err, stderr.String())
		}
		var rep ScanReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		lie := rep.APICalls.ByOperation["ssm:ListInventoryEntries"]
		t.Logf("%s scan of %d instances x %d packages: wall %s (scan %.1fs), %d API calls (%.2f/instance, ListInventoryEntries %.2f/instance), peak RSS %d MiB, report %.1f MB, verdicts %v",
			phase, n, pkgs, wall.Round(time.Millisecond), rep.Duration, rep.APICalls.Total, float64(rep.APICalls.Total)/float64(n),
			float64(lie)/float64(n), rss/1024, float64(stdout.Len())/(1<<20), rep.Summary)
		if len(rep.Instances) != n {
			t.Errorf("%s: %d instances", phase, len(rep.Instances))
		}
		if phase == "warm" && lie != n*3 {
			t.Errorf("warm scan: %d ListInventoryEntries calls, want %d (1 per instance and type)", lie, n*3)
		}
		if strings.Contains(stderr.String(), `"level":"error"`) {
			t.Errorf("%s scan logged errors:\n%s", phase, stderr.String())
		}
	}
}
