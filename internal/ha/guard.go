package ha

import "context"

// Guarder is what a mutating call checks just before it is made: *Lease,
// or Single for a daemon running alone.
type Guarder interface {
	// Fence returns the fencing token to act under, or an error (matching
	// ErrNotLeader when this replica must not act).
	Fence(ctx context.Context) (int64, error)
}

// Single is the Guarder of a replica running alone: it may always act,
// under token 0 (unfenced Store writes).
type Single struct{}

// Fence returns 0, nil.
func (Single) Fence(context.Context) (int64, error) { return 0, nil }

// Guarded calls fn with the fencing token when g allows acting now, and
// returns g's error without calling fn otherwise.
func Guarded[T any](ctx context.Context, g Guarder, fn func(ctx context.Context, token int64) (T, error)) (T, error) {
	tok, err := g.Fence(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return fn(ctx, tok)
}
