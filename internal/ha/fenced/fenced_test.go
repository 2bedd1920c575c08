package fenced

import (
	"context"
	"errors"
	"testing"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/remediation"
)

type guard struct{ err error }

func (g *guard) Fence(context.Context) (int64, error) {
	if g.err != nil {
		return 0, g.err
	}
	return 7, nil
}

type recExec struct{ calls []string }

func (r *recExec) Replace(_ context.Context, a remediation.Action) (string, error) {
	r.calls = append(r.calls, "replace "+a.InstanceID)
	return "", nil
}

func (r *recExec) Tag(_ context.Context, tc remediation.TagChange) error {
	r.calls = append(r.calls, "tag "+tc.InstanceID)
	return nil
}

func (r *recExec) TagGroup(_ context.Context, g string, _ map[string]string, _ []string) error {
	r.calls = append(r.calls, "taggroup "+g)
	return nil
}

type recSink struct{ n int }

func (s *recSink) Name() string { return "hook" }
func (s *recSink) Type() string { return "webhook" }
func (s *recSink) Notify(context.Context, *alerting.Batch) (bool, error) {
	s.n++
	return true, nil
}
func (s *recSink) WantsActive() bool { return true }

func TestGuardedCallsOnlyWhileLeader(t *testing.T) {
	ctx := context.Background()
	g := &guard{}
	next := &recExec{}
	sink := &recSink{}
	e := Executor{Next: next, Guard: g}
	s := Sink{Next: sink, Guard: g}
	do := func() []error {
		_, e1 := e.Replace(ctx, remediation.Action{InstanceID: "i-1", Group: "web"})
		e2 := e.Tag(ctx, remediation.TagChange{InstanceID: "i-1"})
		e3 := e.TagGroup(ctx, "web", nil, nil)
		retry, e4 := s.Notify(ctx, &alerting.Batch{})
		if e4 != nil && retry {
			t.Error("a refused notification asks for a retry")
		}
		return []error{e1, e2, e3, e4}
	}
	for _, err := range do() {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(next.calls) != 3 || sink.n != 1 {
		t.Fatalf("leader made calls %v and %d notifications", next.calls, sink.n)
	}
	g.err = ha.ErrExpired
	for i, err := range do() {
		if !errors.Is(err, ha.ErrNotLeader) {
			t.Fatalf("call %d as non-leader: %v", i, err)
		}
	}
	if len(next.calls) != 3 || sink.n != 1 {
		t.Fatalf("non-leader made calls %v and %d notifications", next.calls, sink.n)
	}
	if !s.WantsActive() || (Sink{Next: &onlySink{}}).WantsActive() {
		t.Fatal("WantsActive not forwarded")
	}
}

type onlySink struct{ recSink }

func (onlySink) WantsActive() bool { return false }
