package fleet_test

import (
	"runtime"
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestLargeFleetMemory checks that 10,000 instances × 1,000 packages fit
// comfortably: inventory is shared per AMI, instances hold only overlays.
func TestLargeFleetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-instance fleet; skipped with -short")
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	if err := s.LoadScenario(awssim.GenerateFleet(10000, 1000, 10, 1)); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("10,000 instances × 1,000 packages on 10 AMIs: %.1f MiB heap", float64(used)/(1<<20))
	if used > 256<<20 {
		t.Fatalf("fleet uses %d MiB, want < 256 MiB", used>>20)
	}
	if sm := s.Summary(); sm.Instances != 10000 || sm.Drifted != 100 {
		t.Fatalf("summary %+v", sm)
	}
	runtime.KeepAlive(s)
}
