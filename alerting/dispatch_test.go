package alerting

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// blockingSink holds every Notify until released, recording batches.
type blockingSink struct {
	name    string
	release chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	got     []*Batch
}

func (s *blockingSink) Name() string { return s.name }
func (s *blockingSink) Type() string { return "test" }
func (s *blockingSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return true, ctx.Err()
	}
	s.mu.Lock()
	s.got = append(s.got, b)
	s.mu.Unlock()
	return false, nil
}
func (s *blockingSink) batches() []*Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Batch(nil), s.got...)
}

// recordSink records batches and returns scripted results.
type recordSink struct {
	name string
	mu   sync.Mutex
	got  []*Batch
}

func (s *recordSink) Name() string { return s.name }
func (s *recordSink) Type() string { return "test" }
func (s *recordSink) Notify(ctx context.Context, b *Batch) (bool, error) {
	s.mu.Lock()
	s.got = append(s.got, b)
	s.mu.Unlock()
	return false, nil
}
func (s *recordSink) batches() []*Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Batch(nil), s.got...)
}

func TestSlowSinkNeverBlocksScanAndDropsOldest(t *testing.T) {
	slow := &blockingSink{name: "slow", release: make(chan struct{}), entered: make(chan struct{}, 1)}
	fast := &recordSink{name: "fast"}
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{}, Options{Metrics: m, ExtraSinks: []Sink{slow, fast}, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	// QueueSize of extra sinks is the default (100); push 1 in flight + 100 queued + 5 more.
	start := time.Now()
	for i := 0; i < 106; i++ {
		if i == 1 {
			<-slow.entered // the first batch is in flight
		}
		n.Emit(Event{Type: EventRemediationStarted, ASG: "web", InstanceID: "i-" + string(rune('a'+i%26)), Details: map[string]string{"seq": itoa(i)}})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("emitting took %s: a slow sink blocked the caller", d)
	}
	// The fast sink is independent of the slow one (it may itself drop if its
	// worker falls 100 behind on a loaded machine, but never waits for "slow").
	waitFor(t, "fast sink", func() bool { return count(m, "fast", ResultSuccess)+count(m, "fast", ResultDropped) == 106 })
	if len(fast.batches()) < 50 {
		t.Errorf("fast sink delivered only %d", len(fast.batches()))
	}
	waitFor(t, "drops", func() bool { return count(m, "slow", ResultDropped) == 5 })
	close(slow.release)
	waitFor(t, "slow drained", func() bool { return count(m, "slow", ResultSuccess) == 101 })
	got := slow.batches()
	// The first batch was in flight; then the oldest queued (1..5) were dropped.
	if seq := got[0].Groups[0].Events[0].Details["seq"]; seq != "0" {
		t.Errorf("first delivered seq %s", seq)
	}
	if seq := got[1].Groups[0].Events[0].Details["seq"]; seq != "6" {
		t.Errorf("after drops, next seq %s, want 6 (oldest dropped)", seq)
	}
	if seq := got[len(got)-1].Groups[0].Events[0].Details["seq"]; seq != "105" {
		t.Errorf("last seq %s", seq)
	}
	if err := n.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestCloseDrainsThenDropsOnDeadline(t *testing.T) {
	slow := &blockingSink{name: "slow", release: make(chan struct{}), entered: make(chan struct{}, 1)}
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{}, Options{Metrics: m, ExtraSinks: []Sink{slow}, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n.Emit(Event{Type: EventRemediationFailed, ASG: "web"})
		if i == 0 {
			<-slow.entered
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = n.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close: %v", err)
	}
	// In-flight one was cancelled (failure), the two queued were dropped.
	if count(m, "slow", ResultDropped) != 2 || count(m, "slow", ResultFailure) != 1 {
		t.Errorf("dropped=%v failure=%v", count(m, "slow", ResultDropped), count(m, "slow", ResultFailure))
	}
	if err := n.Emit(Event{Type: EventRemediationFailed}); err == nil {
		t.Error("emit after close accepted")
	}
}

func TestCloseWaitsForQueued(t *testing.T) {
	rec := &recordSink{name: "rec"}
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{}, Options{Metrics: m, ExtraSinks: []Sink{rec}})
	for i := 0; i < 20; i++ {
		n.Emit(Event{Type: EventRemediationSucceeded, ASG: "web"})
	}
	if err := n.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches()) != 20 || count(m, "rec", ResultSuccess) != 20 {
		t.Fatalf("delivered %d", len(rec.batches()))
	}
}

func TestSinkEventFilterAndBatchPerScan(t *testing.T) {
	all := &recordSink{name: "all"}
	n, _ := New(config.Alerting{MaxInstancesPerGroup: 2}, Options{ExtraSinks: []Sink{all}})
	defer n.Close(context.Background())
	// Filter through a configured sink type is exercised in the webhook tests;
	// here: one batch per scan holding every event, grouped and truncated.
	cur := []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fA), drifted("i-3", "web", fB), drifted("i-4", "api", fA)}
	n.Scan(t0, cur)
	waitFor(t, "batch", func() bool { return len(all.batches()) == 1 })
	b := all.batches()[0]
	if b.EventCount != 4 || b.TruncatedEvents != 1 || len(b.Groups) != 2 || b.Groups[1].ASG != "web" || len(b.Groups[1].Events) != 2 {
		t.Fatalf("batch: %+v", b)
	}
	// Highest severity kept when truncating.
	for _, ev := range b.Groups[1].Events {
		if ev.Severity != drift.SeverityHigh {
			t.Errorf("truncation kept a lower severity: %+v", ev)
		}
	}
}

