package ha

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	tDuration = 30 * time.Second
	tRenew    = 10 * time.Second
	tMargin   = 5 * time.Second
)

// pair sets up two replicas sharing a table on tg, with clocks reading w
// with the given skews.
type pair struct {
	w      *world
	ra, rb replica
	ca, cb *skewedClock
	a, b   *Lease
	table  string
}

func newPair(t *testing.T, tg target, skewA, skewB time.Duration, verify bool) *pair {
	t.Helper()
	url, cfg := tg.account(t)
	p := &pair{w: newWorld(), ra: newReplica(url, cfg), rb: newReplica(url, cfg)}
	p.table = newTable(t, p.ra.client)
	p.ca, p.cb = &skewedClock{w: p.w, skew: skewA}, &skewedClock{w: p.w, skew: skewB}
	var err error
	mk := func(r replica, holder string, c Clock) *Lease {
		l, e := NewLease(r.client, Config{Table: p.table, Holder: holder, Duration: tDuration, RenewEvery: tRenew, SkewMargin: tMargin, VerifyFence: verify, Clock: c})
		if e != nil {
			err = e
		}
		return l
	}
	p.a, p.b = mk(p.ra, "replica-a", p.ca), mk(p.rb, "replica-b", p.cb)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func forTargets(t *testing.T, fn func(t *testing.T, tg target)) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			fn(t, tg)
		})
	}
}

func mustAcquire(t *testing.T, l *Lease, want bool) {
	t.Helper()
	got, err := l.Acquire(context.Background())
	if err != nil || got != want {
		t.Fatalf("%s: Acquire = %v, %v; want %v", l, got, err, want)
	}
}

func TestTwoReplicasExactlyOneLeader(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		p := newPair(t, tg, 0, 0, true)
		ctx := context.Background()
		if err := p.a.Guard(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("guard before acquiring: %v", err)
		}
		mustAcquire(t, p.a, true)
		mustAcquire(t, p.b, false)
		if err := p.a.Guard(ctx); err != nil {
			t.Fatalf("leader's guard: %v", err)
		}
		if err := p.b.Guard(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("follower's guard: %v", err)
		}
		if tok, err := p.a.Fence(ctx); tok != 1 || err != nil {
			t.Fatalf("first fencing token = %d, %v; want 1", tok, err)
		}
		cur, err := p.b.Current(ctx)
		if err != nil || cur.Holder != "replica-a" || cur.Token != 1 ||
			!cur.Expiry.Equal(p.w.Now().Add(tDuration)) || !cur.Acquired.Equal(p.w.Now()) {
			t.Fatalf("stored lease %+v, %v", cur, err)
		}
		// Renewing on schedule keeps the leader and its token; the
		// follower never gets in.
		for i := 0; i < 10; i++ {
			p.w.advance(tRenew)
			if leader, err := p.a.Tick(ctx); !leader || err != nil {
				t.Fatalf("cycle %d: leader tick = %v, %v", i, leader, err)
			}
			if leader, err := p.b.Tick(ctx); leader || err != nil {
				t.Fatalf("cycle %d: follower tick = %v, %v", i, leader, err)
			}
		}
		if tok, err := p.a.Fence(ctx); tok != 1 || err != nil {
			t.Fatalf("token after renewals = %d, %v", tok, err)
		}
	})
}

