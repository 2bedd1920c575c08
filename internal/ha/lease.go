// Package ha lets several driftd replicas run while exactly one acts: a
// leader lease in DynamoDB with a fencing token, a Guard that every
// mutating action checks just before it is made, and a Store for the
// decisions that must survive restarts and failover (DynamoDB for several
// replicas, a durable file for one).
//
// Safety rests on two clocks and a margin. A leader considers itself leader
// only until lastRenewStart + Duration - SkewMargin on its own monotonic
// clock (measured from when the successful renewal was sent, so a slow
// answer only shortens it). A contender takes the lease only when the
// stored expiry (the leader's wall clock at sending + Duration) plus
// SkewMargin has passed on its wall clock. Between the two lie 2×SkewMargin
// minus the wall-clock skew between the replicas: as long as the skew stays
// below 2×SkewMargin, a leader that cannot renew has stopped acting before
// anyone else can start. Every acquisition increments the fencing token, so
// a stale leader's token is always smaller than the current one.
package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Lease defaults.
const (
	DefaultDuration   = 30 * time.Second
	DefaultRenewEvery = 10 * time.Second
	DefaultSkewMargin = 5 * time.Second
)

// Lease item attributes (besides pk).
const (
	attrHolder   = "holder"
	attrToken    = "token"
	attrExpiry   = "expiry_ms"
	attrRenewed  = "renewed_ms"
	attrAcquired = "acquired_ms"
	attrReleased = "released_ms"
	attrWriteID  = "wid"
)

// Clock tells the time. Now's result is compared with earlier results for
// the local deadline (time.Now carries a monotonic reading, so a wall-clock
// step does not move it) and converted to epoch milliseconds for the stored
// expiry.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Config configures a Lease. Zero durations take the defaults.
type Config struct {
	Table string // DynamoDB table (partition key "pk", string)
	Name  string // lease name: the item is lease#<Name> (default "driftd")
	// Holder identifies this replica; it must differ between replicas
	// (default: host name, process id and random bytes).
	Holder     string
	Duration   time.Duration // lease length (30s)
	RenewEvery time.Duration // renewal period (10s); also the contenders' retry period
	SkewMargin time.Duration // clock-skew margin (5s)
	// VerifyFence makes Fence confirm with a strongly consistent read that
	// the stored token is still this replica's (one GetItem per call).
	VerifyFence bool
	// OnChange, when set, is called by Tick (and Run) when this replica
	// becomes leader (token > 0) or stops being leader (leader false).
	OnChange func(leader bool, token int64)
	Clock    Clock // nil: the system clock
}

