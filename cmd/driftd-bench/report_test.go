package main

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/apicost"
)

// TestReportTables: the Compare CPU table has one row per fleet size in
// increasing order, and a throttled warm scenario's wall time is not
// compared with its unthrottled cold scan.
func TestReportTables(t *testing.T) {
	res := func(name string, instances int, warm bool, throttle float64, cpu time.Duration) Result {
		return Result{Scenario: scenario{Name: name, Mode: apicost.ModeSSMAPI, Instances: instances, Packages: 1000, Warm: warm, Interval: 0.25, Throttle: throttle},
			CallsTotal: 100, LowerBoundTotal: 100, ColdCalls: 400, ColdWall: 3 * time.Second, Wall: 70 * time.Second, CompareCPU: cpu}
	}
	rep := renderReport([]Result{
		res("api-10k-cold", 10000, false, 0, 140*time.Millisecond),
		res("s3-1k-cold", 1000, false, 0, 10*time.Millisecond),
		res("api-1k-cold", 1000, false, 0, 20*time.Millisecond),
		res("api-2k-cold", 2000, false, 0, 30*time.Millisecond),
		res("api-throttled-200-warm-0.25x", 200, true, 20, 0),
		res("api-1k-warm-0.25x", 1000, true, 0, 0),
	}, false)
	_, cmp, ok := strings.Cut(rep, "## drift.Compare CPU")
	if !ok {
		t.Fatalf("no Compare CPU table:\n%s", rep)
	}
	want := "| 1000 | 1000 | 0.01 s |\n| 2000 | 1000 | 0.03 s |\n| 10000 | 1000 | 0.14 s |\n"
	if !strings.Contains(cmp, want) || strings.Count(cmp, "| 1000 | 1000 |") != 1 {
		t.Errorf("Compare CPU table:\n%s\nwant rows:\n%s", cmp, want)
	}
	for _, w := range []string{
		"| 3.00 s (unthrottled) | 70.00 s | — |", // throttled warm: no ratio
		"| 3.00 s | 70.00 s | 23.333 |",          // unthrottled warm: the ratio
	} {
		if !strings.Contains(rep, w) {
			t.Errorf("warm table lacks %q:\n%s", w, rep)
		}
	}
}
