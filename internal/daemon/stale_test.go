package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
)

// TestStaleAndExemptReadFirstPagesOnly: once the first page of each type
// shows the verdict is stale (a compared type older than inventory.max_age)
// or the instance is exempt, no further page is read; the verdict is the
// one a full read gives, and the cost report still meets its lower bound.
func TestStaleAndExemptReadFirstPagesOnly(t *testing.T) {
	sim, url, _, c := syncFleet(t, 8, 120) // 120 packages: 3 pages of AWS:Application
	stale, exempt, normal := sim.GroupMembers("fleet-00")[1], sim.GroupMembers("fleet-01")[1], sim.GroupMembers("fleet-00")[2]
	must(t, sim.Inject(stale, awssim.Drift{Action: awssim.DriftStale, Age: 72 * time.Hour}))
	c.Policy.Rules = append(c.Policy.Rules, drift.Rule{ID: "exempt-one", Name: exempt, Action: drift.ActionExempt, Reason: "under investigation"})
	sim.ResetCalls()
	a := newTestApp(t, url, c)
	res, err := a.Scan(context.Background(), nil)
	must(t, err)

	calls := map[string]int{}
	for _, cl := range sim.Calls() {
		if cl.Operation != "ListInventoryEntries" {
			continue
		}
		for _, id := range []string{stale, exempt, normal} {
			if strings.Contains(cl.Params, `"`+id+`"`) {
				calls[id]++
			}
		}
	}
	types := 0
	for _, typ := range c.Inventory.Types {
		if drift.TypeApplies(typ, drift.PlatformLinux) { // a Linux instance is asked for its platform's types only
			types++
		}
	}
	if calls[stale] != types || calls[exempt] != types {
		t.Errorf("stale instance: %d calls, exempt: %d, want %d each (first pages only)", calls[stale], calls[exempt], types)
	}
	if calls[normal] != types+2 {
		t.Errorf("normal instance: %d calls, want %d (every page)", calls[normal], types+2)
	}
	got := byID(res)
	if r := got[stale]; r.Verdict != drift.VerdictStale || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "older than 26h0m0s") || r.OldestCapture.IsZero() {
		t.Errorf("stale instance: %+v", r)
	}
	if r := got[exempt]; r.Verdict != drift.VerdictExempt || len(r.Reasons) != 1 || r.Reasons[0] != "exempted by rule exempt-one: under investigation" {
		t.Errorf("exempt instance: %+v", r)
	}
	if res.Cost == nil || res.Cost.CallsTotal != res.Cost.LowerBoundTotal {
		t.Errorf("cost %+v", res.Cost)
	}

	// The next scan reuses both verdicts from one page per type.
	sim.ResetCalls()
	res, err = a.Scan(context.Background(), nil)
	must(t, err)
	if r := byID(res)[stale]; r.Verdict != drift.VerdictStale || res.Reused != 8 {
		t.Errorf("second scan: reused %d, %+v", res.Reused, r)
	}
	if n := sim.CallCount("ssm", "ListInventoryEntries"); n != 8*types {
		t.Errorf("second scan: %d ListInventoryEntries calls, want %d", n, 8*types)
	}
}
