package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/scan"
)

// tracker counts a running scan's progress. Its counters are updated from
// the scan's goroutines and from the AWS middleware; its methods are safe
// on a nil tracker (no scan running).
type tracker struct {
	id       int64
	started  time.Time // wall clock, for elapsed time and ETA
	startNow time.Time // the daemon's clock, reported as Started
	partial  bool

	phase      atomic.Value // string
	discovered atomic.Int64
	compared   atomic.Int64
	calls      atomic.Int64
	throttled  atomic.Int64
	waitNanos  atomic.Int64

	mu           sync.Mutex
	compareStart time.Time
}

func newTracker(id int64, startNow time.Time, partial bool) *tracker {
	t := &tracker{id: id, started: time.Now(), startNow: startNow, partial: partial}
	t.phase.Store(scan.PhaseDiscovering)
	return t
}

func (t *tracker) setPhase(p string) {
	if t == nil {
		return
	}
	t.phase.Store(p)
	if p == scan.PhaseComparing {
		t.mu.Lock()
		t.compareStart = time.Now()
		t.mu.Unlock()
	}
}

func (t *tracker) setDiscovered(n int) {
	if t != nil {
		t.discovered.Store(int64(n))
	}
}

func (t *tracker) addCompared() {
	if t != nil {
		t.compared.Add(1)
	}
}

// call counts one API call attempt with its result code.
func (t *tracker) call(code string) {
	if t == nil {
		return
	}
	t.calls.Add(1)
	if collectors.IsThrottleCode(code) {
		t.throttled.Add(1)
	}
}

func (t *tracker) waited(d time.Duration) {
	if t != nil {
		t.waitNanos.Add(int64(d))
	}
}

// snapshot is the progress now. The ETA extrapolates the comparison rate
// so far to the instances left.
func (t *tracker) snapshot() scan.Progress {
	now := time.Now()
	p := scan.Progress{
		ID: t.id, Started: t.startNow, Elapsed: now.Sub(t.started), Phase: t.phase.Load().(string), Partial: t.partial,
		Discovered: int(t.discovered.Load()), Compared: int(t.compared.Load()),
		APICalls: int(t.calls.Load()), Throttled: int(t.throttled.Load()), ThrottleWait: time.Duration(t.waitNanos.Load()),
	}
	t.mu.Lock()
	cs := t.compareStart
	t.mu.Unlock()
	if p.Phase == scan.PhaseComparing && p.Compared > 0 && !cs.IsZero() {
		left := p.Discovered - p.Compared
		p.ETA = time.Duration(float64(now.Sub(cs)) / float64(p.Compared) * float64(left))
	}
	return p
}

// Progress returns the running scan's progress (false when no scan runs).
func (d *Daemon) Progress() (scan.Progress, bool) {
	t := d.progress.Load()
	if t == nil {
		return scan.Progress{}, false
	}
	return t.snapshot(), true
}

// logProgress logs the running scan's progress every interval at info
// level until ctx is done.
func (d *Daemon) logProgress(ctx context.Context, t *tracker, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p := t.snapshot()
			fields := []zap.Field{zap.Int64("scan", p.ID), zap.String("phase", p.Phase),
				zap.Int("discovered", p.Discovered), zap.Int("compared", p.Compared), zap.Int("api_calls", p.APICalls),
				zap.Int("throttled", p.Throttled), zap.Duration("throttle_wait", p.ThrottleWait.Round(time.Millisecond)),
				zap.Duration("elapsed", p.Elapsed.Round(time.Second))}
			if p.ETA > 0 {
				fields = append(fields, zap.Duration("eta", p.ETA.Round(time.Second)))
			}
			d.log.Info("scan progress", fields...)
		}
	}
}