func TestEventsFilter(t *testing.T) {
	srv, got := hookServer(t, 200)
	m := NewNotifyMetrics(nil)
	cfg := config.Alerting{Sinks: []config.AlertSink{{Name: "resolved-only", Type: "webhook", URL: srv.URL, Secret: testSecret, Events: []string{"drift.resolved"}}}}
	n, err := New(cfg, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	n.Scan(t0.Add(time.Minute), []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)})
	if err := n.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("requests %d, want only the resolution", len(reqs))
	}
	var b Batch
	if err := jsonUnmarshal(reqs[0].body, &b); err != nil || b.Groups[0].Events[0].Type != EventDriftResolved {
		t.Fatalf("%v %s", err, reqs[0].body)
	}
}

func TestNotifierRestartWithStateFile(t *testing.T) {
	rec := &recordSink{name: "rec"}
	path := t.TempDir() + "/state.json"
	cfg := config.Alerting{StateFile: path}
	n, _ := New(cfg, Options{ExtraSinks: []Sink{rec}})
	cur := []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fB)}
	if evs := n.Scan(t0, cur); len(evs) != 2 {
		t.Fatal(evs)
	}
	n.Close(ctxTimeout(t, 5*time.Second))

	rec2 := &recordSink{name: "rec"}
	n2, _ := New(cfg, Options{ExtraSinks: []Sink{rec2}})
	if evs := n2.Scan(t0.Add(time.Minute), cur); len(evs) != 0 {
		t.Fatalf("restart re-announced: %v", evKeys(evs))
	}
	n2.Close(ctxTimeout(t, 5*time.Second))
	if len(rec2.batches()) != 0 {
		t.Fatalf("restart notified %d batches", len(rec2.batches()))
	}
}

func TestNotifierRestartSeededFromTags(t *testing.T) {
	rec := &recordSink{name: "rec"}
	n, _ := New(config.Alerting{}, Options{ExtraSinks: []Sink{rec}, Now: func() time.Time { return t0 }})
	n.SeedFromTags([]TaggedInstance{{InstanceID: "i-1", ASG: "web", AMI: "ami-1", Tags: map[string]string{drift.TagStatus: "drifted"}}})
	evs := n.Scan(t0.Add(time.Minute), []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fA)})
	if got := evKeys(evs); len(got) != 1 || got[0] != "drift.detected i-2" {
		t.Fatalf("after seeding: %q", got)
	}
	n.Close(ctxTimeout(t, 5*time.Second))
}

func TestEmitRejectsUnknownType(t *testing.T) {
	n, _ := New(config.Alerting{}, Options{})
	defer n.Close(context.Background())
	if err := n.Emit(Event{Type: "drift.exploded"}); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.999999 }}
	lo := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0 }}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		if d := b.Delay(i); d > w || d < w-time.Millisecond {
			t.Errorf("attempt %d: max %s want ~%s", i, d, w)
		}
		if d := lo.Delay(i); d != w/2 {
			t.Errorf("attempt %d: min %s want %s", i, d, w/2)
		}
	}
	if d := b.Delay(1000); d > time.Second {
		t.Errorf("overflow: %s", d)
	}
}

func TestReloadCarriesState(t *testing.T) {
	rec := &recordSink{name: "rec"}
	n, _ := New(config.Alerting{}, Options{ExtraSinks: []Sink{rec}})
	cur := []InstanceState{drifted("i-1", "web", fA)}
	n.Scan(t0, cur)
	n.Close(ctxTimeout(t, 5*time.Second))
	st := n.State()
	n2, _ := New(config.Alerting{}, Options{ExtraSinks: []Sink{rec}, State: &st})
	defer n2.Close(context.Background())
	if evs := n2.Scan(t0.Add(time.Minute), cur); len(evs) != 0 {
		t.Fatalf("reload re-announced: %v", evKeys(evs))
	}
}
