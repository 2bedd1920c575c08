package ha

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftd/driftd/internal/testenv/motoenv"
)

// target is a DynamoDB implementation the suite runs against: moto (the
// reference) and awssim.
type target struct {
	name string
	// account returns an endpoint and SDK configuration of an account of
	// the test's own.
	account func(t *testing.T) (url string, cfg aws.Config)
	// racy: concurrent conditional writes to one item are not serialised
	// (moto 5: moto_server serves requests on threads, moto/server.py
	// threaded=True, and moto/dynamodb takes no lock), so checks of "exactly
	// one of N concurrent writers wins" cannot run against it.
	racy bool
}

// needAtomic skips a concurrency check on a target that cannot pass it by
// construction, saying so.
func needAtomic(t *testing.T, tg target) {
	t.Helper()
	if tg.racy {
		t.Skipf("SKIPPED on %s: it does not serialise concurrent conditional writes to one item (docs/awssim.md, DynamoDB)", tg.name)
	}
}

var (
	motoOnce sync.Once
	motoURL  string
)

func motoTarget() target {
	return target{name: "moto", racy: true, account: func(t *testing.T) (string, aws.Config) {
		if testing.Short() {
			t.Skip("SKIPPED in -short mode: needs moto")
		}
		u := motoenv.URL(t)
		cfg, _ := motoenv.Account(t, context.Background(), u, "us-east-1")
		return u, cfg
	}}
}

// targets lists every DynamoDB implementation under test.
func targets() []target { return append([]target{motoTarget()}, extraTargets...) }

// extraTargets is extended by other test files (awssim).
var extraTargets []target

// switchable is an HTTP transport that can be cut off, simulating a
// network partition between one replica and DynamoDB.
type switchable struct {
	down atomic.Bool
	// loseAnswers > 0: the next requests reach DynamoDB but their answers
	// are lost (the connection resets), so the SDK retries them.
	loseAnswers atomic.Int32
	lost        atomic.Int32 // answers lost so far
	next        http.RoundTripper
}

var errPartition = errors.New("simulated partition: endpoint unreachable")

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.down.Load() {
		return nil, errPartition
	}
	resp, err := s.next.RoundTrip(r)
	if err == nil && s.loseAnswers.Add(-1) >= 0 {
		s.lost.Add(1)
		resp.Body.Close()
		return nil, errors.New("read: connection reset by peer (simulated lost answer)")
	}
	return resp, err
}

// replica is one simulated driftd replica's DynamoDB client.
type replica struct {
	client *dynamodb.Client
	net    *switchable
}

func newReplica(url string, cfg aws.Config) replica {
	return newReplicaRetrying(url, cfg, 1)
}

// newReplicaRetrying lets the SDK make up to attempts attempts per call,
// without backoff.
func newReplicaRetrying(url string, cfg aws.Config, attempts int) replica {
	sw := &switchable{next: http.DefaultTransport}
	c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(url)
		o.HTTPClient = &http.Client{Transport: sw, Timeout: 30 * time.Second}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	return replica{client: c, net: sw}
}

var tableSeq atomic.Int64

// newTable creates a table with driftd's layout and returns its name.
func newTable(t *testing.T, c *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("driftd-ha-%d-%d", time.Now().UnixNano()%1e9, tableSeq.Add(1))
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for table %s: %v", name, err)
	}
	return name
}

// world is the true time; each replica's clock reads it with a skew, or
// stays frozen (a paused process).
type world struct {
	mu  sync.Mutex
	now time.Time
}

func newWorld() *world {
	return &world{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

func (w *world) set(t time.Time) {
	w.mu.Lock()
	w.now = t
	w.mu.Unlock()
}

func (w *world) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

type skewedClock struct {
	w      *world
	skew   time.Duration
	frozen atomic.Pointer[time.Time]
}

func (c *skewedClock) Now() time.Time {
	if f := c.frozen.Load(); f != nil {
		return *f
	}
	return c.w.Now().Add(c.skew)
}

func (c *skewedClock) freeze() {
	t := c.Now()
	c.frozen.Store(&t)
}
