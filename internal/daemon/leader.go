package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/gofrs/flock"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/durable"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/scan"
)

// acting is what lets this replica act — remediate, tag, notify — and
// where it keeps its decisions. With ha.dynamodb_table a leader lease in
// that table decides which replica acts; without it the replica acts alone
// (ha.Single) and holds a lock on its state file so a second driftd on the
// same file refuses to start.
type acting struct {
	log    *zap.Logger
	lease  *ha.Lease  // nil: single replica
	guard  ha.Guarder // lease or ha.Single
	holder string
	table  string
	store  ha.Store // nil: decisions in memory
	lock   *flock.Flock

	renewFailures prometheus.Counter

	mu      sync.Mutex
	running bool
	done    chan struct{}
}

// ErrStateFileInUse is returned when another process holds the state
// file's lock.
var ErrStateFileInUse = errors.New("the state file is in use by another driftd process")

// setupActing builds the lease (HA), the decision store and the state-file
// lock, and registers the leader metrics. It makes no AWS call.
func (d *Daemon) setupActing() (*acting, error) {
	d.actMu.Lock()
	defer d.actMu.Unlock()
	if d.act != nil {
		return d.act, nil
	}
	rt := d.rt.Load()
	cfg := rt.cfg
	a := &acting{log: d.log.Named("ha"), guard: ha.Single{}, holder: cfg.HA.Holder, table: cfg.HA.DynamoDBTable}
	if f := cfg.State.File; f != "" {
		a.lock = flock.New(f + ".lock")
		ok, err := a.lock.TryLock()
		if err != nil {
			return nil, fmt.Errorf("state.file: locking %s.lock: %w", f, err)
		}
		if !ok {
			return nil, fmt.Errorf("state.file: %s: %w (lock %s.lock held); give each driftd its own state file", f, ErrStateFileInUse, f)
		}
	}
	var ddb *dynamodb.Client
	if cfg.HA.Enabled() {
		ddb = rt.clients.DynamoDB
		lease, err := ha.NewLease(ddb, ha.Config{
			Table:       cfg.HA.DynamoDBTable,
			Holder:      cfg.HA.Holder,
			Duration:    cfg.HA.LeaseDuration,
			RenewEvery:  cfg.HA.RenewEvery(),
			SkewMargin:  cfg.HA.SkewMargin,
			VerifyFence: cfg.HA.VerifyFence,
			OnChange:    a.onChange,
		})
		if err != nil {
			a.unlock()
			return nil, err
		}
		a.lease, a.guard, a.holder = lease, lease, lease.Config().Holder
	}
	var rec *durable.Recovery
	a.store, rec = newDecisionStore(cfg, ddb)
	if rec != nil {
		d.log.Error("DECISIONS FILE DAMAGED: approvals, breaker resets and in-flight replacements were restored from "+string(rec.From),
			zap.String("file", rec.Path), zap.Error(rec))
		d.metrics.StateRecovered.WithLabelValues("decisions", string(rec.From)).Set(1)
	}
	a.register(d.reg)
	if a.lease != nil {
		c := a.lease.Config()
		d.log.Info("several replicas, one actor: this replica acts only while it holds the lease",
			zap.String("table", c.Table), zap.String("holder", c.Holder), zap.Duration("lease_duration", c.Duration),
			zap.Duration("skew_margin", c.SkewMargin), zap.Bool("verify_fence", c.VerifyFence))
	} else {
		d.log.Info("single replica: this replica acts", zap.String("decisions", cfg.State.DecisionsFile()))
	}
	d.act = a
	return a, nil
}

func (a *acting) register(reg prometheus.Registerer) {
	a.renewFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "driftd_leader_lease_renew_failures_total",
		Help: "Lease renewals and acquisitions that failed (DynamoDB unreachable, throttled, slow).",
	})
	reg.MustRegister(a.renewFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "driftd_leader", Help: "Whether this replica may act now (1: it holds the lease within its local deadline, or runs alone) or not (0).",
		}, func() float64 { return b2f(a.Leader()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "driftd_leader_fence_token", Help: "Fencing token of the lease this replica holds (0: none, or a single replica).",
		}, func() float64 {
			if a.lease == nil || !a.lease.Leader() {
				return 0
			}
			return float64(a.lease.Token())
		}))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Leader reports whether this replica may act now.
