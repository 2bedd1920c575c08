package alerting

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// deliveryPolicy is how one sink is driven.
type deliveryPolicy struct {
	Timeout    time.Duration // per attempt
	MaxRetries int           // retries after the first attempt
	QueueSize  int
	Backoff    Backoff
}

// runner owns one sink: a bounded FIFO of batches and one worker goroutine,
// so a slow or failing sink delays only itself and never the scan.
type runner struct {
	sink    Sink
	pol     deliveryPolicy
	metrics *NotifyMetrics
	log     *zap.Logger

	mu      sync.Mutex
	queue   []*Batch
	closing bool
	wake    chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

func newRunner(s Sink, pol deliveryPolicy, m *NotifyMetrics, log *zap.Logger) *runner {
	if pol.QueueSize <= 0 {
		pol.QueueSize = 100
	}
	if pol.Timeout <= 0 {
		pol.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		sink: s, pol: pol, metrics: m,
		log:  log.With(zap.String("sink", s.Name()), zap.String("sink_type", s.Type())),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	m.InitSink(s.Name())
	go r.run()
	return r
}

// enqueue adds a batch without blocking; when the queue is full the oldest
// batch is dropped and counted.
func (r *runner) enqueue(b *Batch) {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		r.drop(b, "notifier closing")
		return
	}
	var evicted *Batch
	if len(r.queue) >= r.pol.QueueSize {
		evicted = r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
	}
	r.queue = append(r.queue, b)
	r.mu.Unlock()
	if evicted != nil {
		r.drop(evicted, "queue full")
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) drop(b *Batch, why string) {
	r.metrics.Notifications.WithLabelValues(r.sink.Name(), ResultDropped).Inc()
	r.log.Warn("notification dropped", zap.String("why", why), zap.String("batch", b.ID), zap.Int("events", b.EventCount))
	if f, ok := r.sink.(forgetter); ok {
		f.Forget(b.ID)
	}
}

func (r *runner) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

func (r *runner) run() {
	defer close(r.done)
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			closing := r.closing
			r.mu.Unlock()
			if closing {
				return
			}
			select {
			case <-r.wake:
			case <-r.ctx.Done():
			}
			continue
		}
		b := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			r.drop(b, "notifier closed")
			continue
		}
		r.deliver(b)
	}
}

// deliver tries a batch up to 1+MaxRetries times with backoff between
// retryable failures.
func (r *runner) deliver(b *Batch) {
	name := r.sink.Name()
	defer func() {
		if f, ok := r.sink.(forgetter); ok {
			f.Forget(b.ID)
		}
	}()
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(r.ctx, r.pol.Timeout)
		retry, err := r.sink.Notify(actx, b)
		cancel()
		if err == nil {
			r.metrics.Notifications.WithLabelValues(name, ResultSuccess).Inc()
			r.log.Debug("notification delivered", zap.String("batch", b.ID), zap.Int("events", b.EventCount), zap.Int("attempt", attempt+1))
			return
		}
		reason := ReasonOf(err)
		r.metrics.Failures.WithLabelValues(name, string(reason)).Inc()
		last := !retry || attempt >= r.pol.MaxRetries || r.ctx.Err() != nil
		fields := []zap.Field{zap.String("batch", b.ID), zap.Int("attempt", attempt+1), zap.String("reason", string(reason)), zap.Bool("retry", retry && !last), zap.String("error", err.Error())}
		if last {
			r.metrics.Notifications.WithLabelValues(name, ResultFailure).Inc()
			r.log.Error("notification failed", fields...)
			return
		}
		r.log.Warn("notification attempt failed", fields...)
		if sleepCtx(r.ctx, r.pol.Backoff.Delay(attempt)) != nil {
			r.metrics.Notifications.WithLabelValues(name, ResultFailure).Inc()
			return
		}
	}
}

// close stops accepting batches and drains the queue until ctx ends; then
// in-flight attempts are cancelled and what is left is dropped (counted).
func (r *runner) close(ctx context.Context) {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		r.cancel()
		<-r.done
	}
	r.cancel()
}
