package remediation

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// API input limits: a request over one is refused (400/409) before it
// touches the engine's state, so the state, the logs and the answers of
// GET /api/v1/remediation stay bounded.
// MaxApprovals (store.go) bounds the unexpired approvals outstanding at once.
const MaxFieldBytes = 256 // by, ttl, scope, instance_id

// checkField refuses a field longer than MaxFieldBytes or carrying
// control characters.
func checkField(name, v string) error {
	if len(v) > MaxFieldBytes {
		return fmt.Errorf("%s: longer than %d bytes", name, MaxFieldBytes)
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("%s: contains control characters", name)
	}
	return nil
}

// knownBreaker reports whether scope names a breaker the engine knows:
// "fleet", or a group it has planned for or keeps history of. It also
// returns the known group names (sorted, at most 20) for the message.
func (e *Engine) knownBreaker(scope string) (bool, []string) {
	if scope == FleetScope {
		return true, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.breakers[scope]; ok {
		return true, nil
	}
	if _, ok := e.state.Groups[scope]; ok {
		return true, nil
	}
	var names []string
	for k := range e.breakers {
		if k != FleetScope {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) > 20 {
		names = append(names[:20], "…")
	}
	return false, names
}

// approvalRoom reports whether one more approval for id fits under
// MaxApprovals (re-approving an instance replaces its approval).
func (e *Engine) approvalRoom(id string) bool {
	n := 0
	for _, a := range e.Approvals() {
		if a.InstanceID != id {
			n++
		}
	}
	return n < MaxApprovals
}

// actorKey is the context key of the authenticated caller of the API.
type actorKey struct{}

// WithActor returns ctx naming the authenticated caller of an API request
// (the daemon sets it from its authentication gate).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// approver is who an approval is recorded as approved by: the
// authenticated caller when there is one (a client cannot claim another
// name; the name it gives is kept beside it), else the name the request
// gives.
func approver(ctx context.Context, by string) string {
	actor, _ := ctx.Value(actorKey{}).(string)
	switch {
	case actor == "":
		return by
	case by == "" || by == actor:
		return actor
	}
	s := actor + " (for " + by + ")"
	if len(s) > MaxFieldBytes {
		s = strings.ToValidUTF8(s[:MaxFieldBytes], "")
	}
	return s
}
