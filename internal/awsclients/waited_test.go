package awsclients

import (
	"testing"
	"time"
)

// TestWaitedReportsLimiterWaits: an attempt that finds a free slot is no
// wait; one that has to wait for the limiter is reported with its wait.
func TestWaitedReportsLimiterWaits(t *testing.T) {
	var lim Limiters
	lim.Set(map[string]float64{"ssm": 20}) // burst 20, then one slot every 50 ms
	type wait struct {
		key string
		d   time.Duration
	}
	var got []wait
	m := Attempts{Limits: &lim, Waited: func(svc, op string, d time.Duration) { got = append(got, wait{svc + ":" + op, d}) }}
	for range 20 {
		if err := m.wait(t.Context(), "ssm", "ListInventoryEntries"); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 0 {
		t.Fatalf("the burst waited: %v", got)
	}
	if err := m.wait(t.Context(), "ssm", "ListInventoryEntries"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].key != "ssm:ListInventoryEntries" || got[0].d < 20*time.Millisecond {
		t.Fatalf("after the burst: %v, want one wait of about 50ms", got)
	}
	// Without limits nothing waits and nothing is reported.
	m.Limits = nil
	if err := m.wait(t.Context(), "ssm", "ListInventoryEntries"); err != nil || len(got) != 1 {
		t.Fatalf("no limits: err %v, waits %v", err, got)
	}
}