func (a *acting) Leader() bool { return a.lease == nil || a.lease.Leader() }

func (a *acting) onChange(leader bool, token int64) {
	if leader {
		a.log.Info("became the leader: this replica acts (remediation, tags, notifications)", zap.String("holder", a.holder), zap.Int64("token", token))
		return
	}
	a.log.Warn("not the leader any more: this replica stops acting", zap.String("holder", a.holder))
}

// start runs the lease in the background until ctx ends (then releases it).
func (a *acting) start(ctx context.Context) {
	if a == nil || a.lease == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		return
	}
	a.running = true
	a.done = make(chan struct{})
	go func() {
		defer close(a.done)
		a.lease.Run(ctx, func(err error) {
			a.renewFailures.Inc()
			a.log.Warn("leader lease: renewal or acquisition failed", zap.Error(err))
		})
	}()
}

// wait returns once the lease loop has released the lease (or at once when
// none runs).
func (a *acting) wait() {
	if a == nil {
		return
	}
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (a *acting) unlock() {
	if a != nil && a.lock != nil {
		_ = a.lock.Unlock()
	}
}

// leaderOnly runs an observer only while this replica may act: every
// replica scans, only the leader notifies and remediates.
type leaderOnly struct {
	next  scan.Observer
	guard ha.Guarder
	log   *zap.Logger
	what  string
}

func (o leaderOnly) OnScan(ctx context.Context, r *scan.Result) {
	if _, err := o.guard.Fence(ctx); err != nil {
		o.log.Debug("not the leader: "+o.what+" skipped for this scan", zap.Error(err))
		return
	}
	o.next.OnScan(ctx, r)
}

// remediationStore is the engine's StateStore: the decision store, or
// memory without one.
func (a *acting) remediationStore() remediation.StateStore {
	if a.store == nil {
		return &remediation.MemoryStore{}
	}
	return remediationState{store: a.store, guard: a.guard}
}

// LeaderStatus is GET /api/v1/leader.
type LeaderStatus struct {
	// HA is true when replicas share a lease (ha.dynamodb_table).
	HA     bool   `json:"ha"`
	Table  string `json:"table,omitempty"`
	Holder string `json:"holder,omitempty"` // this replica's holder id
	// Leader: this replica may act now.
	Leader bool  `json:"leader"`
	Token  int64 `json:"token,omitempty"` // fencing token held
	// Lease is the stored lease as DynamoDB has it now.
	Lease *LeaseRecord `json:"lease,omitempty"`
	Error string       `json:"error,omitempty"` // reading the lease failed
}

// LeaseRecord is the stored lease.
type LeaseRecord struct {
	Holder  string    `json:"holder"`
	Token   int64     `json:"token"`
	Expiry  time.Time `json:"expiry,omitzero"`
	Renewed time.Time `json:"renewed,omitzero"`
}

// LeaderStatus reports this replica's leadership and the stored lease.
func (d *Daemon) LeaderStatus(ctx context.Context) LeaderStatus {
	d.actMu.Lock()
	a := d.act
	d.actMu.Unlock()
	if a == nil || a.lease == nil {
		return LeaderStatus{Leader: true}
	}
	s := LeaderStatus{HA: true, Table: a.table, Holder: a.holder, Leader: a.lease.Leader()}
	if s.Leader {
		s.Token = a.lease.Token()
	}
	rec, err := a.lease.Current(ctx)
	switch {
	case err != nil:
		s.Error = err.Error()
	case rec.Exists:
		s.Lease = &LeaseRecord{Holder: rec.Holder, Token: rec.Token, Expiry: rec.Expiry, Renewed: rec.Renewed}
	}
	return s
}

func (d *Daemon) getLeader(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	writeJSON(w, d, d.LeaderStatus(ctx))
}
