package remediation

import (
	"context"
	"sync"

	"go.uber.org/zap"
)

// DryRun decorates an Executor: it logs and records what would be done and
// calls nothing that mutates. Replace returns ErrDryRun so the engine does
// not count the action as in flight.
type DryRun struct {
	Log *zap.Logger

	mu      sync.Mutex
	actions []Action
	tags    []TagChange
}

var _ Executor = (*DryRun)(nil)

// Replace records the action.
func (d *DryRun) Replace(_ context.Context, a Action) (string, error) {
	d.mu.Lock()
	d.actions = append(d.actions, a)
	d.mu.Unlock()
	d.log().Info("dry run: would replace", zap.String("action", string(a.Kind)), zap.String("asg", a.Group),
		zap.String("instance", a.InstanceID), zap.Strings("covers", a.Covers), zap.String("severity", a.Severity.String()), zap.String("reason", a.Reason))
	return "", ErrDryRun
}

// Tag records the tag change.
func (d *DryRun) Tag(_ context.Context, tc TagChange) error {
	d.mu.Lock()
	d.tags = append(d.tags, tc)
	d.mu.Unlock()
	d.log().Info("dry run: would tag", zap.String("instance", tc.InstanceID), zap.Any("set", tc.Set), zap.Strings("delete", tc.Delete))
	return nil
}

// TagGroup does nothing (the dry run keeps no in-flight set).
func (d *DryRun) TagGroup(context.Context, string, map[string]string, []string) error { return nil }

// Actions returns the actions that would have been taken.
func (d *DryRun) Actions() []Action {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Action(nil), d.actions...)
}

// Tags returns the tag changes that would have been made.
func (d *DryRun) Tags() []TagChange {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]TagChange(nil), d.tags...)
}

func (d *DryRun) log() *zap.Logger {
	if d.Log == nil {
		return zap.NewNop()
	}
	return d.Log
}