// Validate fills defaults and checks the relations the safety argument
// needs: RenewEvery < Duration/2 (a renewal may fail once and the next still
// lands in time) and 0 < SkewMargin < Duration/2.
func (c *Config) Validate() error {
	if c.Table == "" {
		return errors.New("ha: table name required")
	}
	if c.Name == "" {
		c.Name = "driftd"
	}
	if c.Holder == "" {
		c.Holder = DefaultHolder()
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = DefaultRenewEvery
	}
	if c.SkewMargin == 0 {
		c.SkewMargin = DefaultSkewMargin
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	switch {
	case c.Duration < 0 || c.RenewEvery < 0 || c.SkewMargin < 0:
		return fmt.Errorf("ha: lease duration %s, renew_every %s and skew_margin %s must be positive", c.Duration, c.RenewEvery, c.SkewMargin)
	case c.Duration%time.Millisecond != 0 || c.SkewMargin%time.Millisecond != 0:
		return fmt.Errorf("ha: lease duration %s and skew_margin %s must be whole milliseconds", c.Duration, c.SkewMargin)
	case c.Duration <= 2*c.RenewEvery:
		return fmt.Errorf("ha: lease duration %s must be more than twice renew_every %s", c.Duration, c.RenewEvery)
	case 2*c.SkewMargin >= c.Duration:
		return fmt.Errorf("ha: skew_margin %s must be less than half the lease duration %s", c.SkewMargin, c.Duration)
	}
	return nil
}

// newWriteID returns 16 random bytes in hex: the id a conditional write
// leaves on its item so that its retry can recognise it.
func newWriteID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DefaultHolder is host name, process id and 4 random bytes.
func DefaultHolder() string {
	h, _ := os.Hostname()
	if h == "" {
		h = "driftd"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", h, os.Getpid(), hex.EncodeToString(b[:]))
}

// Errors returned by Guard and Fence; both match ErrNotLeader.
var (
	ErrNotLeader = errors.New("ha: not the leader")
	// ErrExpired: the lease was not renewed in time; the replica stopped
	// acting (it may become leader again after a successful renewal).
	ErrExpired error = notLeader("lease not renewed in time")
	// ErrLost: another replica holds the lease, or it was released.
	ErrLost error = notLeader("lease taken over or released")
)

type notLeader string

func (e notLeader) Error() string        { return "ha: not the leader: " + string(e) }
func (e notLeader) Is(target error) bool { return target == ErrNotLeader }

// Lease is one replica's view of the leader lease.
type Lease struct {
	api DynamoDB
	cfg Config
	pk  string

	mu         sync.Mutex
	token      int64     // token of the lease held (0: none)
	validUntil time.Time // local deadline (clock reading)
	leader     bool      // last state announced to OnChange
}

// NewLease validates cfg and returns a Lease that holds nothing yet.
func NewLease(api DynamoDB, cfg Config) (*Lease, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Lease{api: api, cfg: cfg, pk: leasePrefix + cfg.Name}, nil
}

// Config returns the validated configuration.
func (l *Lease) Config() Config { return l.cfg }

func (l *Lease) nowMs(t time.Time) int64 { return t.UnixMilli() }

// Acquire takes the lease when it is absent, released, or expired for more
// than SkewMargin; it reports whether it did. Each acquisition increments
// the fencing token.
//
// The write carries a random write id: when the SDK retries it after its
// answer was lost, the retry fails its condition (the lease is now held),
// and Acquire recognises its own write by the id instead of giving up a
// lease it holds.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	start := l.cfg.Clock.Now()
	now := l.nowMs(start)
	wid := newWriteID()
	out, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           tableName(l.cfg.Table),
		Key:                 key(l.pk),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #exp < :cutoff"),
		UpdateExpression:    aws.String("SET #holder = :me, #exp = :exp, #renewed = :now, #acquired = :now, #wid = :wid ADD #token :one"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#holder": attrHolder, "#exp": attrExpiry, "#renewed": attrRenewed,
			"#acquired": attrAcquired, "#token": attrToken, "#wid": attrWriteID,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":cutoff": num(now - l.cfg.SkewMargin.Milliseconds()),
			":me":     str(l.cfg.Holder),
			":exp":    num(now + l.cfg.Duration.Milliseconds()),
			":now":    num(now),
			":one":    num(1),
			":wid":    str(wid),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var attrs map[string]types.AttributeValue
	switch {
	case conditionFailed(err):
		cur, rerr := l.read(ctx)
		if rerr != nil || cur.writeID != wid || cur.Holder != l.cfg.Holder {
			return false, nil
		}
		attrs = cur.raw
	case err != nil:
		return false, fmt.Errorf("ha: acquiring lease %s in table %s: %w", l.pk, l.cfg.Table, err)
	default:
		attrs = out.Attributes
	}
	tok, ok, err := getN(attrs, attrToken)
	if err != nil || !ok || tok <= 0 {
		return false, fmt.Errorf("ha: lease %s: acquired but the returned item has no valid token (%v)", l.pk, err)
	}
	l.mu.Lock()
	l.token = tok
	l.validUntil = start.Add(l.cfg.Duration - l.cfg.SkewMargin)
	l.mu.Unlock()
	return true, nil
}

// Renew extends the lease while this replica still holds it (holder and
// token unchanged). ErrLost: it does not (the local state is cleared). Any
// other error leaves the local deadline as it was: the replica stops acting
// when it passes unless a later renewal succeeds.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	if tok == 0 {
		return ErrLost
	}
	start := l.cfg.Clock.Now()
	now := l.nowMs(start)
	_, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                tableName(l.cfg.Table),
		Key:                      key(l.pk),
		ConditionExpression:      aws.String("#holder = :me AND #token = :tok"),
		UpdateExpression:         aws.String("SET #exp = :exp, #renewed = :now"),
		ExpressionAttributeNames: map[string]string{"#holder": attrHolder, "#token": attrToken, "#exp": attrExpiry, "#renewed": attrRenewed},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me": str(l.cfg.Holder), ":tok": num(tok),
			":exp": num(now + l.cfg.Duration.Milliseconds()), ":now": num(now),
		},
	})
	if conditionFailed(err) {
		l.drop(tok)
		return ErrLost
	}
	if err != nil {
		return fmt.Errorf("ha: renewing lease %s in table %s: %w", l.pk, l.cfg.Table, err)
	}
	l.mu.Lock()
	if l.token == tok {
		l.validUntil = start.Add(l.cfg.Duration - l.cfg.SkewMargin)
	}
	l.mu.Unlock()
	return nil
}

func (l *Lease) drop(tok int64) {
	l.mu.Lock()
	if l.token == tok {
		l.token, l.validUntil = 0, time.Time{}
	}
	l.mu.Unlock()
}

// Release gives the lease up so another replica can take it at once. This
// replica stops acting before the write is sent; call it only once the work
// that Guard protects has stopped. Releasing a lease not held is a no-op.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	tok := l.token
	l.token, l.validUntil = 0, time.Time{}
	l.mu.Unlock()
	if tok == 0 {
		return nil
	}
	now := l.nowMs(l.cfg.Clock.Now())
	_, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                tableName(l.cfg.Table),
		Key:                      key(l.pk),
		ConditionExpression:      aws.String("#holder = :me AND #token = :tok"),
		UpdateExpression:         aws.String("SET #exp = :zero, #released = :now"),
		ExpressionAttributeNames: map[string]string{"#holder": attrHolder, "#token": attrToken, "#exp": attrExpiry, "#released": attrReleased},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me": str(l.cfg.Holder), ":tok": num(tok), ":zero": num(0), ":now": num(now),
		},
	})
	if conditionFailed(err) {
		return nil // already taken over
	}
	if err != nil {
		return fmt.Errorf("ha: releasing lease %s in table %s: %w", l.pk, l.cfg.Table, err)
	}
	return nil
}

