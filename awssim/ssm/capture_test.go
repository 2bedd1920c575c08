package ssm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// lieCapture returns the CaptureTime and entries ListInventoryEntries reports.
func lieCapture(t *testing.T, e *simtest.Env, id, typeName string) (string, []map[string]string) {
	t.Helper()
	out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(typeName)})
	if err != nil {
		t.Fatalf("ListInventoryEntries %s %s: %v", id, typeName, err)
	}
	return aws.ToString(out.CaptureTime), out.Entries
}

// TestCaptureTimeMovesWithoutChange: every inventory run reports a fresh
// CaptureTime whether or not anything changed; only a stopped agent or
// injected staleness freezes it.
func TestCaptureTimeMovesWithoutChange(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: -1, InventoryDelay: -1}, nil)
	ami, err := e.Sim.AddAMI(awssim.AMISpec{Name: "base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.Sim.AddInstances(ami, "", 3, nil, time.Hour) // first report 1h ago: runs at simtest.T0-1h, simtest.T0-30m, simtest.T0
	if err != nil {
		t.Fatal(err)
	}
	ct := func(id string) string { c, _ := lieCapture(t, e, id, awssim.TypeApplication); return c }
	if got := ct(ids[0]); got != "2026-11-20T12:00:00Z" {
		t.Fatalf("CaptureTime at t0 = %s, want the run at t0", got)
	}
	e.Clock.Advance(29 * time.Minute)
	if got := ct(ids[0]); got != "2026-11-20T12:00:00Z" {
		t.Fatalf("between runs: %s", got)
	}
	e.Clock.Advance(time.Minute) // simtest.T0+30m: the next run, nothing changed
	if got, entries := lieCapture(t, e, ids[0], awssim.TypeApplication); got != "2026-11-20T12:30:00Z" || len(entries) != 1 {
		t.Fatalf("after the next run: %s %v", got, entries)
	}
	if c, ok := e.Sim.CaptureTime(ids[0], awssim.TypeApplication); !ok || !c.Equal(simtest.T0.Add(30*time.Minute)) {
		t.Fatalf("Sim.CaptureTime = %v %v", c, ok)
	}
	if _, ok := e.Sim.CaptureTime(ids[0], "Custom:None"); ok {
		t.Fatal("Sim.CaptureTime of a type the node lacks")
	}
	// The agent stops: frozen at its last run; the others keep moving.
	if err := e.Sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftAgentOff}); err != nil {
		t.Fatal(err)
	}
	if err := e.Sim.Inject(ids[2], awssim.Drift{Action: awssim.DriftStale, Age: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Hour) // simtest.T0+2h30m
	for _, c := range []struct{ id, want string }{
		{ids[0], "2026-11-20T14:30:00Z"},
		{ids[1], "2026-11-20T12:30:00Z"}, // offline since simtest.T0+30m
		{ids[2], "2026-11-20T10:30:00Z"}, // stale from simtest.T0+30m-2h: its last run before then
	} {
		if got := ct(c.id); got != c.want {
			t.Errorf("%s: CaptureTime %s, want %s", c.id, got, c.want)
		}
	}
	// Back online: the next run reports again.
	if err := e.Sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftAgentOn}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Minute)
	if got := ct(ids[1]); got != "2026-11-20T15:00:00Z" {
		t.Errorf("agent back online: CaptureTime %s", got)
	}
}

