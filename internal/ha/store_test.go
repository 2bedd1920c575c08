package ha

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeTarget opens a fresh Store whose expiry clock is now.
type storeTarget struct {
	name string
	racy bool
	open func(t *testing.T, now func() time.Time) Store
}

func storeTargets() []storeTarget {
	out := []storeTarget{{name: "file", open: func(t *testing.T, now func() time.Time) Store {
		return OpenFileStore(filepath.Join(t.TempDir(), "ha.json"), FileStoreOptions{Now: now})
	}}}
	for _, tg := range targets() {
		out = append(out, storeTarget{name: "dynamodb-" + tg.name, racy: tg.racy, open: func(t *testing.T, now func() time.Time) Store {
			url, cfg := tg.account(t)
			r := newReplica(url, cfg)
			return NewDynamoStore(r.client, newTable(t, r.client), now)
		}})
	}
	return out
}

func forStores(t *testing.T, fn func(t *testing.T, st storeTarget, s Store, w *world)) {
	for _, st := range storeTargets() {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			fn(t, st, st.open(t, w.Now), w)
		})
	}
}

func put(t *testing.T, s Store, k, v string, w Write) Item {
	t.Helper()
	it, err := s.Put(context.Background(), k, []byte(v), w)
	if err != nil {
		t.Fatalf("Put %s %+v: %v", k, w, err)
	}
	return it
}

func TestStoreVersionsAndConditions(t *testing.T) {
	forStores(t, func(t *testing.T, _ storeTarget, s Store, w *world) {
		ctx := context.Background()
		if _, err := s.Get(ctx, "approval/i-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing key: %v", err)
		}
		it := put(t, s, "approval/i-1", `{"by":"alice"}`, Write{IfAbsent: true})
		if it.Version != 1 || string(it.Value) != `{"by":"alice"}` || !it.Updated.Equal(w.Now()) || !it.Expires.IsZero() {
			t.Fatalf("first write %+v", it)
		}
		if _, err := s.Put(ctx, "approval/i-1", []byte(`{"by":"bob"}`), Write{IfAbsent: true}); !errors.Is(err, ErrConflict) {
			t.Fatalf("second IfAbsent write: %v", err)
		}
		it = put(t, s, "approval/i-1", `{"by":"carol"}`, Write{IfVersion: 1})
		if it.Version != 2 {
			t.Fatalf("version after a conditional write %d", it.Version)
		}
		if _, err := s.Put(ctx, "approval/i-1", []byte(`{"by":"dave"}`), Write{IfVersion: 1}); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale IfVersion write: %v", err)
		}
		if _, err := s.Put(ctx, "other", []byte(`1`), Write{IfVersion: 1}); !errors.Is(err, ErrConflict) {
			t.Fatalf("IfVersion write of a missing key: %v", err)
		}
		it = put(t, s, "approval/i-1", `{"by":"erin"}`, Write{})
		got, err := s.Get(ctx, "approval/i-1")
		if err != nil || got.Version != 3 || string(got.Value) != `{"by":"erin"}` || !sameItem(got, it) {
			t.Fatalf("Get = %+v, %v; Put returned %+v", got, err, it)
		}
	})
}

func sameItem(a, b Item) bool {
	return a.Key == b.Key && string(a.Value) == string(b.Value) && a.Version == b.Version && a.Fence == b.Fence &&
		a.Updated.Equal(b.Updated) && a.Expires.Equal(b.Expires)
}

func TestStoreFencing(t *testing.T) {
	forStores(t, func(t *testing.T, _ storeTarget, s Store, w *world) {
		ctx := context.Background()
		put(t, s, "breaker/web", `{"open":false}`, Write{Fence: 3})
		if _, err := s.Put(ctx, "breaker/web", []byte(`{"open":true}`), Write{Fence: 2}); !errors.Is(err, ErrFenced) {
			t.Fatalf("write under an older token: %v", err)
		}
		put(t, s, "breaker/web", `{"open":true}`, Write{Fence: 3})
		it := put(t, s, "breaker/web", `{"open":true,"n":1}`, Write{}) // unfenced (an operator's API call) keeps the fence
		if it.Fence != 3 || it.Version != 3 {
			t.Fatalf("after an unfenced write %+v", it)
		}
		put(t, s, "breaker/web", `{"open":false}`, Write{Fence: 4})
		if _, err := s.Put(ctx, "breaker/web", []byte(`x`), Write{Fence: 3, IfVersion: 4}); !errors.Is(err, ErrFenced) {
			t.Fatalf("fenced and versioned write under an older token: %v", err)
		}
		// A deleted item keeps its fence: a stale leader cannot recreate it.
		del, err := s.Delete(ctx, "breaker/web", Write{Fence: 5})
		if err != nil || string(del.Value) != `{"open":false}` || del.Version != 4 {
			t.Fatalf("Delete = %+v, %v", del, err)
		}
		if _, err := s.Put(ctx, "breaker/web", []byte(`{"open":true}`), Write{Fence: 4}); !errors.Is(err, ErrFenced) {
			t.Fatalf("stale write after a delete: %v", err)
		}
		if _, err := s.Delete(ctx, "breaker/web", Write{Fence: 4}); !errors.Is(err, ErrFenced) {
			t.Fatalf("stale delete of a tombstone: %v", err)
		}
		it = put(t, s, "breaker/web", `{"open":true}`, Write{Fence: 5, IfAbsent: true})
		if it.Version != 6 || it.Fence != 5 {
			t.Fatalf("recreated over the tombstone %+v, want version 6 fence 5", it)
		}
	})
}

