package awssim

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
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Targeted tests for rows of the fidelity table in docs/awssim.md that no
// broader test pinned.

// TestProtectionDoesNotBlockReplacement: scale-in protection protects from
// scale-in only. A protected member marked Unhealthy is replaced; a
// protected member terminated through Auto Scaling or EC2 goes. Source:
// "Instance scale-in protection does not protect Auto Scaling instances
// from ... manual termination ... health check replacement"
// (docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-protection.html).
func TestProtectionDoesNotBlockReplacement(t *testing.T) {
	e := newEnv(t, Options{LaunchDelay: 10 * time.Second, TerminateDelay: 5 * time.Second}, DemoScenario())
	api := e.sim.GroupMembers("api")
	if _, err := e.asg.SetInstanceProtection(e.ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("api"),
		InstanceIds: api[:3], ProtectedFromScaleIn: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.asg.SetInstanceHealth(e.ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(api[0]), HealthStatus: aws.String("Unhealthy"),
		ShouldRespectGracePeriod: aws.Bool(false)}); err != nil {
		t.Fatalf("SetInstanceHealth on a protected member: %v", err)
	}
	if _, err := e.asg.TerminateInstanceInAutoScalingGroup(e.ctx, asgTerminate(api[1], false)); err != nil {
		t.Fatalf("TerminateInstanceInAutoScalingGroup on a protected member: %v", err)
	}
	if _, err := e.ec2.TerminateInstances(e.ctx, &ec2.TerminateInstancesInput{InstanceIds: api[2:3]}); err != nil {
		t.Fatalf("TerminateInstances on a protected member: %v", err)
	}
	for _, id := range api[:3] {
		if v, _ := e.sim.Instance(id); !strings.HasPrefix(v.Lifecycle, "Terminating") {
			t.Fatalf("protected %s not on its way out: %s/%s", id, v.Lifecycle, v.State)
		}
	}
	e.clock.Advance(20 * time.Second)
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
			e := newEnv(t, Options{LaunchDelay: 10 * time.Second, TerminateDelay: 5 * time.Second}, DemoScenario())
			before := e.sim.GroupMembers("web")
			if _, err := e.asg.StartInstanceRefresh(e.ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
				Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(int32(tc.minHealthy)), InstanceWarmup: aws.Int32(0)}}); err != nil {
				t.Fatal(err)
			}
			most := 0
			for step := 0; step < 600; step++ {
				e.clock.Advance(time.Second)
				out := 0
				for _, v := range e.sim.Instances() {
					if v.Group == "web" && slices.Contains(before, v.ID) && strings.HasPrefix(v.Lifecycle, "Terminating") {
						out++
					}
				}
				most = max(most, out)
				dr, err := e.asg.DescribeInstanceRefreshes(e.ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
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
			for _, id := range e.sim.GroupMembers("web") {
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
	s := New(Options{Clock: NewManualClock(t0)})
	if err := s.LoadScenario(DemoScenario()); err != nil {
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
		w := serve(s, rawReq{ctype: form, body: c.body})
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), "</RequestId></ResponseMetadata></") {
			t.Errorf("%s: %d %.300s, want it to start %s", c.body, w.Code, w.Body.String(), c.want)
		}
	}
}

// TestNextTokenOmittedOnLastPage: every paginated operation driftd calls
// answers its last page without a NextToken (never an empty one) and
// every other page with a non-empty one. Source: the API references
// ("This value is null when there are no more items to return", EC2
// DescribeInstances); an empty token would make a client ask again.
func TestNextTokenOmittedOnLastPage(t *testing.T) {
	e := newEnv(t, Options{}, DemoScenario())
	web := e.sim.GroupMembers("web")
	type page struct {
		token *string
		n     int
	}
	ops := []struct {
		name string
		call func(tok *string) (page, error)
	}{
		{"ec2:DescribeInstances", func(tok *string) (page, error) {
			out, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			n := 0
			for _, r := range out.Reservations {
				n += len(r.Instances)
			}
			return page{out.NextToken, n}, nil
		}},
		{"ec2:DescribeImages", func(tok *string) (page, error) {
			out, err := e.ec2.DescribeImages(e.ctx, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Images)}, nil
		}},
		{"autoscaling:DescribeAutoScalingGroups", func(tok *string) (page, error) {
			out, err := e.asg.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(2), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.AutoScalingGroups)}, nil
		}},
		{"autoscaling:DescribeAutoScalingInstances", func(tok *string) (page, error) {
			out, err := e.asg.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(7), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.AutoScalingInstances)}, nil
		}},
		{"ssm:DescribeInstanceInformation", func(tok *string) (page, error) {
			out, err := e.ssm.DescribeInstanceInformation(e.ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.InstanceInformationList)}, nil
		}},
		{"ssm:DescribeInstanceInformation by ids", func(tok *string) (page, error) {
			out, err := e.ssm.DescribeInstanceInformation(e.ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: tok,
				Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: web[:7]}}})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.InstanceInformationList)}, nil
		}},
		{"ssm:ListInventoryEntries", func(tok *string) (page, error) {
			out, err := e.ssm.ListInventoryEntries(e.ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(web[3]), TypeName: aws.String(TypeApplication), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Entries)}, nil
		}},
		{"ssm:GetInventory", func(tok *string) (page, error) {
			out, err := e.ssm.GetInventory(e.ctx, &ssm.GetInventoryInput{MaxResults: aws.Int32(7), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Entities)}, nil
		}},
		{"ssm:GetParametersByPath", func(tok *string) (page, error) {
			out, err := e.ssm.GetParametersByPath(e.ctx, &ssm.GetParametersByPathInput{Path: aws.String("/driftd/baselines"), MaxResults: aws.Int32(2), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Parameters)}, nil
		}},
	}
	want := map[string]int{"ec2:DescribeInstances": 38, "ec2:DescribeImages": 6, "autoscaling:DescribeAutoScalingGroups": 5,
		"autoscaling:DescribeAutoScalingInstances": 35, "ssm:DescribeInstanceInformation": 38, "ssm:DescribeInstanceInformation by ids": 7,
		"ssm:ListInventoryEntries": 420, "ssm:GetInventory": 38, "ssm:GetParametersByPath": 5}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			var tok *string
			total, pages := 0, 0
			for {
				p, err := op.call(tok)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				total += p.n
				if p.token == nil {
					break
				}
				if *p.token == "" {
					t.Fatalf("page %d: empty NextToken", pages)
				}
				if p.n == 0 {
					t.Fatalf("page %d: empty page with a NextToken", pages)
				}
				if pages > 200 {
					t.Fatal("paging does not end")
				}
				tok = p.token
			}
			if pages < 2 || total != want[op.name] {
				t.Fatalf("%d items in %d pages, want %d in several", total, pages, want[op.name])
			}
		})
	}
}
