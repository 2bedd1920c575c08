package awssim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func fastRetry() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.NewExponentialJitterBackoff(20 * time.Millisecond)
	})
}

// TestThrottleRetried proves with the call log that a throttled request is
// retried by the SDK's standard retryer and then succeeds, for each protocol.
func TestThrottleRetried(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	id := e.Sim.GroupMembers("web")[0]
	cases := []struct {
		svc, op, code string
		status        int
		call          func() error
	}{
		{"ssm", "ListInventoryEntries", "ThrottlingException", 400, func() error {
			_, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeApplication)},
				func(o *ssm.Options) { o.Retryer = fastRetry() })
			return err
		}},
		{"ec2", "DescribeInstances", "RequestLimitExceeded", 503, func() error {
			_, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{}, func(o *ec2.Options) { o.Retryer = fastRetry() })
			return err
		}},
		{"autoscaling", "DescribeAutoScalingGroups", "Throttling", 400, func() error {
			_, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{}, func(o *autoscaling.Options) { o.Retryer = fastRetry() })
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			e.Sim.ResetCalls()
			fid, err := e.Sim.AddFault(awssim.Fault{Service: c.svc, Operation: c.op, Rate: 0.001, Burst: 1, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Sim.RemoveFault(fid)
			if err := c.call(); err != nil { // consumes the burst
				t.Fatal(err)
			}
			if err := c.call(); err != nil { // throttled once, retried, succeeds
				t.Fatalf("throttled call not retried to success: %v", err)
			}
			calls := e.Sim.Calls()
			if len(calls) != 3 {
				t.Fatalf("want 3 calls (ok, throttled, retry), got %d: %+v", len(calls), calls)
			}
			if calls[1].Status != c.status || calls[1].ErrorCode != c.code || calls[1].Fault != "throttle" || calls[2].Status != 200 {
				t.Fatalf("call log: %+v", calls)
			}
		})
	}
	// without retries the typed error surfaces
	fid, _ := e.Sim.AddFault(awssim.Fault{Service: "ssm", Operation: "GetParameter", Rate: 0.001, Burst: 1})
	defer e.Sim.RemoveFault(fid)
	get := func() error {
		_, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/driftd/kill-switch")}, func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
		return err
	}
	_ = get()
	if err := get(); simtest.APICode(err) != "ThrottlingException" {
		t.Fatalf("want ThrottlingException, got %v", err)
	}
}

func TestServerErrorsDropsTruncation(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	kinds := []struct {
		name  string
		fault awssim.Fault
		want  string
	}{
		{"500", awssim.Fault{Service: "ec2", Operation: "DescribeInstances", ErrorRate: 1, Count: 1}, "error:500"},
		{"503", awssim.Fault{Service: "ec2", Operation: "DescribeInstances", ErrorRate: 1, ErrorStatus: 503, Count: 1}, "error:503"},
		{"drop", awssim.Fault{Service: "ec2", Operation: "DescribeInstances", DropRate: 1, Count: 1}, "drop"},
		{"truncate", awssim.Fault{Service: "ec2", Operation: "DescribeInstances", TruncateRate: 1, Count: 1}, "truncate"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			e.Sim.ResetCalls()
			id, err := e.Sim.AddFault(k.fault)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Sim.RemoveFault(id)
			out, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{}, func(o *ec2.Options) { o.Retryer = fastRetry() })
			if k.want == "truncate" {
				// a 200 with a cut body is a deserialization error the SDK does not retry
				if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
					t.Fatalf("truncated response: %v", err)
				}
				if calls := e.Sim.Calls(); len(calls) != 1 || calls[0].Fault != "truncate" {
					t.Fatalf("call log: %+v", calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("not retried to success: %v", err)
			}
			if len(out.Reservations) != 42 {
				t.Fatalf("reservations %d", len(out.Reservations))
			}
			calls := e.Sim.Calls()
			if len(calls) != 2 || calls[0].Fault != k.want || calls[1].Status != 200 {
				t.Fatalf("call log: %+v", calls)
			}
		})
	}
	// latency
	id, _ := e.Sim.AddFault(awssim.Fault{Service: "ssm", Latency: 60 * time.Millisecond})
	start := time.Now()
	if _, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/driftd/kill-switch")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	e.Sim.RemoveFault(id)
	if len(e.Sim.Faults()) != 0 {
		t.Fatal("fault not removed")
	}
	if _, err := e.Sim.AddFault(awssim.Fault{ErrorRate: 2}); err == nil {
		t.Fatal("invalid fault accepted")
	}
}

// TestEndpointFromEnvironment uses only the SDK's standard configuration
// chain: AWS_ENDPOINT_URL, AWS_REGION and static keys from the environment.
func TestEndpointFromEnvironment(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	t.Setenv("AWS_ENDPOINT_URL", e.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	di, err := ec2.NewFromConfig(cfg).DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(di.Reservations) != 42 {
		t.Fatalf("ec2 via AWS_ENDPOINT_URL: %v", err)
	}
	ii, err := ssm.NewFromConfig(cfg).DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{})
	if err != nil || len(ii.InstanceInformationList) != 10 {
		t.Fatalf("ssm via AWS_ENDPOINT_URL: %v", err)
	}
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(g.AutoScalingGroups) != 6 {
		t.Fatalf("autoscaling via AWS_ENDPOINT_URL: %v", err)
	}
	_, err = ssm.NewFromConfig(cfg).ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String("i-0123456789abcdef0"), TypeName: aws.String(awssim.TypeApplication)})
	var inv *ssmtypes.InvalidInstanceId
	if !errors.As(err, &inv) {
		t.Fatalf("typed error via env config: %T %v", err, err)
	}
}

