package awssim_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestDataSyncCaptureOnly: Resource Data Sync objects carry captureTime on
// every line, so an inventory run that changed nothing still rewrites the
// object with a new ETag and sends its notification.
func TestDataSyncCaptureOnly(t *testing.T) {
	clk := awssim.NewManualClock(simtest.T0)
	sim := awssim.New(awssim.Options{Clock: clk, LaunchDelay: -1, InventoryDelay: -1})
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}, {Name: "curl", Version: "8.5", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sim.AddInstances(ami, "", 2, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d := sim.EnableResourceDataSync("b", "sync")
	defer d.Close()
	d.SetInterval(1 << 62) // the test drives Sync itself
	key := sim.DataSyncKey("sync", awssim.TypeApplication, ids[0])
	info0, _, _ := d.Stat(key)
	body0, _ := d.Content(key)
	clk.Advance(10 * time.Minute)
	if got := d.Sync(); len(got) != 0 {
		t.Fatalf("no run yet, Sync reported %v", got)
	}
	clk.Advance(20 * time.Minute) // the next run: nothing changed
	changed := d.Sync()
	if len(changed) != 2*len(sim.Fleet().InstanceLocked(ids[0]).Types()) {
		t.Fatalf("after a run without changes, %d objects changed: %v", len(changed), changed)
	}
	info1, _, _ := d.Stat(key)
	body1, _ := d.Content(key)
	if info1.ETag == info0.ETag || !info1.LastModified.After(info0.LastModified) {
		t.Fatalf("ETag %s → %s, LastModified %v → %v: the rewritten object must look new", info0.ETag, info1.ETag, info0.LastModified, info1.LastModified)
	}
	if bytes.Equal(body0, body1) || strings.ReplaceAll(string(body0), "2026-11-20T12:00:00Z", "2026-11-20T12:30:00Z") != string(body1) {
		t.Fatalf("objects differ in more than captureTime:\n%s\n%s", body0, body1)
	}
}
