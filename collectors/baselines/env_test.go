package baselines

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/wire"
	"github.com/driftd/driftd/internal/awsclients"
)

// simRegion is the test front of the simulated region (awssim with the
// supporting services): it counts calls by
// "service:Operation" (S3 operations named from the request shape), adds
// latency and denies parameters, then hands the request to the simulator.
type simRegion struct {
	sim *awssim.Sim
	srv *httptest.Server

	mu      sync.Mutex
	calls   map[string]int
	denied  map[string]bool
	latency map[string]time.Duration // by "service:Op"
}

func (r *simRegion) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	clone := hr.Clone(hr.Context())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	req, _ := wire.Parse(clone)
	op := req.Op
	if req.Service == wire.SvcS3 {
		switch {
		case hr.Method == http.MethodGet && hr.URL.Query().Get("list-type") == "2":
			op = "ListObjectsV2"
		case hr.Method == http.MethodGet:
			op = "GetObject"
		case hr.Method == http.MethodHead:
			op = "HeadObject"
		case hr.Method == http.MethodPut:
			op = "PutObject"
		}
	}
	key := req.Service + ":" + op
	r.mu.Lock()
	r.calls[key]++
	d := r.latency[key]
	r.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-hr.Context().Done():
			return
		}
	}
	if key == "ssm:GetParameter" {
		var in struct{ Name string }
		_ = json.Unmarshal(body, &in)
		r.mu.Lock()
		denied := r.denied[in.Name]
		r.mu.Unlock()
		if denied {
			wire.WriteError(w, req, wire.Errorf(400, "AccessDeniedException", "User is not authorized to perform ssm:GetParameter on %s", in.Name))
			return
		}
	}
	hr.Body = io.NopCloser(bytes.NewReader(body))
	r.sim.ServeHTTP(w, hr)
}

func (r *simRegion) putParameter(name, value string) int64 { return r.sim.PutParameter(name, value) }

func (r *simRegion) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func (r *simRegion) resetCalls() {
	r.mu.Lock()
	r.calls = map[string]int{}
	r.mu.Unlock()
}

func (r *simRegion) setLatency(key string, d time.Duration) {
	r.mu.Lock()
	r.latency[key] = d
	r.mu.Unlock()
}

func (r *simRegion) deny(name string) {
	r.mu.Lock()
	r.denied[name] = true
	r.mu.Unlock()
}

// testEnv is the region plus real SDK clients pointed at it.
type testEnv struct {
	*simRegion
	cfg aws.Config
	s3  *s3.Client
	ssm *ssm.Client
	ib  *imagebuilder.Client
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1})
	r := &simRegion{calls: map[string]int{}, denied: map[string]bool{}, latency: map[string]time.Duration{}, sim: sim}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")),
		config.WithBaseEndpoint(r.srv.URL),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 4
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{simRegion: r, cfg: cfg}
	c := awsclients.New(cfg)
	e.s3, e.ssm, e.ib = c.S3, c.SSM, c.ImageBuilder
	return e
}

func (e *testEnv) clients() Clients { return Clients{S3: e.s3, SSM: e.ssm, ImageBuilder: e.ib} }

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// errRecorder counts BaselineError calls by source.
type errRecorder struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *errRecorder) BaselineError(source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[source]++
}

func (r *errRecorder) get(source string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[source]
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
