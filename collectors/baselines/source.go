package baselines

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"go.uber.org/zap"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// Options are shared by every source.
type Options struct {
	// CacheTTL is how long an answer (manifest, miss or error) is reused
	// without asking the source. Zero uses config.DefaultBaselineCacheTTL.
	CacheTTL time.Duration
	// Timeout bounds one resolution. Zero uses config.DefaultBaselineTimeout.
	Timeout time.Duration
	// Logger; nil discards.
	Logger *zap.Logger
	// Recorder counts errors that do not reach the chain (a bad new version
	// while the previous good one is kept). nil discards.
	Recorder collectors.BaselineErrorRecorder
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.CacheTTL <= 0 {
		o.CacheTTL = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// entry is the cached state of one AMI in one source.
type entry struct {
	mu      sync.Mutex
	checked time.Time // when the source was last asked
	valid   bool      // checked is meaningful

	// the answer served until the next check
	m   *drift.Manifest
	res collectors.Resolution
	err error

	// validators of the last document read (good or bad)
	where   string // s3 URI or parameter name
	etag    string // S3 ETag (unquoted) of the last object read
	version int64  // SSM parameter version of the last value read
	pointer string // s3 URI the parameter pointed to ("" = inline)
	badNote string // why the last document read was rejected (fallback in use)

	// the last good manifest for this AMI
	good    *drift.Manifest
	goodRes collectors.Resolution
}

// IdleEviction is how long an AMI's cache entry survives without being
// resolved: AMIs retired from the fleet do not pin their manifests forever.
const IdleEviction = 24 * time.Hour

// cache maps AMI ids to entries.
type cache struct {
	mu        sync.Mutex
	m         map[string]*entry
	used      map[string]time.Time
	lastSweep time.Time
}

// get returns the AMI's entry, marking it used at now, and evicts entries
// idle for IdleEviction (checked at most once per hour).
func (c *cache) get(ami string, now time.Time) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.used, c.lastSweep = map[string]*entry{}, map[string]time.Time{}, now
	}
	if now.Sub(c.lastSweep) >= time.Hour {
		for k, t := range c.used {
			if now.Sub(t) >= IdleEviction {
				delete(c.m, k)
				delete(c.used, k)
			}
		}
		c.lastSweep = now
	}
	e := c.m[ami]
	if e == nil {
		e = &entry{}
		c.m[ami] = e
	}
	c.used[ami] = now
	return e
}

// size is the number of cached AMIs.
func (c *cache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// fresh reports whether the cached answer may be served without asking.
func (e *entry) fresh(now time.Time, ttl time.Duration) bool {
	return e.valid && now.Sub(e.checked) < ttl && now.Sub(e.checked) >= 0
}

func (e *entry) answer() (*drift.Manifest, collectors.Resolution, error) {
	return e.m, e.res, e.err
}

// set records a final answer.
func (e *entry) set(now time.Time, m *drift.Manifest, res collectors.Resolution, err error) {
	e.checked, e.valid = now, true
	e.m, e.res, e.err = m, res, err
	if err == nil && m != nil {
		e.good, e.goodRes = m, res
		e.badNote = ""
	}
}

// fallback serves the previous good manifest after a bad new version (or
// a transient failure) of the same AMI's document; it returns false when
// there is none.
func (s *base) fallback(e *entry, now time.Time, where string, cause error) bool {
	if e.good == nil {
		return false
	}
	note := cause.Error()
	if note != e.badNote {
		s.opts.Logger.Warn("baseline source: keeping the previous good manifest",
			zap.String("source", s.name), zap.String("where", where),
			zap.String("kept_version", e.goodRes.Version), zap.Error(cause))
		e.badNote = note
	}
	if s.opts.Recorder != nil {
		s.opts.Recorder.BaselineError(s.name)
	}
	res := e.goodRes
	res.Where = fmt.Sprintf("%s (keeping version %s: %s)", e.goodRes.Where, e.goodRes.Version, note)
	e.checked, e.valid = now, true
	e.m, e.res, e.err = e.good, res, nil
	return true
}

// base holds what every source shares.
type base struct {
	name  string
	opts  Options
	cache cache
}

// Name implements collectors.BaselineSource.
func (s *base) Name() string { return s.name }

// cachedResolve answers from the AMI's cache entry while it is fresh, and
// otherwise runs resolve under the per-source deadline to refresh it.
func (s *base) cachedResolve(ctx context.Context, ami collectors.AMIInfo,
	resolve func(ctx context.Context, e *entry, ami collectors.AMIInfo, now time.Time)) (*drift.Manifest, collectors.Resolution, error) {
	now := s.opts.Now()
	e := s.cache.get(ami.ID, now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fresh(now, s.opts.CacheTTL) {
		return e.answer()
	}
	ctx, cancel := s.timeoutCtx(ctx)
	defer cancel()
	resolve(ctx, e, ami, now)
	return e.answer()
}

// timeoutCtx applies the per-source deadline.
func (s *base) timeoutCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// describe turns an API or context error into a short explanation:
// "timed out after 2s", "AccessDenied: Access Denied", ...
func (s *base) describe(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return fmt.Sprintf("timed out after %s", s.opts.Timeout)
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			return ae.ErrorCode()
		}
		return ae.ErrorCode() + ": " + msg
	}
	return err.Error()
}

// transient reports errors worth riding out with the previous good
// manifest (timeouts, throttling, 5xx, network) as opposed to authoritative
// answers (not found, access denied, invalid).
func transient(err error) bool {
	switch collectors.Reason(err) {
	case collectors.ReasonTimeout, collectors.ReasonThrottled, collectors.ReasonServerError, collectors.ReasonNetwork:
		return true
	}
	return false
}

// missing returns an error wrapping collectors.ErrNoManifest.
func missing(format string, args ...any) error {
	return fmt.Errorf("%w: %s", collectors.ErrNoManifest, fmt.Sprintf(format, args...))
}

// decode parses a document for an AMI with drift/manifest (strict, limits,
// re-normalisation) and rejects manifests without packages: an empty
// baseline would make every package of every instance look added.
func decode(where string, data []byte, ami collectors.AMIInfo, opts manifest.Options) (*drift.Manifest, error) {
	opts.AMI = ami.ID
	if opts.Name == "" {
		opts.Name = ami.Name
	}
	m, err := manifest.Decode(where, data, opts)
	if err != nil {
		return nil, err
	}
	if len(m.Packages) == 0 {
		return nil, fmt.Errorf("%s: manifest lists no packages (empty or truncated baseline)", where)
	}
	m.Source = where
	return m, nil
}

// sourceError is an explained error (naming the source's key) that keeps
// the underlying API error for classification.
type sourceError struct {
	msg   string
	cause error
}

func (e *sourceError) Error() string { return e.msg }
func (e *sourceError) Unwrap() error { return e.cause }

// apiError explains err as "<where>: <describe(err)>".
func (s *base) apiError(ctx context.Context, where string, err error) error {
	return &sourceError{msg: where + ": " + s.describe(ctx, err), cause: err}
}