// TestPutInventoryHashOnly models the agent's optimised upload: an unchanged
// hash keeps the content and stores the item's new CaptureTime; a hash-only
// item the service cannot match is refused with ItemContentMismatchException
// (the agent then re-sends full items) and changes nothing.
func TestPutInventoryHashOnly(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: -1, InventoryDelay: -1}, nil)
	ami, err := e.Sim.AddAMI(awssim.AMISpec{Name: "base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.Sim.AddInstances(ami, "", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	const typ = "Custom:AppConfig"
	put := func(items ...ssmtypes.InventoryItem) error {
		_, err := e.SSM.PutInventory(e.Ctx, &ssm.PutInventoryInput{InstanceId: aws.String(id), Items: items})
		return err
	}
	item := func(ct, hash string, content []map[string]string) ssmtypes.InventoryItem {
		it := ssmtypes.InventoryItem{TypeName: aws.String(typ), SchemaVersion: aws.String("1.0"), CaptureTime: aws.String(ct), Content: content}
		if hash != "" {
			it.ContentHash = aws.String(hash)
		}
		return it
	}
	mismatch := func(err error) bool {
		var m *ssmtypes.ItemContentMismatchException
		return errors.As(err, &m)
	}
	// No stored content yet: a hash-only item cannot be matched.
	if err := put(item("2026-11-20T11:59:00Z", "h1", nil)); !mismatch(err) {
		t.Fatalf("hash-only item without stored content: %T %v", err, err)
	}
	if err := put(item("2026-11-20T12:00:00Z", "h1", []map[string]string{{"Name": "feature-x", "Value": "on"}})); err != nil {
		t.Fatal(err)
	}
	appBefore, _ := lieCapture(t, e, id, awssim.TypeApplication)
	e.Clock.Advance(10 * time.Minute)
	if err := put(item("2026-11-20T12:10:00Z", "h1", nil)); err != nil {
		t.Fatalf("hash-only item, same hash: %v", err)
	}
	ct, entries := lieCapture(t, e, id, typ)
	if ct != "2026-11-20T12:10:00Z" || len(entries) != 1 || entries[0]["Value"] != "on" {
		t.Fatalf("same hash: CaptureTime %s, entries %v; want the new CaptureTime and the stored content", ct, entries)
	}
	if got, _ := lieCapture(t, e, id, awssim.TypeApplication); got != appBefore {
		t.Fatalf("a custom type's upload moved AWS:Application's CaptureTime %s → %s", appBefore, got)
	}
	// A request with an unmatched hash-only item is refused whole.
	err = put(item("2026-11-20T12:11:00Z", "h1", nil),
		ssmtypes.InventoryItem{TypeName: aws.String("Custom:Other"), SchemaVersion: aws.String("1.0"), CaptureTime: aws.String("2026-11-20T12:11:00Z"), ContentHash: aws.String("zz")})
	if !mismatch(err) {
		t.Fatalf("unmatched hash-only item: %T %v", err, err)
	}
	if ct, _ := lieCapture(t, e, id, typ); ct != "2026-11-20T12:10:00Z" {
		t.Fatalf("refused request changed the CaptureTime to %s", ct)
	}
	// Full content without a hash: nothing to match the next hash-only item with.
	if err := put(item("2026-11-20T12:12:00Z", "", []map[string]string{{"Name": "feature-x", "Value": "off"}})); err != nil {
		t.Fatal(err)
	}
	if err := put(item("2026-11-20T12:13:00Z", "h1", nil)); !mismatch(err) {
		t.Fatalf("hash-only after an unhashed upload: %T %v", err, err)
	}
	if ct, entries := lieCapture(t, e, id, typ); ct != "2026-11-20T12:12:00Z" || entries[0]["Value"] != "off" {
		t.Fatalf("unhashed upload: %s %v", ct, entries)
	}
	// The agent's next scheduled run (t0+30m) re-reports the custom type
	// with a fresh CaptureTime, content unchanged.
	e.Clock.Advance(20 * time.Minute)
	if ct, entries := lieCapture(t, e, id, typ); ct != "2026-11-20T12:30:00Z" || entries[0]["Value"] != "off" {
		t.Fatalf("after the next run: %s %v", ct, entries)
	}
}

// TestInventorySpread: with spread phases each node runs once per interval
// at its own offset, so about a quarter of the fleet reports within a
// quarter interval, and all of it within one interval.
func TestInventorySpread(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventorySpread: true}, nil)
	ami, err := e.Sim.AddAMI(awssim.AMISpec{Name: "base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.Sim.AddInstances(ami, "", 400, nil, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	snap := func() map[string]time.Time {
		m := map[string]time.Time{}
		for _, id := range ids {
			c, ok := e.Sim.CaptureTime(id, awssim.TypeApplication)
			if !ok {
				t.Fatalf("%s has no inventory", id)
			}
			m[id] = c
		}
		return m
	}
	moved := func(a, b map[string]time.Time) int {
		n := 0
		for id := range a {
			if !a[id].Equal(b[id]) {
				n++
			}
		}
		return n
	}
	s0 := snap()
	distinct := map[time.Time]bool{}
	for _, c := range s0 {
		if c.After(simtest.T0) || !c.After(simtest.T0.Add(-30*time.Minute)) {
			t.Fatalf("last run %v not within the last interval before %v", c, simtest.T0)
		}
		distinct[c] = true
	}
	if len(distinct) < 300 {
		t.Fatalf("only %d distinct run times among 400 nodes", len(distinct))
	}
	e.Clock.Advance(30 * time.Minute / 4)
	s1 := snap()
	if n := moved(s0, s1); n < 60 || n > 140 {
		t.Fatalf("%d of 400 nodes reported within a quarter interval, want about 100", n)
	}
	e.Clock.Set(simtest.T0.Add(30 * time.Minute))
	s2 := snap()
	if n := moved(s0, s2); n != 400 {
		t.Fatalf("%d of 400 nodes reported within one interval", n)
	}
	for id := range s0 {
		if d := s2[id].Sub(s0[id]); d != 30*time.Minute {
			t.Fatalf("%s: runs %v apart", id, d)
		}
	}
}
