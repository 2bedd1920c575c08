package daemon

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/scan"
)

// TestScanProgress: while a scan runs, its progress (phase, instances
// discovered and compared, API calls, throttled calls, limiter waits, ETA)
// is readable from Progress and /api/v1/scan and logged periodically; it
// is gone once the scan has finished.
func TestScanProgress(t *testing.T) {
	f := newFixture(t)
	// One instance at a time under a client-side limit that makes the
	// inventory reads wait (so the scan is seen half way); one throttled
	// discovery call.
	_, err := f.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "DescribeInstanceInformation", ErrorRate: 1, ErrorCode: "ThrottlingException", Count: 1})
	must(t, err)
	c := f.config()
	c.Inventory.Concurrency = 1
	c.AWS.RetryMode = "standard" // adaptive mode would slow every call after the throttled one
	c.Inventory.RateLimits["ssm:ListInventoryEntries"] = 10
	core, logs := observer.New(zapcore.InfoLevel)
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(f.url), Logger: zap.New(core), Registry: prometheus.NewRegistry(),
		ProgressLog: 100 * time.Millisecond})
	must(t, err)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	if _, ok := a.Progress(); ok {
		t.Fatal("progress before any scan")
	}

	done := make(chan error, 1)
	go func() { _, err := a.Scan(context.Background(), nil); done <- err }()
	var mid, last scan.Progress
	var api map[string]json.RawMessage
	for finished := false; !finished; {
		select {
		case err := <-done:
			must(t, err)
			finished = true
			continue
		case <-time.After(20 * time.Millisecond):
		}
		p, ok := a.Progress()
		if !ok {
			continue
		}
		if p.Compared < last.Compared || p.APICalls < last.APICalls {
			t.Errorf("progress went back: %+v after %+v", p, last)
		}
		last = p
		if p.Phase == scan.PhaseComparing && p.Compared > 0 && p.Compared < p.Discovered && mid.Compared == 0 {
			mid = p
			must(t, json.Unmarshal(get(t, srv, "/api/v1/scan", 200), &api))
		}
	}
	if mid.Compared == 0 {
		t.Fatalf("never saw the scan half way; last %+v", last)
	}
	if mid.Discovered != 7 || mid.APICalls == 0 || mid.Throttled != 1 || mid.ETA <= 0 || mid.ID != 1 || mid.Elapsed <= 0 {
		t.Errorf("half way: %+v", mid)
	}
	if last.ThrottleWait <= 0 {
		t.Errorf("no limiter wait counted: %+v", last)
	}
	if string(api["running"]) != "true" {
		t.Errorf("/api/v1/scan while running: running=%s", api["running"])
	}
	var ap struct {
		Phase      string   `json:"phase"`
		Discovered int      `json:"instances_discovered"`
		Compared   int      `json:"instances_compared"`
		ETA        *float64 `json:"eta_seconds"`
	}
	must(t, json.Unmarshal(api["progress"], &ap))
	if ap.Phase != scan.PhaseComparing || ap.Discovered != 7 || ap.Compared == 0 || ap.ETA == nil {
		t.Errorf("/api/v1/scan progress: %s", api["progress"])
	}
	if _, ok := a.Progress(); ok {
		t.Error("progress still reported after the scan")
	}
	var after map[string]any
	must(t, json.Unmarshal(get(t, srv, "/api/v1/scan", 200), &after))
	if after["running"] != false || after["progress"] != nil || after["success"] != true {
		t.Errorf("/api/v1/scan after the scan: %v", after)
	}
	lines := logs.FilterMessage("scan progress").All()
	if len(lines) == 0 {
		t.Fatal("no progress logged")
	}
	if m := lines[len(lines)-1].ContextMap(); m["discovered"] != int64(7) || m["scan"] != int64(1) {
		t.Errorf("progress line %v", m)
	}
}
