package remediation

import (
	"context"
	"errors"
	"sync"
	"time"
)

// StateStore keeps the engine's decisions — in-flight replacements, recent
// actions (the hourly cap), failure counts, breaker resets and approvals —
// where a restarted engine, or the engine of another replica that takes
// over, finds them. The engine reads the stored State at the start of every
// cycle and writes every change through Update before it acts on it: an
// in-flight record is stored before its replacement is started, so a new
// leader never replaces the same instance again and budgets hold across a
// failover.
//
// internal/daemon implements it over internal/ha's Store (a DynamoDB table
// shared by the replicas, or a file for one); MemoryStore keeps it in
// memory.
type StateStore interface {
	// Load returns the stored state (the zero State when there is none).
	Load(ctx context.Context) (State, error)
	// Update reads the stored state, applies fn and writes the result
	// atomically, reading and applying fn again when another writer changed
	// it in between. fenced marks the acting replica's own decisions: the
	// write is refused when this replica may not act (it is not, or no
	// longer, the leader). Operator decisions (approvals, resets) are not
	// fenced: any replica accepts them.
	Update(ctx context.Context, fenced bool, fn func(*State) error) (State, error)
}

// ErrStandby marks an action refused because this replica may not act (it
// does not hold the leader lease). The engine neither counts it as a
// failure nor announces it.
var ErrStandby = errors.New("this replica is not the leader")

// Limits on operator decisions kept in the state (a flood of approvals or
// resets for made-up groups cannot grow it without bound).
const (
	MaxApprovals   = 1000
	MaxGroupScopes = 1000
	// MaxScopeBytes is the longest group name Auto Scaling accepts.
	MaxScopeBytes = 255
)

// MemoryStore is a StateStore in process memory: nothing survives a
// restart. The zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	st State
}

// Load returns a copy of the state.
func (m *MemoryStore) Load(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.clone(), nil
}

// Update applies fn to a copy and keeps it when fn succeeds.
func (m *MemoryStore) Update(_ context.Context, _ bool, fn func(*State) error) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st.clone()
	if err := fn(&st); err != nil {
		return State{}, err
	}
	m.st = st.clone()
	return st, nil
}

// clone is a deep copy.
func (s State) clone() State {
	out := State{FleetOverride: s.FleetOverride, Groups: make(map[string]GroupHistory, len(s.Groups))}
	out.InFlight = append(out.InFlight, s.InFlight...)
	out.RecentActions = append(out.RecentActions, s.RecentActions...)
	out.Approvals = append(out.Approvals, s.Approvals...)
	for k, v := range s.Groups {
		out.Groups[k] = v
	}
	return out
}

// prune forgets what no longer matters at now: actions older than an hour
// (the hourly cap's window), expired approvals and groups with nothing to
// remember.
func (s *State) prune(now time.Time) {
	if s.Groups == nil {
		s.Groups = map[string]GroupHistory{}
	}
	recent := s.RecentActions[:0:0]
	for _, t := range s.RecentActions {
		if now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	s.RecentActions = recent
	approvals := s.Approvals[:0:0]
	for _, a := range s.Approvals {
		if now.Before(a.Expires) {
			approvals = append(approvals, a)
		}
	}
	s.Approvals = approvals
	for k, h := range s.Groups {
		if h == (GroupHistory{}) {
			delete(s.Groups, k)
		}
	}
}

// inFlightKey identifies one in-flight record.
func inFlightKey(f InFlight) string {
	return f.Group + "/" + f.InstanceID + "/" + string(f.Kind) + "/" + f.Started.UTC().Format(time.RFC3339Nano)
}

// NewMemoryStoreFrom returns a MemoryStore holding a copy of st: a
// snapshot of stored decisions that a dry run (driftd plan) may change
// without touching the original.
func NewMemoryStoreFrom(st State) *MemoryStore {
	return &MemoryStore{st: st.clone()}
}
