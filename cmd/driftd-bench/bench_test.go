package main

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/apicost"
)

// TestQuickScenarios runs tiny versions of each kind of scenario in-process
// so the harness cannot rot: calls stay at the lower bound, nothing is left
// unknown, and the report renders every section.
func TestQuickScenarios(t *testing.T) {
	var results []Result
	for _, s := range []scenario{
		{Name: "s3-warm", Mode: apicost.ModeResourceDataSync, Instances: 12, Packages: 60, Warm: true},
		{Name: "s3-cold", Mode: apicost.ModeResourceDataSync, Instances: 6, Packages: 60},
		{Name: "api-warm", Mode: apicost.ModeSSMAPI, Instances: 8, Packages: 120, Warm: true},
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
		results = append(results, *r)
	}
	rep := renderReport(results, true)
	for _, want := range []string{"| s3-warm | 12 | 60 | S3 sync | warm (1%)", "## Throttled SSM", "## S3 sync mode against the download-and-decode floor", "## Warm (1% changed) against cold", "equals the fleet model's"} {
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
