package autoscaling_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestProtectionDoesNotBlockReplacement: scale-in protection protects from
// scale-in only. A protected member marked Unhealthy is replaced; a
// protected member terminated through Auto Scaling or EC2 goes. Source:
// "Instance scale-in protection does not protect Auto Scaling instances
// from ... manual termination ... health check replacement"
// (docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-protection.html).
func TestProtectionDoesNotBlockReplacement(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second, TerminateDelay: 5 * time.Second}, awssim.DemoScenario())
	api := e.Sim.GroupMembers("api")
	if _, err := e.ASG.SetInstanceProtection(e.Ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("api"),
		InstanceIds: api[:3], ProtectedFromScaleIn: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(api[0]), HealthStatus: aws.String("Unhealthy"),
		ShouldRespectGracePeriod: aws.Bool(false)}); err != nil {
		t.Fatalf("SetInstanceHealth on a protected member: %v", err)
	}
	if _, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.Ctx, simtest.ASGTerminate(api[1], false)); err != nil {
		t.Fatalf("TerminateInstanceInAutoScalingGroup on a protected member: %v", err)
	}
	if _, err := e.EC2.TerminateInstances(e.Ctx, &ec2.TerminateInstancesInput{InstanceIds: api[2:3]}); err != nil {
		t.Fatalf("TerminateInstances on a protected member: %v", err)
	}
	for _, id := range api[:3] {
		if v, _ := e.Sim.Instance(id); !strings.HasPrefix(v.Lifecycle, "Terminating") {
			t.Fatalf("protected %s not on its way out: %s/%s", id, v.Lifecycle, v.State)
		}
	}
	e.Clock.Advance(20 * time.Second)
	g := describeGroup(t, e, "api")
	if c := lifecycleCounts(g); len(g.Instances) != 10 || c[astypes.LifecycleStateInService] != 10 {
		t.Fatalf("group after replacing the protected members: %d members %v", len(g.Instances), c)
	}
	for _, in := range g.Instances {
		if slices.Contains(api[:3], *in.InstanceId) {
			t.Fatalf("protected member %s still in the group", *in.InstanceId)
		}
	}
}

// TestInstanceRefreshBatchSize: a rolling refresh replaces at most
// max(1, N × (100 − MinHealthyPercentage) / 100) members at a time (N the
// members to replace), so the group keeps its minimum healthy percentage,
// rounded up: 100 % and 90 % of 12 replace one at a time, 75 % three.
// Source: RefreshPreferences.MinHealthyPercentage, "a percentage of the
// desired capacity of the Auto Scaling group (rounded up to the nearest
// integer) ... 100 percent limits the rate of replacement to one instance
// at a time" (docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html).
func TestInstanceRefreshBatchSize(t *testing.T) {
	for _, tc := range []struct{ minHealthy, batch int }{{100, 1}, {90, 1}, {75, 3}} {
		t.Run(fmt.Sprint(tc.minHealthy), func(t *testing.T) {
			e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second, TerminateDelay: 5 * time.Second}, awssim.DemoScenario())
			before := e.Sim.GroupMembers("web")
			if _, err := e.ASG.StartInstanceRefresh(e.Ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
				Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(int32(tc.minHealthy)), InstanceWarmup: aws.Int32(0)}}); err != nil {
				t.Fatal(err)
			}
			most := 0
			for step := 0; step < 600; step++ {
				e.Clock.Advance(time.Second)
				out := 0
				for _, v := range e.Sim.Instances() {
					if v.Group == "web" && slices.Contains(before, v.ID) && strings.HasPrefix(v.Lifecycle, "Terminating") {
						out++
					}
				}
				most = max(most, out)
				dr, err := e.ASG.DescribeInstanceRefreshes(e.Ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
				if err != nil {
					t.Fatal(err)
				}
				if dr.InstanceRefreshes[0].Status == astypes.InstanceRefreshStatusSuccessful {
					break
				}
			}
			if most != tc.batch {
				t.Fatalf("MinHealthyPercentage %d: up to %d members out at once, want %d", tc.minHealthy, most, tc.batch)
			}
			for _, id := range e.Sim.GroupMembers("web") {
				if slices.Contains(before, id) {
					t.Fatalf("refresh did not finish: %s not replaced", id)
				}
			}
		})
	}
}

// TestAWSQueryResultWrapper: an awsQuery answer wraps its output in
// <OpResult> — empty for an operation whose output shape is empty
// (PutLifecycleHook), absent for one without output (SetInstanceHealth,
// CreateOrUpdateTags) — and always carries ResponseMetadata/RequestId.
// Source: the awsQuery protocol (smithy.io/2.0/aws/protocols/aws-query-protocol.html);
// moto answers the same (TestConformanceWithMoto, wire.asg.*).
func TestAWSQueryResultWrapper(t *testing.T) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	if err := s.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	web := s.GroupMembers("web")
	cases := []struct {
		body, want string
	}{
		{"Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web",
			`<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>`},
		{"Action=PutLifecycleHook&Version=2011-01-01&AutoScalingGroupName=web&LifecycleHookName=h&LifecycleTransition=autoscaling:EC2_INSTANCE_LAUNCHING",
			`<PutLifecycleHookResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><PutLifecycleHookResult></PutLifecycleHookResult><ResponseMetadata><RequestId>`},
		{"Action=SetInstanceHealth&Version=2011-01-01&HealthStatus=Healthy&InstanceId=" + web[0],
			`<SetInstanceHealthResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><ResponseMetadata><RequestId>`},
		{"Action=CreateOrUpdateTags&Version=2011-01-01&Tags.member.1.ResourceId=web&Tags.member.1.ResourceType=auto-scaling-group&Tags.member.1.Key=k&Tags.member.1.Value=v",
			`<CreateOrUpdateTagsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><ResponseMetadata><RequestId>`},
	}
	for _, c := range cases {
		w := simtest.Serve(s, simtest.RawReq{CType: simtest.Form, Body: c.body})
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), "</RequestId></ResponseMetadata></") {
			t.Errorf("%s: %d %.300s, want it to start %s", c.body, w.Code, w.Body.String(), c.want)
		}
	}
}
