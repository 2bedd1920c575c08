package services

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftd/driftd/awssim/wire"
)

// router is the minimal simulator front: parse once, dispatch by service.
type router struct {
	handlers map[string]wire.Handler
	// seen records the Host of every request (for addressing tests).
	seen chan string
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.seen != nil {
		select {
		case rt.seen <- r.Host + " " + r.URL.Path:
		default:
		}
	}
	req, perr := wire.Parse(r)
	if perr != nil {
		wire.WriteError(w, req, perr)
		return
	}
	h, ok := rt.handlers[req.Service]
	if !ok {
		wire.WriteError(w, req, wire.Errorf(400, "UnknownService", "no handler for %q", req.Service))
		return
	}
	h.ServeAWS(w, req)
}

type env struct {
	svc    *Services
	srv    *httptest.Server
	rt     *router
	cfg    aws.Config
	url    string
	s3     *s3.Client // path-style against 127.0.0.1
	sqs    *sqs.Client
	sns    *sns.Client
	events *eventbridge.Client
	sts    *sts.Client
	ib     *imagebuilder.Client
}

// fixedClock is a settable clock for deterministic tests.
type fixedClock struct{ t time.Time }

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	svc := New(opts)
	rt := &router{handlers: svc.Handlers()}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, srv: srv, rt: rt, cfg: cfg, url: srv.URL}
	ep := aws.String(srv.URL)
	e.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = ep; o.UsePathStyle = true })
	e.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = ep })
	e.sns = sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = ep })
	e.events = eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = ep })
	e.sts = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = ep })
	e.ib = imagebuilder.NewFromConfig(cfg, func(o *imagebuilder.Options) { o.BaseEndpoint = ep })
	return e
}

// loopbackHTTPClient dials the test server for any host name, so
// virtual-hosted-style names like bucket.localhost reach it.
func (e *env) loopbackHTTPClient() *awshttp.BuildableClient {
	addr := strings.TrimPrefix(e.url, "http://")
	return awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {}).WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
