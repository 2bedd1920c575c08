package collectors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTypeGate: an unavailable type costs one call however many instances
// ask at once; a type that exists is asked by everyone; an answer that
// settles nothing (throttled) lets the next caller ask.
func TestTypeGate(t *testing.T) {
	unavailable := &TypeUnavailableError{TypeName: "Custom:Nope", Err: errors.New("InvalidTypeNameException")}
	throttled := errors.New("ThrottlingException")
	for _, tc := range []struct {
		name      string
		answers   []error // per call, in order; the last repeats
		wantCalls int64
		wantErrs  int
		unavail   bool
	}{
		{"unavailable", []error{unavailable}, 1, 40, true},
		{"available", []error{nil}, 40, 0, false},
		{"throttled then unavailable", []error{throttled, unavailable}, 2, 40, true},
		{"throttled then available", []error{throttled, nil}, 40, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g TypeGate
			var calls atomic.Int64
			call := func() (*TypeData, error) {
				n := int(calls.Add(1)) - 1
				time.Sleep(time.Millisecond) // let the others pile up behind the first caller
				err := tc.answers[min(n, len(tc.answers)-1)]
				if err != nil {
					return nil, err
				}
				return &TypeData{TypeName: "T"}, nil
			}
			var wg sync.WaitGroup
			var errs atomic.Int64
			for range 40 {
				wg.Go(func() {
					if _, err := g.Do(context.Background(), "Custom:Nope", call); err != nil {
						errs.Add(1)
					}
				})
			}
			wg.Wait()
			if calls.Load() != tc.wantCalls || int(errs.Load()) != tc.wantErrs {
				t.Errorf("%d calls, %d errors; want %d, %d", calls.Load(), errs.Load(), tc.wantCalls, tc.wantErrs)
			}
			settled, ok := g.Settled()["Custom:Nope"]
			if !ok || settled != tc.unavail {
				t.Errorf("settled %v %v", settled, ok)
			}
			if u := g.Unavailable(); (len(u) == 1) != tc.unavail {
				t.Errorf("unavailable %v", u)
			}
		})
	}
	// A waiter gives up with its context.
	var g TypeGate
	release := make(chan struct{})
	go g.Do(context.Background(), "T", func() (*TypeData, error) { <-release; return &TypeData{}, nil })
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := g.Do(ctx, "T", func() (*TypeData, error) { return &TypeData{}, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter: %v", err)
	}
	close(release)
}

func TestTypeUnavailableNote(t *testing.T) {
	c := (&TypeUnavailableError{TypeName: "Custom:FileDigest"}).Note()
	a := (&TypeUnavailableError{TypeName: "AWS:Aplication"}).Note()
	if c != "inventory type Custom:FileDigest is not defined in this account: no instance has ever reported it (ListInventoryEntries: InvalidTypeNameException); not collected this scan" {
		t.Errorf("custom: %s", c)
	}
	if a != "inventory type AWS:Aplication was rejected by SSM (ListInventoryEntries: InvalidTypeNameException): a configuration problem, check inventory.types; not collected this scan" {
		t.Errorf("aws: %s", a)
	}
}