func TestAWSRateLimits(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	ids := e.Sim.AWSRateLimits()
	if len(ids) != 5 {
		t.Fatalf("installed %d limits", len(ids))
	}
	noRetry := func(o *ec2.Options) { o.RetryMaxAttempts = 1 }
	// count successes until the first throttle: burst plus what refilled meanwhile
	until := func(in *ec2.DescribeInstancesInput, burst int, perSec float64) {
		t.Helper()
		ok, start := 0, time.Now()
		for range 1000 {
			_, err := e.EC2.DescribeInstances(e.Ctx, in, noRetry)
			if err != nil {
				if simtest.APICode(err) != "RequestLimitExceeded" {
					t.Fatal(err)
				}
				break
			}
			ok++
		}
		maxOK := burst + int(perSec*time.Since(start).Seconds()) + 1
		if ok < burst || ok > maxOK {
			t.Fatalf("%d calls before throttling, want %d..%d", ok, burst, maxOK)
		}
	}
	// filtered/paginated describes draw from the 100/20 bucket …
	until(&ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}, 100, 20)
	// … while unfiltered, unpaginated DescribeInstances has its own 50/10 bucket
	until(&ec2.DescribeInstancesInput{}, 50, 10)
	// SSM is not limited
	for range 120 {
		if _, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/driftd/kill-switch")}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaultTargetsParams proves a fault with Params hits only the requests
// that carry the parameter (here one group's DescribeInstanceRefreshes, one
// instance inside an EC2 filter, an SSM parameter name), and ErrorCode
// answers with that code and status in each protocol's shape.
func TestFaultTargetsParams(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	noRetry := func(o *autoscaling.Options) { o.RetryMaxAttempts = 1 }
	refreshes := func(group string) error {
		_, err := e.ASG.DescribeInstanceRefreshes(e.Ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group)}, noRetry)
		return err
	}
	cases := []struct {
		name   string
		fault  awssim.Fault
		code   string
		status int
	}{
		{"access denied", awssim.Fault{ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403}, "AccessDenied", 403},
		{"throttling", awssim.Fault{ErrorRate: 1, ErrorCode: "Throttling"}, "Throttling", 400},
		{"internal", awssim.Fault{ErrorRate: 1}, "InternalFailure", 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.Sim.ResetCalls()
			f := c.fault
			f.Service, f.Operation, f.Params = "autoscaling", "DescribeInstanceRefreshes", map[string]string{"AutoScalingGroupName": "api"}
			id, err := e.Sim.AddFault(f)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Sim.RemoveFault(id)
			if err := refreshes("web"); err != nil {
				t.Fatalf("untargeted group failed: %v", err)
			}
			if err := refreshes("api"); simtest.APICode(err) != c.code {
				t.Fatalf("targeted group: want %s, got %v", c.code, err)
			}
			calls := e.Sim.Calls()
			if len(calls) != 2 || calls[0].Fault != "" || calls[1].Status != c.status || calls[1].ErrorCode != c.code {
				t.Fatalf("call log: %+v", calls)
			}
		})
	}

	// A glob key: any instance-id filter value.
	members := e.Sim.GroupMembers("web")
	id, err := e.Sim.AddFault(awssim.Fault{Service: "ec2", Operation: "DescribeInstances", ErrorRate: 1, ErrorCode: "UnauthorizedOperation", ErrorStatus: 403,
		Params: map[string]string{"Filter.*.Value.*": members[3]}})
	if err != nil {
		t.Fatal(err)
	}
	describe := func(ids ...string) error {
		_, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids}}},
			func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
		return err
	}
	if err := describe(members[0], members[1]); err != nil {
		t.Fatalf("page without the instance failed: %v", err)
	}
	if err := describe(members[2], members[3]); simtest.APICode(err) != "UnauthorizedOperation" {
		t.Fatalf("page with the instance: %v", err)
	}
	e.Sim.RemoveFault(id)

	// JSON protocol: a top-level string member.
	id, _ = e.Sim.AddFault(awssim.Fault{Service: "ssm", Operation: "GetParameter", ErrorRate: 1, ErrorCode: "AccessDeniedException", Params: map[string]string{"Name": "/secret"}})
	defer e.Sim.RemoveFault(id)
	e.Sim.PutParameter("/open", "x")
	e.Sim.PutParameter("/secret", "x")
	get := func(name string) error {
		_, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String(name)}, func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
		return err
	}
	if err := get("/open"); err != nil {
		t.Fatal(err)
	}
	if err := get("/secret"); simtest.APICode(err) != "AccessDeniedException" {
		t.Fatalf("ssm targeted: %v", err)
	}

	for _, bad := range []awssim.Fault{{ErrorStatus: 403}, {ErrorCode: "X", ErrorStatus: 302}, {Params: map[string]string{"[": "x"}}} {
		if _, err := e.Sim.AddFault(bad); err == nil {
			t.Errorf("invalid fault accepted: %+v", bad)
		}
	}

	// The admin API takes the same fields.
	resp, err := http.Post(e.URL+"/_awssim/faults", "application/json", strings.NewReader(
		`{"service":"autoscaling","operation":"DescribeInstanceRefreshes","errorRate":1,"errorCode":"AccessDenied","errorStatus":403,"params":{"AutoScalingGroupName":"worker"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("admin add fault: %d", resp.StatusCode)
	}
	if err := refreshes("worker"); simtest.APICode(err) != "AccessDenied" {
		t.Fatalf("admin fault not applied: %v", err)
	}
	if err := refreshes("web"); err != nil {
		t.Fatalf("admin fault hit another group: %v", err)
	}
}
