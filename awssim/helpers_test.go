package awssim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type env struct {
	sim   *Sim
	clock *ManualClock
	url   string
	ec2   *ec2.Client
	asg   *autoscaling.Client
	ssm   *ssm.Client
	ctx   context.Context
}

// newEnv starts a simulator on loopback with a manual clock and real SDK clients.
func newEnv(t testing.TB, opts Options, sc *Scenario) *env {
	t.Helper()
	clk := NewManualClock(t0)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	sim := New(opts)
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
	cfg := sdkConfig(t, ctx)
	e := &env{sim: sim, clock: clk, url: srv.URL, ctx: ctx}
	hc := NewHTTPClient()
	e.ec2 = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	e.asg = autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	e.ssm = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(srv.URL), hc })
	return e
}

func sdkConfig(t testing.TB, ctx context.Context) aws.Config {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func asgTerminate(id string, dec bool) *autoscaling.TerminateInstanceInAutoScalingGroupInput {
	return &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(dec)}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
