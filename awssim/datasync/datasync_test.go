package datasync_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestDataSyncObjects(t *testing.T) {
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	if err := sim.LoadScenario(awssim.GenerateFleet(30, 20, 2, 1)); err != nil {
		t.Fatal(err)
	}
	d := sim.EnableResourceDataSync("b", "/sync")
	defer d.Close()
	d.SetInterval(1 << 62) // the test drives Sync itself
	prefix := "sync/AWS:Application/"
	// Paging: pages of 7 cover every instance once, in key order.
	var keys []string
	after := ""
	for {
		page, err := d.List(prefix, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			if o.Size <= 0 || !strings.HasPrefix(o.ETag, `"`) {
				t.Fatalf("object %+v", o)
			}
			keys = append(keys, o.Key)
		}
		if len(page) < 7 {
			break
		}
		after = page[len(page)-1].Key
	}
	if len(keys) != 30 {
		t.Fatalf("%d keys listed", len(keys))
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Fatalf("keys out of order: %s, %s", keys[i-1], keys[i])
		}
	}
	// Content matches its listed size; every line names the instance.
	info, ok, _ := d.Stat(keys[3])
	body, _ := d.Content(keys[3])
	_, id, _ := d.ParseKey(keys[3])
	if !ok || int64(len(body)) != info.Size || strings.Count(string(body), "\n") != 20+boolInt(strings.Contains(string(body), "drift-extra")) ||
		strings.Count(string(body), `"resourceId":"`+id+`"`) != strings.Count(string(body), "\n") {
		t.Fatalf("object %s: size %d, %d bytes:\n%.300s", keys[3], info.Size, len(body), body)
	}
	if got := d.Sync(); len(got) != 0 {
		t.Fatalf("nothing changed, Sync reported %v", got)
	}
	// A drift changes that instance's objects (new upload, new ETag) only.
	before, _, _ := d.Stat(sim.DataSyncKey("sync", awssim.TypeSystemdUnit, id))
	if err := sim.Inject(id, awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "sshd.service"}}); err != nil {
		t.Fatal(err)
	}
	changed := d.Sync()
	if len(changed) == 0 {
		t.Fatal("drift not noticed")
	}
	for _, k := range changed {
		if _, cid, _ := d.ParseKey(k); cid != id {
			t.Fatalf("unrelated object %s reported changed", k)
		}
	}
	info2, _, _ := d.Stat(sim.DataSyncKey("sync", awssim.TypeSystemdUnit, id))
	if info2.ETag == "" || info2.ETag == before.ETag {
		t.Fatalf("etag %q unchanged by the drift", info2.ETag)
	}
	if _, ok, _ := d.Stat("sync/AWS:Application/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/i-0ffffffffffffffff.json"); ok {
		t.Fatal("unknown instance has an object")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

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
