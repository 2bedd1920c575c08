package remediation

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// EventType names what happened.
type EventType string

const (
	EventStarted           EventType = "remediation.started"
	EventSucceeded         EventType = "remediation.succeeded"
	EventFailed            EventType = "remediation.failed"
	EventBlocked           EventType = "remediation.blocked"
	EventBreakerOpened     EventType = "breaker.opened"
	EventBreakerClosed     EventType = "breaker.closed"
	EventKillSwitchEngaged EventType = "killswitch.engaged"
	EventKillSwitchRelease EventType = "killswitch.released"
)

// Event is one remediation event. Scope is a group name or "fleet" for
// breaker events.
type Event struct {
	Type       EventType  `json:"type"`
	Time       time.Time  `json:"time"`
	Group      string     `json:"group,omitempty"`
	InstanceID string     `json:"instance_id,omitempty"`
	Action     ActionKind `json:"action,omitempty"`
	Scope      string     `json:"scope,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	DryRun     bool       `json:"dry_run,omitempty"`
}

// EventSink receives remediation events (notifications connect here).
// Emit must not block for long; the engine calls it synchronously.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// EventSinkFunc adapts a function.
type EventSinkFunc func(ctx context.Context, e Event)

// Emit calls f.
func (f EventSinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// MemorySink records events (tests, the API's recent-events list).
type MemorySink struct {
	mu     sync.Mutex
	events []Event
}

// Emit records e.
func (m *MemorySink) Emit(_ context.Context, e Event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
}

// Events returns a copy of the recorded events.
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

func logEvent(log *zap.Logger, e Event) {
	fields := []zap.Field{zap.String("event", string(e.Type))}
	add := func(k, v string) {
		if v != "" {
			fields = append(fields, zap.String(k, v))
		}
	}
	add("asg", e.Group)
	add("instance", e.InstanceID)
	add("action", string(e.Action))
	add("scope", e.Scope)
	add("reason", e.Reason)
	add("detail", e.Detail)
	if e.DryRun {
		fields = append(fields, zap.Bool("dry_run", true))
	}
	switch e.Type {
	case EventFailed, EventBreakerOpened, EventKillSwitchEngaged:
		log.Warn("remediation event", fields...)
	default:
		log.Info("remediation event", fields...)
	}
}
