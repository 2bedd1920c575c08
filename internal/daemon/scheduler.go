package daemon

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
)

// scheduler runs scans on the configured cron schedule: robfig/cron with
// Recover and SkipIfStillRunning, optional jitter, no overlapping scans.
type scheduler struct {
	a      *Daemon
	mu     sync.Mutex
	c      *cron.Cron
	entry  cron.EntryID
	ctx    context.Context // scans run under it; cancelled on shutdown
	wg     sync.WaitGroup
	logger cron.Logger
}

type cronLogger struct{ l *zap.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Sugar().Debugw(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Sugar().Errorw(msg, append(kv, "error", err)...)
}

func newScheduler(a *Daemon, ctx context.Context) *scheduler {
	s := &scheduler{a: a, ctx: ctx, logger: cronLogger{a.log}}
	s.c = cron.New(cron.WithParser(config.CronParser), cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(s.logger), cron.SkipIfStillRunning(s.logger)), cron.WithLogger(s.logger))
	return s
}

func (s *scheduler) reschedule(spec string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.c.AddFunc(spec, s.job)
	if err != nil {
		return err
	}
	if s.entry != 0 {
		s.c.Remove(s.entry)
	}
	s.entry = id
	return nil
}

// job is one scheduled scan: jitter, then a scan (skipped if one is running).
func (s *scheduler) job() {
	s.wg.Add(1)
	defer s.wg.Done()
	if j := s.a.Config().Schedule.Jitter; j > 0 {
		d := time.Duration(rand.Int64N(int64(j)))
		select {
		case <-time.After(d):
		case <-s.ctx.Done():
			return
		}
	}
	s.scanNow()
}

func (s *scheduler) scanNow() {
	if s.ctx.Err() != nil {
		return
	}
	_, err := s.a.Scan(s.ctx, nil)
	if errors.Is(err, ErrScanRunning) {
		s.a.log.Warn("scheduled scan skipped: previous scan still running")
	}
}

// Run serves HTTP and runs scheduled scans until ctx is cancelled
// (SIGTERM/SIGINT in the CLI). A first scan starts immediately. On
// shutdown the running scan gets schedule.shutdown_timeout to finish, is then
// cancelled, and finally the HTTP server stops. ln, when non-nil, is used
// instead of listening on http.listen.
func (a *Daemon) Run(ctx context.Context, ln net.Listener) error {
	cfg := a.Config()
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	a.log.Info("listening", zap.String("address", ln.Addr().String()))

	scanCtx, cancelScans := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelScans()
	s := newScheduler(a, scanCtx)
	if err := s.reschedule(cfg.Schedule.Cron); err != nil {
		return err
	}
	a.sched.Store(s)
	s.c.Start()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.scanNow() }()
	evCtx, evCancel := context.WithCancel(ctx) // inventory.events consumer (datasync.go)
	evDone := make(chan struct{})
	go func() { defer close(evDone); _ = a.RunEvents(evCtx) }()
	defer func() { evCancel(); <-evDone }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		a.log.Error("http server failed", zap.Error(err))
	}

	a.log.Info("shutting down")
	stopCtx := s.c.Stop() // no new jobs
	done := make(chan struct{})
	go func() { <-stopCtx.Done(); s.wg.Wait(); close(done) }()
	bound := a.Config().Schedule.ShutdownTimeout
	select {
	case <-done:
	case <-time.After(bound):
		a.log.Warn("scan still running after shutdown timeout; cancelling it", zap.Duration("timeout", bound))
		cancelScans()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			a.log.Error("scan did not stop after cancellation")
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
