// Package simtest starts a simulator for the tests of the awssim packages:
// a Sim on loopback with a manual clock and real aws-sdk-go-v2 clients
// pointed at it.
package simtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/awssim"
)

// T0 is the manual clock's start.
var T0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Env is a running simulator with SDK clients.
type Env struct {
	Sim   *awssim.Sim
	Clock *awssim.ManualClock
	URL   string
	EC2   *ec2.Client
	ASG   *autoscaling.Client
	SSM   *ssm.Client
	Ctx   context.Context
}

// New starts a simulator on loopback (a manual clock at T0 unless
// opts.Clock is set, sc loaded when not nil) and real SDK clients; the
// server closes when the test ends.
func New(t testing.TB, opts awssim.Options, sc *awssim.Scenario) *Env {
	t.Helper()
	clk := awssim.NewManualClock(T0)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	sim := awssim.New(opts)
	if sc != nil {
		if err := sim.LoadScenario(sc); err != nil {
			t.Fatalf("LoadScenario: %v", err)
		}
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	cfg := SDKConfig(t, ctx)
	e := &Env{Sim: sim, Clock: clk, URL: srv.URL, Ctx: ctx}
	hc := awssim.NewHTTPClient()
	e.EC2 = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	e.ASG = autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	e.SSM = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	return e
}

// SDKConfig is the SDK's default configuration with a static identity in
// us-east-1.
func SDKConfig(t testing.TB, ctx context.Context) aws.Config {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ASGTerminate is a TerminateInstanceInAutoScalingGroup input.
func ASGTerminate(id string, dec bool) *autoscaling.TerminateInstanceInAutoScalingGroupInput {
	return &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(dec)}
}

// APICode is the AWS error code of err ("" when it is not an API error).
func APICode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Form is the content type of query-protocol requests.
const Form = "application/x-www-form-urlencoded; charset=utf-8"

// RawReq is a hand-made request (POST / by default).
type RawReq struct {
	Method, Path, Target, CType, Body string
}

// Serve sends r to h and returns the recorded answer.
func Serve(h http.Handler, r RawReq) *httptest.ResponseRecorder {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	req := httptest.NewRequest(method, path, strings.NewReader(r.Body))
	if r.Target != "" {
		req.Header.Set("X-Amz-Target", r.Target)
	}
	if r.CType != "" {
		req.Header.Set("Content-Type", r.CType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// listAll pages ListInventoryEntries manually (the SDK has no paginator).
// ListAll pages through ListInventoryEntries for an instance and type
// (max: the page size, 0: the default), failing the test on an error, an
// empty NextToken or paging that does not end; it returns the entries, the
// last page and the number of pages.
func ListAll(t *testing.T, e *Env, id, typ string, max int32) ([]map[string]string, *ssm.ListInventoryEntriesOutput, int) {
	t.Helper()
	var all []map[string]string
	var tok *string
	var last *ssm.ListInventoryEntriesOutput
	pages := 0
	for {
		in := &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(typ), NextToken: tok}
		if max > 0 {
			in.MaxResults = aws.Int32(max)
		}
		out, err := e.SSM.ListInventoryEntries(e.Ctx, in)
		if err != nil {
			t.Fatalf("ListInventoryEntries(%s, %s): %v", id, typ, err)
		}
		pages++
		all = append(all, out.Entries...)
		last = out
		if out.NextToken == nil {
			break
		}
		if *out.NextToken == "" {
			t.Fatal("empty NextToken must be omitted")
		}
		tok = out.NextToken
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
	}
	return all, last, pages
}

// CaptureRE is the form of an inventory CaptureTime.
var CaptureRE = regexp.MustCompile(`^(20)\d\d-(0[1-9]|1[012])-([12]\d|3[01]|0[1-9])T(2[0-3]|[01]\d)(:[0-5]\d){2}Z$`)

// cpuTime is the process's user+system CPU time: with other work competing
// for the machine, pages per CPU-second is the stable capacity figure.
// CPUTime is the process's user and system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
