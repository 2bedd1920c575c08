// Package fenced wraps driftd's mutating interfaces so that every call
// first checks an ha.Guarder (the leader lease): a replica that is not the
// leader, or whose lease was not renewed in time, makes no AWS call and
// sends no notification. The daemon decides where to use them.
package fenced

import (
	"context"
	"fmt"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/remediation"
)

// Executor guards a remediation.Executor (replacements and tags).
type Executor struct {
	Next  remediation.Executor
	Guard ha.Guarder
}

var _ remediation.Executor = Executor{}

// Replace calls Next.Replace when the guard allows it.
func (e Executor) Replace(ctx context.Context, a remediation.Action) (string, error) {
	if _, err := e.Guard.Fence(ctx); err != nil {
		return "", fmt.Errorf("%s %s %s: %w", a.Kind, a.Group, a.InstanceID, err)
	}
	return e.Next.Replace(ctx, a)
}

// Tag calls Next.Tag when the guard allows it.
func (e Executor) Tag(ctx context.Context, tc remediation.TagChange) error {
	if _, err := e.Guard.Fence(ctx); err != nil {
		return fmt.Errorf("tag %s: %w", tc.InstanceID, err)
	}
	return e.Next.Tag(ctx, tc)
}

// TagGroup calls Next.TagGroup when the guard allows it.
func (e Executor) TagGroup(ctx context.Context, group string, set map[string]string, del []string) error {
	if _, err := e.Guard.Fence(ctx); err != nil {
		return fmt.Errorf("tag group %s: %w", group, err)
	}
	return e.Next.TagGroup(ctx, group, set, del)
}

// Sink guards an alerting.Sink: a replica that may not act does not notify
// and asks for no retry (the leader notifies).
type Sink struct {
	Next  alerting.Sink
	Guard ha.Guarder
}

var _ alerting.Sink = Sink{}

// Name is Next's name.
func (s Sink) Name() string { return s.Next.Name() }

// Type is Next's type.
func (s Sink) Type() string { return s.Next.Type() }

// Notify calls Next.Notify when the guard allows it.
func (s Sink) Notify(ctx context.Context, b *alerting.Batch) (bool, error) {
	if _, err := s.Guard.Fence(ctx); err != nil {
		return false, fmt.Errorf("notify %s: %w", s.Next.Name(), err)
	}
	return s.Next.Notify(ctx, b)
}

// WantsActive forwards Next's (Alertmanager wants every scan's active set).
func (s Sink) WantsActive() bool {
	a, ok := s.Next.(interface{ WantsActive() bool })
	return ok && a.WantsActive()
}

// Forget forwards to Next when it remembers per-batch progress.
func (s Sink) Forget(batchID string) {
	if f, ok := s.Next.(interface{ Forget(string) }); ok {
		f.Forget(batchID)
	}
}