// TestStoreDeleteConsumesOnce: an approval is consumed by exactly one of
// the replicas racing for it.
func TestStoreDeleteConsumesOnce(t *testing.T) {
	forStores(t, func(t *testing.T, st storeTarget, s Store, w *world) {
		ctx := context.Background()
		put(t, s, "approval/i-9", `{"by":"alice"}`, Write{})
		if _, err := s.Delete(ctx, "approval/i-9", Write{IfVersion: 2}); !errors.Is(err, ErrConflict) {
			t.Fatalf("Delete with a wrong version: %v", err)
		}
		it, err := s.Delete(ctx, "approval/i-9", Write{IfVersion: 1})
		if err != nil || string(it.Value) != `{"by":"alice"}` {
			t.Fatalf("Delete = %+v, %v", it, err)
		}
		if _, err := s.Delete(ctx, "approval/i-9", Write{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
		if _, err := s.Get(ctx, "approval/i-9"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if st.racy {
			t.Skipf("SKIPPED the concurrent part on %s: it does not serialise concurrent conditional writes (docs/awssim.md, DynamoDB)", st.name)
		}
		for round := range 3 {
			k := fmt.Sprintf("approval/race-%d", round)
			put(t, s, k, `{"by":"bob"}`, Write{})
			const n = 10
			var wg sync.WaitGroup
			got := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, got[i] = s.Delete(ctx, k, Write{})
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range got {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, ErrNotFound):
					t.Fatalf("racer %d: %v", i, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d racers consumed the approval, want 1", round, wins)
			}
		}
	})
}

func TestStoreExpiry(t *testing.T) {
	forStores(t, func(t *testing.T, _ storeTarget, s Store, w *world) {
		ctx := context.Background()
		t0 := w.Now()
		it := put(t, s, "inflight/web", `{"id":"r-1"}`, Write{TTL: 10 * time.Second})
		if !it.Expires.Equal(t0.Add(10 * time.Second)) {
			t.Fatalf("expires %v", it.Expires)
		}
		w.set(t0.Add(9 * time.Second))
		if _, err := s.Get(ctx, "inflight/web"); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		w.set(t0.Add(10 * time.Second))
		if _, err := s.Get(ctx, "inflight/web"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("at expiry: %v", err)
		}
		if _, err := s.Put(ctx, "inflight/web", []byte(`x`), Write{IfVersion: 1}); !errors.Is(err, ErrConflict) {
			t.Fatalf("IfVersion write of an expired item: %v", err)
		}
		if _, err := s.Delete(ctx, "inflight/web", Write{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Delete of an expired item: %v", err)
		}
		it = put(t, s, "inflight/web", `{"id":"r-2"}`, Write{IfAbsent: true})
		if !it.Expires.IsZero() {
			t.Fatalf("a write without TTL kept the old expiry %v", it.Expires)
		}
		w.set(t0.Add(24 * time.Hour))
		if _, err := s.Get(ctx, "inflight/web"); err != nil {
			t.Fatalf("an item without TTL expired: %v", err)
		}
	})
}

func TestStoreAudit(t *testing.T) {
	forStores(t, func(t *testing.T, _ storeTarget, s Store, w *world) {
		ctx := context.Background()
		at := w.Now().Add(123 * time.Millisecond)
		e := AuditEntry{At: at, ID: "a1", Holder: "replica-a", Fence: 7, Kind: "replace", Data: []byte(`{"instance":"i-1"}`), TTL: time.Hour}
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, e); !errors.Is(err, ErrExists) {
			t.Fatalf("appending the same entry again: %v", err)
		}
		e2 := e
		e2.ID, e2.Data, e2.TTL = "a2", nil, 0
		if err := s.Append(ctx, e2); err != nil {
			t.Fatal(err)
		}
		got, err := s.Audit(ctx, at, "a1")
		if err != nil || !got.At.Equal(at) || got.ID != "a1" || got.Holder != "replica-a" || got.Fence != 7 || got.Kind != "replace" ||
			string(got.Data) != `{"instance":"i-1"}` || !got.Expires.Equal(w.Now().Add(time.Hour)) {
			t.Fatalf("Audit = %+v, %v", got, err)
		}
		if got, err := s.Audit(ctx, at, "a2"); err != nil || got.Data != nil || !got.Expires.IsZero() {
			t.Fatalf("Audit a2 = %+v, %v", got, err)
		}
		if _, err := s.Audit(ctx, at.Add(time.Millisecond), "a1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Audit at another time: %v", err)
		}
		w.advance(time.Hour)
		if _, err := s.Audit(ctx, at, "a1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired entry: %v", err)
		}
	})
}

func TestStoreRejectsBadInput(t *testing.T) {
	forStores(t, func(t *testing.T, _ storeTarget, s Store, w *world) {
		ctx := context.Background()
		cases := []struct {
			k    string
			v    string
			w    Write
			want string
		}{
			{"", "1", Write{}, "empty key"},
			{strings.Repeat("k", MaxKeyBytes+1), "1", Write{}, "longer than"},
			{"bad\xff", "1", Write{}, "not UTF-8"},
			{"k", "", Write{}, "empty value"},
			{"k", "\xff", Write{}, "value is not UTF-8"},
			{"k", "1", Write{IfAbsent: true, IfVersion: 1}, "exclude each other"},
			{"k", "1", Write{Fence: -1}, "negative"},
		}
		for _, c := range cases {
			if _, err := s.Put(ctx, c.k, []byte(c.v), c.w); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Put(%.20q, %q, %+v) = %v, want %q", c.k, c.v, c.w, err, c.want)
			}
		}
		if _, err := s.Delete(ctx, "k", Write{TTL: time.Second}); err == nil {
			t.Error("Delete with a TTL accepted")
		}
		for _, e := range []AuditEntry{{ID: "x"}, {At: w.Now()}, {At: w.Now(), ID: "a#b"}, {At: w.Now(), ID: "x", Data: []byte{0xff}}} {
			if err := s.Append(ctx, e); err == nil {
				t.Errorf("Append(%+v) accepted", e)
			}
		}
	})
}