// TestPartitionedLeaderStopsBeforeTakeover: the leader loses its network;
// it stops acting (Guard fails) strictly before the other replica can
// take the lease, for clock skews below 2×margin; the new leader's token is
// larger and the old leader cannot come back.
func TestPartitionedLeaderStopsBeforeTakeover(t *testing.T) {
	skews := []struct{ a, b time.Duration }{
		{0, 0},
		{0, tMargin}, // contender's clock ahead
		{-tMargin + time.Second, tMargin - time.Second}, // both wrong, 2×margin-2s apart
		{tMargin, 0},  // leader's clock ahead
		{0, -tMargin}, // contender's clock behind
	}
	for _, sk := range skews {
		t.Run(fmt.Sprintf("skew a%+v b%+v", sk.a, sk.b), func(t *testing.T) {
			forTargets(t, func(t *testing.T, tg target) {
				p := newPair(t, tg, sk.a, sk.b, false)
				ctx := context.Background()
				t0 := p.w.Now()
				mustAcquire(t, p.a, true)
				p.ra.net.down.Store(true)
				// A renewal fails; the leader still acts for now.
				p.w.advance(tRenew)
				if leader, err := p.a.Tick(ctx); !leader || !errors.Is(err, errPartition) {
					t.Fatalf("partitioned renewal: leader %v, err %v", leader, err)
				}
				stopAt := t0.Add(tDuration - tMargin)                                     // true time A stops
				takeAt := t0.Add(sk.a - sk.b + tDuration + tMargin).Add(time.Millisecond) // true time B may take over
				if !stopAt.Before(takeAt) {
					t.Fatalf("test setup: stop %v not before takeover %v", stopAt, takeAt)
				}
				p.w.set(stopAt.Add(-time.Millisecond))
				if err := p.a.Guard(ctx); err != nil {
					t.Fatalf("1ms before its deadline the leader stopped: %v", err)
				}
				p.w.set(stopAt)
				if err := p.a.Guard(ctx); !errors.Is(err, ErrExpired) {
					t.Fatalf("at its deadline the leader still acts: %v", err)
				}
				// Walk true time from the leader's stop to past the takeover:
				// whenever B may acquire, A has stopped.
				var took time.Time
				for now := stopAt; took.IsZero() && now.Before(takeAt.Add(2*time.Second)); now = now.Add(250 * time.Millisecond) {
					p.w.set(now)
					aActs := p.a.Guard(ctx) == nil
					ok, err := p.b.Acquire(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						took = now
						if aActs {
							t.Fatalf("B acquired at %v while A still acts", now.Sub(t0))
						}
					}
				}
				if took.IsZero() || took.Before(takeAt.Add(-time.Millisecond)) {
					t.Fatalf("B took over at %v, expected no earlier than %v", took.Sub(t0), takeAt.Sub(t0))
				}
				if took.Sub(stopAt) < 2*tMargin-(sk.b-sk.a)-time.Millisecond {
					t.Fatalf("gap between stop and takeover %v, want ≥ 2×margin - skew", took.Sub(stopAt))
				}
				if leader := p.b.Leader(); !leader {
					t.Fatal("B is not leader after acquiring")
				}
				if tb := p.b.Token(); tb != 2 {
					t.Fatalf("new leader's token %d, want 2", tb)
				}
				// The partition heals: the old leader learns it lost.
				p.ra.net.down.Store(false)
				if err := p.a.Renew(ctx); !errors.Is(err, ErrLost) {
					t.Fatalf("stale leader renewal: %v", err)
				}
				if err := p.a.Guard(ctx); !errors.Is(err, ErrNotLeader) {
					t.Fatalf("stale leader guard: %v", err)
				}
				if ok, err := p.a.Acquire(ctx); ok || err != nil {
					t.Fatalf("old leader re-acquired a live lease: %v %v", ok, err)
				}
			})
		})
	}
}

// TestTakeoverBoundaryIsExact: a contender is refused 1ms before stored
// expiry + margin on its clock, and accepted 1ms after.
func TestTakeoverBoundaryIsExact(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		p := newPair(t, tg, 0, 0, false)
		t0 := p.w.Now()
		mustAcquire(t, p.a, true)
		p.w.set(t0.Add(tDuration + tMargin))
		mustAcquire(t, p.b, false)
		p.w.set(t0.Add(tDuration + tMargin + time.Millisecond))
		mustAcquire(t, p.b, true)
	})
}

// TestPausedLeaderIsFenced: a leader whose clock stood still (a paused
// process or VM) still believes its lease valid after a takeover; with
// VerifyFence its Guard fails, and a store write under its stale token is
// refused even without it.
func TestPausedLeaderIsFenced(t *testing.T) {
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			forTargets(t, func(t *testing.T, tg target) {
				p := newPair(t, tg, 0, 0, verify)
				ctx := context.Background()
				mustAcquire(t, p.a, true)
				storeA := NewDynamoStore(p.ra.client, p.table, p.ca.Now)
				storeB := NewDynamoStore(p.rb.client, p.table, p.cb.Now)
				tokA, err := p.a.Fence(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := storeA.Put(ctx, "breaker/web", []byte(`{"open":false}`), Write{Fence: tokA}); err != nil {
					t.Fatal(err)
				}
				p.ca.freeze()
				p.w.advance(tDuration + tMargin + time.Second)
				mustAcquire(t, p.b, true)
				tokB, err := p.b.Fence(ctx)
				if err != nil || tokB <= tokA {
					t.Fatalf("new token %d (old %d), %v", tokB, tokA, err)
				}
				if _, err := storeB.Put(ctx, "breaker/web", []byte(`{"open":true}`), Write{Fence: tokB}); err != nil {
					t.Fatal(err)
				}
				_, err = p.a.Fence(ctx)
				if verify && !errors.Is(err, ErrLost) {
					t.Fatalf("paused leader's verified fence: %v", err)
				}
				if !verify && err != nil {
					t.Fatalf("without verification the frozen clock keeps the local check passing, got %v", err)
				}
				if verify {
					if p.a.Token() != 0 || p.a.Leader() {
						t.Fatal("a lost lease is still held locally")
					}
				}
				_, err = storeA.Put(ctx, "breaker/web", []byte(`{"open":false}`), Write{Fence: tokA})
				if !errors.Is(err, ErrFenced) {
					t.Fatalf("stale leader's store write: %v", err)
				}
				if it, err := storeB.Get(ctx, "breaker/web"); err != nil || string(it.Value) != `{"open":true}` || it.Fence != tokB {
					t.Fatalf("stored %+v, %v", it, err)
				}
			})
		})
	}
}

