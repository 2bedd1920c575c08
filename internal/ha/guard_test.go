package ha

import (
	"context"
	"errors"
	"testing"
)

func TestGuardedPassesTheTokenOrRefuses(t *testing.T) {
	ctx := context.Background()
	calls := 0
	fn := func(_ context.Context, tok int64) (int64, error) { calls++; return tok, nil }
	if tok, err := Guarded(ctx, Single{}, fn); tok != 0 || err != nil || calls != 1 {
		t.Fatalf("Single: %d %v calls %d", tok, err, calls)
	}
	l, err := NewLease(nil, Config{Table: "t"}) // holds nothing: no call reaches DynamoDB
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Guarded(ctx, l, fn); !errors.Is(err, ErrNotLeader) || calls != 1 {
		t.Fatalf("lease not held: %v, calls %d", err, calls)
	}
}
