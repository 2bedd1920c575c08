package main

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/apicost"
)

// TestQuickScenarios runs tiny versions of each kind of scenario in-process
// so the harness cannot rot: calls stay at the lower bound, nothing is left
// unknown, warm scans pay for every CaptureTime the inventory schedule moved,
// and the report renders every section.
func TestQuickScenarios(t *testing.T) {
	var results []Result
	for _, s := range []scenario{
		{Name: "s3-warm-0.25x", Mode: apicost.ModeResourceDataSync, Instances: 40, Packages: 60, Warm: true, Interval: 0.25},
		{Name: "s3-cold", Mode: apicost.ModeResourceDataSync, Instances: 6, Packages: 60},
		{Name: "api-warm-0.25x-synced", Mode: apicost.ModeSSMAPI, Instances: 20, Packages: 120, Warm: true, Interval: 0.25, Synced: true},
		{Name: "api-warm-1x", Mode: apicost.ModeSSMAPI, Instances: 20, Packages: 120, Warm: true, Interval: 1},
		{Name: "api-throttled", Mode: apicost.ModeSSMAPI, Instances: 3, Packages: 60, Throttle: 40},
	} {
		r, err := runScenario(s)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if r.CallsTotal > r.LowerBoundTotal*102/100 || r.CallsTotal < r.LowerBoundTotal || r.Unknown != 0 {
			t.Fatalf("%s: %d calls for a lower bound of %d, %d unknown (%v vs %v)", s.Name, r.CallsTotal, r.LowerBoundTotal, r.Unknown, r.Calls, r.LowerBound)
		}
		if r.DaemonLowerBoundTotal != r.LowerBoundTotal {
			t.Fatalf("%s: daemon lower bound %d, fleet model %d", s.Name, r.DaemonLowerBoundTotal, r.LowerBoundTotal)
		}
		if s.Mode == apicost.ModeResourceDataSync && (r.Floor <= 0 || r.Bytes <= 0) {
			t.Fatalf("%s: no floor measured: %+v", s.Name, r)
		}
		if s.Throttle > 0 && (r.ThrottleMinimum <= 0 || r.Throttled != 0) {
			t.Fatalf("%s: throttle minimum %v, %d throttling errors", s.Name, r.ThrottleMinimum, r.Throttled)
		}
		changed := (s.Instances - 50 + 99) / 100 // every 100th from the 50th
		if changed == 0 {
			changed = 1
		}
		lie := r.Calls[apicost.OpListInventoryEntries]
		switch s.Name {
		case "api-warm-0.25x-synced": // no inventory run between the scans: 1 call per type, 1% read in full
			if r.Moved != changed || lie != 3*(s.Instances-changed)+changed*(apicost.Pages(s.Packages+1, apicost.InventoryEntriesPage)+2) {
				t.Fatalf("%s: %d moved, %d ListInventoryEntries (%v)", s.Name, r.Moved, lie, r.Calls)
			}
		case "api-warm-1x": // every node ran inventory: everything read again, as cold
			if r.Moved != s.Instances || r.CallsTotal < r.ColdCalls {
				t.Fatalf("%s: %d of %d moved, %d calls warm vs %d cold", s.Name, r.Moved, s.Instances, r.CallsTotal, r.ColdCalls)
			}
		case "s3-warm-0.25x": // some nodes ran inventory: their objects are downloaded again
			if r.Moved <= changed || r.Moved >= s.Instances || r.Calls[apicost.OpGetObject] != r.LowerBound[apicost.OpGetObject] ||
				r.Calls[apicost.OpGetObject] < 3*(r.Moved-changed) {
				t.Fatalf("%s: %d moved, %v", s.Name, r.Moved, r.Calls)
			}
		}
		results = append(results, *r)
	}
	rep := renderReport(results, true)
	for _, want := range []string{"| s3-warm-0.25x | 40 | 60 | S3 sync | warm 0.25× |", "| api-warm-0.25x-synced | 20 | 120 | SSM API | warm 0.25× synced |",
		"## Throttled SSM", "## S3 sync mode against the download-and-decode floor", "## Warm scans against the inventory schedule",
		"| api-warm-1x | 1× | 20 (100%) |", "equals the fleet model's"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
}

func TestScenarioList(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range scenarios {
		if seen[s.Name] {
			t.Fatalf("duplicate scenario %s", s.Name)
		}
		seen[s.Name] = true
		if q := s.scaled(true); q.Instances > 200 || q.Packages != 100 {
			t.Fatalf("quick %s is not small: %+v", s.Name, q)
		}
	}
	if _, ok := findScenario("s3-10k-cold"); !ok {
		t.Fatal("s3-10k-cold missing")
	}
}