// TestLostAnswersAreRecognised: when a conditional write happens but its
// answer is lost, the SDK's retry fails its condition; the write id left on
// the item tells the caller the write was its own, so an acquisition, a
// consumed approval or an audit entry is not mistaken for someone else's.
func TestLostAnswersAreRecognised(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		url, cfg := tg.account(t)
		r := newReplicaRetrying(url, cfg, 3)
		table := newTable(t, r.client)
		w := newWorld()
		ctx := context.Background()
		l, err := NewLease(r.client, Config{Table: table, Holder: "a", Clock: w})
		if err != nil {
			t.Fatal(err)
		}
		r.net.loseAnswers.Store(1)
		if ok, err := l.Acquire(ctx); !ok || err != nil || l.Token() != 1 {
			t.Fatalf("Acquire with a lost answer: %v %v, token %d", ok, err, l.Token())
		}
		s := NewDynamoStore(r.client, table, w.Now)
		r.net.loseAnswers.Store(1)
		it, err := s.Put(ctx, "approval/i-1", []byte(`{"by":"alice"}`), Write{IfAbsent: true, Fence: 1})
		if err != nil || it.Version != 1 || string(it.Value) != `{"by":"alice"}` {
			t.Fatalf("Put with a lost answer: %+v, %v", it, err)
		}
		r.net.loseAnswers.Store(1)
		it, err = s.Delete(ctx, "approval/i-1", Write{Fence: 1})
		if err != nil || string(it.Value) != `{"by":"alice"}` || it.Version != 1 {
			t.Fatalf("Delete with a lost answer: %+v, %v", it, err)
		}
		r.net.loseAnswers.Store(1)
		if err := s.Append(ctx, AuditEntry{At: w.Now(), ID: "x"}); err != nil {
			t.Fatalf("Append with a lost answer: %v", err)
		}
		// Someone else's write is still refused.
		if _, err := s.Delete(ctx, "approval/i-1", Write{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
		if err := s.Append(ctx, AuditEntry{At: w.Now(), ID: "x"}); !errors.Is(err, ErrExists) {
			t.Fatalf("second Append: %v", err)
		}
		if n := r.net.lost.Load(); n != 4 {
			t.Fatalf("%d answers lost, want 4: the test did not exercise every retry", n)
		}
	})
}
