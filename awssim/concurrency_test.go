package awssim_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestConcurrentUse runs readers, writers, injections and clock moves at the
// same time (meaningful under -race) and checks the fleet stays consistent.
func TestConcurrentUse(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 5 * time.Second, TerminateDelay: time.Second}, awssim.DemoScenario())
	web := e.Sim.GroupMembers("web")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	run := func(n int, f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	run(30, func(int) error {
		_, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(10)})
		return err
	})
	run(30, func(i int) error {
		_, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(web[i%len(web)]), TypeName: aws.String(awssim.TypeApplication)})
		return err
	})
	run(30, func(int) error {
		_, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		return err
	})
	run(20, func(i int) error {
		return e.Sim.Inject(web[2+i%5], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "tool", Version: "1." + string(rune('0'+i%10)), Release: "1"}})
	})
	run(6, func(i int) error {
		ids := e.Sim.GroupMembers("api")
		_, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(ids[i]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
		if err != nil && simtest.APICode(err) == "ValidationError" { // already replaced by a concurrent step
			return nil
		}
		return err
	})
	run(40, func(int) error {
		e.Clock.Advance(500 * time.Millisecond)
		e.Sim.Tick()
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)
	for _, name := range []string{"web", "api", "worker"} {
		g, _ := e.Sim.Group(name)
		in := 0
		for _, m := range g.Members {
			if m.Lifecycle == awssim.LCInService {
				in++
			}
		}
		if in != g.Desired {
			t.Fatalf("group %s: %d InService, desired %d", name, in, g.Desired)
		}
	}
}
