package remediation

import (
	"context"
	"sync/atomic"
	"testing"
)

// countingReader answers every read with nothing and counts the group reads.
type countingReader struct{ groups atomic.Int64 }

func (r *countingReader) DescribeGroups(context.Context, []string) (map[string]GroupFacts, map[string]error) {
	r.groups.Add(1)
	return nil, nil
}

func (r *countingReader) DescribeInstances(context.Context, []string) (map[string]InstanceInfo, map[string]error) {
	return nil, nil
}

func (r *countingReader) DescribeMember(context.Context, string) (Member, bool, error) {
	return Member{}, false, nil
}

func (r *countingReader) Refreshes(context.Context, string) ([]RefreshInfo, error) { return nil, nil }

// TestSetAWSAppliesFromTheNextCycle: clients handed over by a configuration
// reload are the ones the next cycle reads through; the old ones are read
// no more.
func TestSetAWSAppliesFromTheNextCycle(t *testing.T) {
	old, cur := &countingReader{}, &countingReader{}
	e := NewEngine(Options{Reader: old, Executor: &DryRun{}})
	in := []InstanceState{{ID: "i-0000000000000000a", ASG: "web", Verdict: "in_sync", ConsecutiveScans: 1}}
	if _, err := e.Cycle(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	e.SetAWS(cur, &DryRun{}, nil)
	if _, err := e.Cycle(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if o, c := old.groups.Load(), cur.groups.Load(); o != 1 || c != 1 {
		t.Fatalf("group reads: old clients %d, new clients %d; want 1 and 1", o, c)
	}
}