func TestConcurrentAcquireOneWinner(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		needAtomic(t, tg)
		url, cfg := tg.account(t)
		r := newReplica(url, cfg)
		table := newTable(t, r.client)
		const n = 12
		w := newWorld()
		var wg sync.WaitGroup
		wins := make([]bool, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			l, err := NewLease(newReplica(url, cfg).client, Config{Table: table, Holder: fmt.Sprintf("r%d", i), Clock: w})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				wins[i], errs[i] = l.Acquire(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		var winners []int
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("replica %d: %v", i, errs[i])
			}
			if wins[i] {
				winners = append(winners, i)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("winners %v, want exactly one", winners)
		}
		l, _ := NewLease(r.client, Config{Table: table, Holder: "observer"})
		cur, err := l.Current(context.Background())
		if err != nil || cur.Holder != fmt.Sprintf("r%d", winners[0]) || cur.Token != 1 {
			t.Fatalf("stored %+v, %v; winner r%d", cur, err, winners[0])
		}
	})
}

func TestReleaseHandsOverAtOnce(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		p := newPair(t, tg, 0, 0, true)
		ctx := context.Background()
		mustAcquire(t, p.a, true)
		if err := p.a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.a.Guard(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("guard after release: %v", err)
		}
		mustAcquire(t, p.b, true)
		if p.b.Token() != 2 {
			t.Fatalf("token after release and takeover %d, want 2", p.b.Token())
		}
		// Releasing again, or releasing a lease now held by another, is a
		// no-op and leaves B's lease alone.
		if err := p.a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.b.Guard(ctx); err != nil {
			t.Fatalf("B after A's second release: %v", err)
		}
	})
}

func TestTickReportsChanges(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		p := newPair(t, tg, 0, 0, false)
		var mu sync.Mutex
		var events []string
		p.a.cfg.OnChange = func(leader bool, token int64) {
			mu.Lock()
			events = append(events, fmt.Sprintf("%v/%d", leader, token))
			mu.Unlock()
		}
		ctx := context.Background()
		p.a.Tick(ctx) // acquires
		p.w.advance(tRenew)
		p.a.Tick(ctx) // renews: no change
		p.ra.net.down.Store(true)
		p.w.advance(tDuration) // past its deadline, renewal fails
		p.a.Tick(ctx)          // stops
		p.ra.net.down.Store(false)
		p.a.Tick(ctx) // nobody took it: renews, leads again
		mu.Lock()
		defer mu.Unlock()
		if got := strings.Join(events, " "); got != "true/1 false/0 true/1" {
			t.Fatalf("changes %q", got)
		}
	})
}

// TestRunReleasesOnShutdown runs two replicas on the real clock with short
// durations: one leads, and on its shutdown the other takes over quickly.
func TestRunReleasesOnShutdown(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		url, cfg := tg.account(t)
		r := newReplica(url, cfg)
		table := newTable(t, r.client)
		changes := make(chan string, 16)
		mk := func(name string) *Lease {
			l, err := NewLease(newReplica(url, cfg).client, Config{
				Table: table, Holder: name, Duration: 3 * time.Second, RenewEvery: 200 * time.Millisecond, SkewMargin: time.Second,
				OnChange: func(leader bool, tok int64) { changes <- fmt.Sprintf("%s %v %d", name, leader, tok) },
			})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		a, b := mk("a"), mk("b")
		ctxA, stopA := context.WithCancel(context.Background())
		ctxB, stopB := context.WithCancel(context.Background())
		doneA, doneB := make(chan struct{}), make(chan struct{})
		go func() { a.Run(ctxA, func(err error) { t.Errorf("a: %v", err) }); close(doneA) }()
		expect := func(want string) {
			t.Helper()
			select {
			case got := <-changes:
				if got != want {
					t.Fatalf("change %q, want %q", got, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no change, want %q", want)
			}
		}
		expect("a true 1")
		go func() { b.Run(ctxB, func(err error) { t.Errorf("b: %v", err) }); close(doneB) }()
		time.Sleep(500 * time.Millisecond) // b polls and is refused
		stopA()
		<-doneA
		expect("a false 0")
		start := time.Now()
		expect("b true 2")
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("takeover after release took %v (lease 3s): the release did not hand over", d)
		}
		stopB()
		<-doneB
		expect("b false 0")
	})
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Table: "t"}, ""},
		{Config{}, "table name required"},
		{Config{Table: "t", Duration: 20 * time.Second}, "more than twice renew_every"},
		{Config{Table: "t", SkewMargin: 15 * time.Second}, "less than half the lease duration"},
		{Config{Table: "t", RenewEvery: -time.Second}, "must be positive"},
		{Config{Table: "t", Duration: 30*time.Second + time.Microsecond}, "whole milliseconds"},
		{Config{Table: "t", Duration: 3 * time.Second, RenewEvery: time.Second, SkewMargin: time.Second}, ""},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	c := Config{Table: "t"}
	if err := c.Validate(); err != nil || c.Duration != DefaultDuration || c.RenewEvery != DefaultRenewEvery ||
		c.SkewMargin != DefaultSkewMargin || c.Name != "driftd" || c.Holder == "" || c.Holder == DefaultHolder() {
		t.Fatalf("defaults %+v (%v)", c, err)
	}
}