// Leader reports whether this replica may act now (local check only).
func (l *Lease) Leader() bool {
	_, err := l.local()
	return err == nil
}

// Token returns the fencing token held (0: none), whether or not the local
// deadline has passed.
func (l *Lease) Token() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

func (l *Lease) local() (int64, error) {
	l.mu.Lock()
	tok, until := l.token, l.validUntil
	l.mu.Unlock()
	if tok == 0 {
		return 0, ErrLost
	}
	if !l.cfg.Clock.Now().Before(until) {
		return 0, ErrExpired
	}
	return tok, nil
}

// Fence returns the fencing token to act under, or an error matching
// ErrNotLeader: at once when the local deadline has passed, and, with
// VerifyFence, when a strongly consistent read shows another holder or
// token (or the deadline passed during the read).
func (l *Lease) Fence(ctx context.Context) (int64, error) {
	tok, err := l.local()
	if err != nil || !l.cfg.VerifyFence {
		return tok, err
	}
	cur, err := l.Current(ctx)
	if err != nil {
		return 0, fmt.Errorf("ha: verifying the fencing token: %w", err)
	}
	if cur.Holder != l.cfg.Holder || cur.Token != tok {
		l.drop(tok)
		return 0, fmt.Errorf("%w (held by %q with token %d; ours was %d)", ErrLost, cur.Holder, cur.Token, tok)
	}
	return l.local()
}

// Guard returns nil when this replica may make a mutating call now (Fence
// without the token).
func (l *Lease) Guard(ctx context.Context) error {
	_, err := l.Fence(ctx)
	return err
}

// Record is the stored lease.
type Record struct {
	Holder   string
	Token    int64
	Expiry   time.Time // zero after a release
	Renewed  time.Time
	Acquired time.Time
	Exists   bool

	writeID string
	raw     map[string]types.AttributeValue
}

// Current reads the stored lease with a strongly consistent read.
func (l *Lease) Current(ctx context.Context) (Record, error) {
	return l.read(ctx)
}

func (l *Lease) read(ctx context.Context) (Record, error) {
	out, err := l.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: tableName(l.cfg.Table), Key: key(l.pk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, fmt.Errorf("ha: reading lease %s in table %s: %w", l.pk, l.cfg.Table, err)
	}
	if out.Item == nil {
		return Record{}, nil
	}
	r := Record{raw: out.Item}
	r.Exists = true
	var errs []error
	var e error
	r.Holder, _, e = getS(out.Item, attrHolder)
	errs = append(errs, e)
	r.Token, _, e = getN(out.Item, attrToken)
	errs = append(errs, e)
	r.writeID, _, e = getS(out.Item, attrWriteID)
	errs = append(errs, e)
	for name, dst := range map[string]*time.Time{attrExpiry: &r.Expiry, attrRenewed: &r.Renewed, attrAcquired: &r.Acquired} {
		ms, ok, e := getN(out.Item, name)
		errs = append(errs, e)
		if ok && ms > 0 {
			*dst = time.UnixMilli(ms).UTC()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Record{}, fmt.Errorf("ha: lease %s in table %s: %w", l.pk, l.cfg.Table, err)
	}
	return r, nil
}

// Tick renews the lease when held, else tries to acquire it, and calls
// OnChange on a change of leadership (including a local deadline that
// passed). It returns whether this replica is leader afterwards.
func (l *Lease) Tick(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RenewEvery)
	defer cancel()
	var err error
	if l.Token() != 0 {
		err = l.Renew(ctx)
		if errors.Is(err, ErrLost) {
			err = nil
		}
	} else {
		_, err = l.Acquire(ctx)
	}
	tok, lerr := l.local()
	leader := lerr == nil
	l.mu.Lock()
	changed := leader != l.leader
	l.leader = leader
	l.mu.Unlock()
	if changed && l.cfg.OnChange != nil {
		l.cfg.OnChange(leader, tok)
	}
	return leader, err
}

// Run calls Tick every RenewEvery until ctx is done, then releases the
// lease (with a timeout of RenewEvery). Tick errors go to onErr (may be nil).
func (l *Lease) Run(ctx context.Context, onErr func(error)) {
	t := time.NewTicker(l.cfg.RenewEvery)
	defer t.Stop()
	for {
		if _, err := l.Tick(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.RenewEvery)
			err := l.Release(rctx)
			cancel()
			if err != nil && onErr != nil {
				onErr(err)
			}
			l.mu.Lock()
			was := l.leader
			l.leader = false
			l.mu.Unlock()
			if was && l.cfg.OnChange != nil {
				l.cfg.OnChange(false, 0)
			}
			return
		case <-t.C:
		}
	}
}

// String describes the lease for logs.
func (l *Lease) String() string {
	return l.cfg.Table + "/" + l.pk + " as " + l.cfg.Holder + " (token " + strconv.FormatInt(l.Token(), 10) + ")"
}
