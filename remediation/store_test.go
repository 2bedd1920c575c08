package remediation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

// engineOn builds an engine on store with exec in front of the simulated
// region's executor (nil: the region's).
func (e *env) engineOn(c config.Remediation, store remediation.StateStore, wrap func(remediation.Executor) remediation.Executor) *remediation.Engine {
	aws := &remediation.AWS{AutoScaling: e.asg, EC2: e.ec2}
	var exec remediation.Executor = aws
	if wrap != nil {
		exec = wrap(aws)
	}
	c.KillSwitch.File = ptr("")
	e.reg = prometheus.NewRegistry()
	return remediation.NewEngine(remediation.Options{
		Config: c, Reader: aws, Executor: exec,
		KillSwitch: &remediation.KillSwitchReader{SSM: e.ssm},
		Sink:       e.sink, Metrics: remediation.NewMetrics(e.reg), Log: zap.NewNop(),
		Now: e.clock.Now, Store: store,
	})
}

// failingReplace fails every Replace with err and passes tags through.
type failingReplace struct {
	remediation.Executor
	err   error
	calls int
}

func (f *failingReplace) Replace(context.Context, remediation.Action) (string, error) {
	f.calls++
	return "", f.err
}

// TestStoreDecisionsOutliveTheEngine: an approval given to one engine is
// acted on by another engine on the same store (a restart, or the replica
// that took over), and consumed there once.
func TestStoreDecisionsOutliveTheEngine(t *testing.T) {
	e := newEnv(t, 10)
	ids := e.drift(2)
	c := replaceConfig()
	c.Groups[0].Mode = "approve"
	store := &remediation.MemoryStore{}
	first := e.engineOn(c, store, nil)
	if _, err := first.Approve(ids[1], "alice", 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	second := e.engineOn(c, store, nil)
	if got := second.Approvals(); len(got) != 1 || got[0].InstanceID != ids[1] || got[0].By != "alice" {
		t.Fatalf("the second engine's approvals: %+v", got)
	}
	e.run(second, 5, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
	if got := param(e.calls("autoscaling", "SetInstanceHealth")[0], "InstanceId"); got != ids[1] {
		t.Errorf("replaced %s, want the approved %s", got, ids[1])
	}
	st, _ := store.Load(context.Background())
	if len(st.Approvals) != 0 || len(st.InFlight) != 1 || st.InFlight[0].InstanceID != ids[1] {
		t.Errorf("stored after the action: approvals %+v in flight %+v", st.Approvals, st.InFlight)
	}
	// The first engine, on the same store, sees the replacement in flight
	// and does not start another (budget 1).
	e.run(first, 3, func(i int, p remediation.PlanResult) {
		if len(p.Actions) != 0 {
			t.Fatalf("cycle %d of the first engine acted: %+v", i, p.Actions)
		}
	}, nil)
}

// TestFailedReplaceKeepsTheApproval: a replacement whose call fails leaves
// nothing in flight, gives the approval back and counts one failure.
func TestFailedReplaceKeepsTheApproval(t *testing.T) {
	e := newEnv(t, 10)
	ids := e.drift(1)
	c := replaceConfig()
	c.Groups[0].Mode = "approve"
	store := &remediation.MemoryStore{}
	fail := &failingReplace{err: errors.New("ValidationError: simulated")}
	eng := e.engineOn(c, store, func(x remediation.Executor) remediation.Executor { fail.Executor = x; return fail })
	if _, err := eng.Approve(ids[0], "bob", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.run(eng, 5, nil, func() bool { return fail.calls == 1 })
	st, _ := store.Load(context.Background())
	if len(st.InFlight) != 0 || len(st.Approvals) != 1 || st.Groups["web-asg"].ConsecutiveFailures != 1 || len(st.RecentActions) != 0 {
		t.Errorf("stored after a failed call: %+v", st)
	}
}

// TestStandbyIsNotAFailure: a call refused because this replica lost the
// lease (remediation.ErrStandby) is neither a failure nor announced.
func TestStandbyIsNotAFailure(t *testing.T) {
	e := newEnv(t, 10)
	e.drift(1)
	store := &remediation.MemoryStore{}
	fail := &failingReplace{err: fmt.Errorf("set_instance_health web-asg: %w: lease lost", remediation.ErrStandby)}
	eng := e.engineOn(replaceConfig(), store, func(x remediation.Executor) remediation.Executor { fail.Executor = x; return fail })
	e.run(eng, 5, nil, func() bool { return fail.calls == 1 })
	st, _ := store.Load(context.Background())
	if st.Groups["web-asg"].ConsecutiveFailures != 0 {
		t.Errorf("a refused call counted as a failure: %+v", st.Groups)
	}
	if n := len(e.events(remediation.EventFailed)); n != 0 {
		t.Errorf("%d failure events for a refused call", n)
	}
}

// refusingStore refuses fenced writes (the replica may not act) and
// counts the reads.
type refusingStore struct {
	remediation.MemoryStore
	mu      sync.Mutex
	refused int
	failLd  bool
}

func (s *refusingStore) Update(ctx context.Context, fenced bool, fn func(*remediation.State) error) (remediation.State, error) {
	if fenced {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		return remediation.State{}, fmt.Errorf("%w: not the leader", remediation.ErrStandby)
	}
	return s.MemoryStore.Update(ctx, fenced, fn)
}

func (s *refusingStore) Load(ctx context.Context) (remediation.State, error) {
	if s.failLd {
		return remediation.State{}, errors.New("ProvisionedThroughputExceededException")
	}
	return s.MemoryStore.Load(ctx)
}

// TestNoActionWithoutARecord: an action whose in-flight record cannot be
// stored first is not made; a state that cannot be read stops the cycle
// before anything is done.
func TestNoActionWithoutARecord(t *testing.T) {
	e := newEnv(t, 10)
	e.drift(2)
	store := &refusingStore{}
	eng := e.engineOn(replaceConfig(), store, nil)
	e.run(eng, 5, nil, nil)
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 0 {
		t.Errorf("%d replacements without a stored record", n)
	}
	if store.refused == 0 {
		t.Error("no record was attempted")
	}
	store.failLd = true
	before := len(e.sim.Calls())
	if _, err := eng.Cycle(context.Background(), e.scan()); err == nil || !strings.Contains(err.Error(), "reading the remediation state") {
		t.Errorf("cycle with an unreadable state: %v", err)
	}
	if calls := e.sim.Calls()[before:]; len(calls) != 0 {
		t.Errorf("a cycle with an unreadable state made %d calls, first %s", len(calls), calls[0].Operation)
	}
}

// TestOperatorDecisionsAreBounded: approvals and resets for made-up groups
// cannot grow the stored state without bound.
func TestOperatorDecisionsAreBounded(t *testing.T) {
	eng := remediation.NewEngine(remediation.Options{Config: config.Remediation{Approvals: config.RemediationApprovals{TTL: time.Hour}}, Executor: &remediation.DryRun{}})
	for i := range remediation.MaxApprovals {
		if _, err := eng.Approve(fmt.Sprintf("i-%017x", i), "x", time.Hour); err != nil {
			t.Fatalf("approval %d: %v", i, err)
		}
	}
	if _, err := eng.Approve("i-0fffffffffffffff0", "x", time.Hour); err == nil {
		t.Error("approval beyond MaxApprovals accepted")
	}
	// Re-approving an instance already approved replaces its approval.
	if _, err := eng.Approve(fmt.Sprintf("i-%017x", 7), "y", time.Hour); err != nil {
		t.Errorf("re-approval at the cap: %v", err)
	}
	if err := eng.ResetBreaker(context.Background(), strings.Repeat("g", remediation.MaxScopeBytes+1)); err == nil {
		t.Error("a scope longer than any group name accepted")
	}
	for i := range remediation.MaxGroupScopes {
		if err := eng.ResetBreaker(context.Background(), fmt.Sprintf("g-%d", i)); err != nil {
			t.Fatalf("reset %d: %v", i, err)
		}
	}
	if err := eng.ResetBreaker(context.Background(), "one-too-many"); err == nil {
		t.Error("reset beyond MaxGroupScopes accepted")
	}
}
