package awssim

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// TestConcurrentUse runs readers, writers, injections and clock moves at the
// same time (meaningful under -race) and checks the fleet stays consistent.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Options{LaunchDelay: 5 * time.Second, TerminateDelay: time.Second}, DemoScenario())
	web := e.sim.GroupMembers("web")
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
		_, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(10)})
		return err
	})
	run(30, func(i int) error {
		_, err := e.ssm.ListInventoryEntries(e.ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(web[i%len(web)]), TypeName: aws.String(TypeApplication)})
		return err
	})
	run(30, func(int) error {
		_, err := e.asg.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		return err
	})
	run(20, func(i int) error {
		return e.sim.Inject(web[2+i%5], Drift{Action: DriftInstall, Package: &PackageSpec{Name: "tool", Version: "1." + string(rune('0'+i%10)), Release: "1"}})
	})
	run(6, func(i int) error {
		ids := e.sim.GroupMembers("api")
		_, err := e.asg.SetInstanceHealth(e.ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(ids[i]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
		if err != nil && apiCode(err) == "ValidationError" { // already replaced by a concurrent step
			return nil
		}
		return err
	})
	run(40, func(int) error {
		e.clock.Advance(500 * time.Millisecond)
		e.sim.Tick()
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	for _, name := range []string{"web", "api", "worker"} {
		g, _ := e.sim.Group(name)
		in := 0
		for _, m := range g.Members {
			if m.Lifecycle == LCInService {
				in++
			}
		}
		if in != g.Desired {
			t.Fatalf("group %s: %d InService, desired %d", name, in, g.Desired)
		}
	}
}
