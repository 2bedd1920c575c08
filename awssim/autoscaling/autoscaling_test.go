package autoscaling_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func describeGroup(t *testing.T, e *simtest.Env, name string) astypes.AutoScalingGroup {
	t.Helper()
	out, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("group %s: got %d groups", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

func lifecycleCounts(g astypes.AutoScalingGroup) map[astypes.LifecycleState]int {
	m := map[astypes.LifecycleState]int{}
	for _, in := range g.Instances {
		m[in.LifecycleState]++
	}
	return m
}

func TestDescribeAutoScalingGroups(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	g := describeGroup(t, e, "web")
	if *g.DesiredCapacity != 12 || len(g.Instances) != 12 || *g.MinSize != 2 || *g.MaxSize != 20 || *g.HealthCheckGracePeriod != 300 {
		t.Fatalf("web: %+v", g)
	}
	in := g.Instances[0]
	if in.LifecycleState != astypes.LifecycleStateInService || *in.HealthStatus != "Healthy" || in.LaunchTemplate == nil ||
		*in.LaunchTemplate.LaunchTemplateName != "web" || *in.LaunchTemplate.Version != "1" || *in.ProtectedFromScaleIn {
		t.Fatalf("member: %+v", in)
	}
	if g.LaunchTemplate == nil || *g.LaunchTemplate.Version != "$Default" || g.CreatedTime == nil {
		t.Fatalf("group launch template: %+v", g.LaunchTemplate)
	}
	tags := map[string]string{}
	for _, tg := range g.Tags {
		tags[*tg.Key] = *tg.Value
		if *tg.ResourceType != "auto-scaling-group" || *tg.ResourceId != "web" {
			t.Fatalf("tag: %+v", tg)
		}
	}
	if tags["team"] != "storefront" || tags["driftd:remediation"] != "flag" {
		t.Fatalf("tags: %v", tags)
	}
	// filters
	cases := []struct {
		f    []astypes.Filter
		want int
	}{
		{[]astypes.Filter{{Name: aws.String("tag:team"), Values: []string{"payments"}}}, 1},
		{[]astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"driftd:remediation"}}}, 2},
		{[]astypes.Filter{{Name: aws.String("tag-value"), Values: []string{"replace", "flag"}}}, 2},
		{[]astypes.Filter{{Name: aws.String("tag:team"), Values: []string{"data"}}}, 2}, // worker, ingest
		{nil, 6},
	}
	for _, c := range cases {
		out, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: c.f})
		if err != nil || len(out.AutoScalingGroups) != c.want {
			t.Fatalf("filters %v: err=%v got %d want %d", c.f, err, len(out.AutoScalingGroups), c.want)
		}
	}
	// paginator with MaxRecords 1
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(e.ASG, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(1)})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.AutoScalingGroups)
		pages++
	}
	if n != 6 || pages != 6 {
		t.Fatalf("paginator: %d groups in %d pages", n, pages)
	}
	// validation
	_, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(101)})
	if simtest.APICode(err) != "ValidationError" {
		t.Fatalf("MaxRecords 101: %v", err)
	}
	_, err = e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("forged")})
	var bad *astypes.InvalidNextToken
	if !errors.As(err, &bad) {
		t.Fatalf("forged token: %T %v", err, err)
	}
	// DescribeAutoScalingInstances: upper-case health, ≤ 50 per page
	ai, err := e.ASG.DescribeAutoScalingInstances(e.Ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
	if err != nil || len(ai.AutoScalingInstances) != 39 || *ai.AutoScalingInstances[0].HealthStatus != "HEALTHY" {
		t.Fatalf("DescribeAutoScalingInstances: %v %d", err, len(ai.AutoScalingInstances))
	}
	ai, err = e.ASG.DescribeAutoScalingInstances(e.Ctx, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(10)})
	if err != nil || len(ai.AutoScalingInstances) != 10 || ai.NextToken == nil {
		t.Fatalf("DescribeAutoScalingInstances paged: %v", err)
	}
	_, err = e.ASG.DescribeAutoScalingInstances(e.Ctx, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(51)})
	if simtest.APICode(err) != "ValidationError" {
		t.Fatalf("MaxRecords 51: %v", err)
	}
}

func TestReplacementOnUnhealthy(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 30 * time.Second}, awssim.DemoScenario())
	web := e.Sim.GroupMembers("web")
	victim := web[0]
	_, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(victim), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	g := describeGroup(t, e, "web")
	c := lifecycleCounts(g)
	if c[astypes.LifecycleStateInService] != 11 || c[astypes.LifecycleStatePending] != 1 || c[astypes.LifecycleStateTerminatingProceed] != 1 {
		t.Fatalf("after SetInstanceHealth: %v", c)
	}
	e.Clock.Advance(31 * time.Second)
	g = describeGroup(t, e, "web")
	c = lifecycleCounts(g)
	if c[astypes.LifecycleStateInService] != 12 || len(g.Instances) != 12 {
		t.Fatalf("after launch delay: %v", c)
	}
	for _, in := range g.Instances {
		if *in.InstanceId == victim {
			t.Fatal("victim still in group")
		}
	}
	// the replacement carries the group tag and propagated tags
	var fresh string
	for _, in := range g.Instances {
		if !slices.Contains(web, *in.InstanceId) {
			fresh = *in.InstanceId
		}
	}
	out, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{fresh, victim}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]ec2types.InstanceStateName{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			states[*in.InstanceId] = in.State.Name
			if *in.InstanceId == fresh {
				tags := map[string]string{}
				for _, tg := range in.Tags {
					tags[*tg.Key] = *tg.Value
				}
				if tags["aws:autoscaling:groupName"] != "web" || tags["team"] != "storefront" {
					t.Fatalf("replacement tags %v", tags)
				}
			}
		}
	}
	if states[fresh] != ec2types.InstanceStateNameRunning || states[victim] != ec2types.InstanceStateNameTerminated {
		t.Fatalf("states %v", states)
	}
	// activities recorded
	acts, err := e.ASG.DescribeScalingActivities(e.Ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(2)})
	if err != nil || len(acts.Activities) != 2 {
		t.Fatalf("activities: %v", err)
	}
	descs := *acts.Activities[0].Description + " | " + *acts.Activities[1].Description
	if !strings.Contains(descs, "Launching a new EC2 instance") || !strings.Contains(descs, "Terminating EC2 instance: "+victim) {
		t.Fatalf("activities: %s", descs)
	}
}

func TestGracePeriodAndSuspendedProcesses(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second}, awssim.DemoScenario())
	// suspend ReplaceUnhealthy: an unhealthy instance stays
	if _, err := e.ASG.SuspendProcesses(e.Ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("api"), ScalingProcesses: []string{"ReplaceUnhealthy"}}); err != nil {
		t.Fatal(err)
	}
	api := e.Sim.GroupMembers("api")
	if _, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(api[0]), HealthStatus: aws.String("Unhealthy")}); err != nil {
		t.Fatal(err)
	}
	g := describeGroup(t, e, "api")
	if len(g.SuspendedProcesses) != 1 || *g.SuspendedProcesses[0].ProcessName != "ReplaceUnhealthy" {
		t.Fatalf("suspended: %+v", g.SuspendedProcesses)
	}
	if c := lifecycleCounts(g); c[astypes.LifecycleStateInService] != 10 {
		t.Fatalf("replaced although suspended: %v", c)
	}
	if _, err := e.ASG.ResumeProcesses(e.Ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	if c := lifecycleCounts(describeGroup(t, e, "api")); c[astypes.LifecycleStatePending] != 1 {
		t.Fatalf("not replaced after resume: %v", c)
	}
	// a fresh instance within the grace period ignores SetInstanceHealth that respects it
	e.Clock.Advance(11 * time.Second)
	var fresh string
	for _, id := range e.Sim.GroupMembers("api") {
		if !slices.Contains(api, id) {
			fresh = id
		}
	}
	if _, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(fresh), HealthStatus: aws.String("Unhealthy")}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(fresh); v.Health != "Healthy" {
		t.Fatalf("grace period not respected: %+v", v)
	}
	_, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0123456789abcdef0"), HealthStatus: aws.String("Unhealthy")})
	if simtest.APICode(err) != "ValidationError" {
		t.Fatalf("unknown instance: %v", err)
	}
	_, err = e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(fresh), HealthStatus: aws.String("Sick")})
	if simtest.APICode(err) != "ValidationError" {
		t.Fatalf("bad status: %v", err)
	}
}

func TestLifecycleHookAndTerminate(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second, TerminateDelay: 5 * time.Second}, awssim.DemoScenario())
	w := e.Sim.GroupMembers("worker")
	out, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.Ctx, simtest.ASGTerminate(w[0], false))
	if err != nil {
		t.Fatal(err)
	}
	if out.Activity == nil || out.Activity.StatusCode != astypes.ScalingActivityStatusCodeInProgress || !strings.Contains(*out.Activity.Description, w[0]) {
		t.Fatalf("activity: %+v", out.Activity)
	}
	v, _ := e.Sim.Instance(w[0])
	if v.Lifecycle != awssim.LCTerminatingWait || v.State != awssim.StateRunning {
		t.Fatalf("hook not holding: %+v", v)
	}
	_, err = e.ASG.TerminateInstanceInAutoScalingGroup(e.Ctx, simtest.ASGTerminate(w[0], false))
	var busy *astypes.ScalingActivityInProgressFault
	if !errors.As(err, &busy) {
		t.Fatalf("second terminate: %T %v", err, err)
	}
	e.Clock.Advance(119 * time.Second)
	if v, _ := e.Sim.Instance(w[0]); v.Lifecycle != awssim.LCTerminatingWait {
		t.Fatalf("hook released early: %+v", v)
	}
	// a heartbeat restarts the hook timeout
	if _, err := e.ASG.RecordLifecycleActionHeartbeat(e.Ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("worker"),
		LifecycleHookName: aws.String("drain"), InstanceId: aws.String(w[0])}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(119 * time.Second)
	if v, _ := e.Sim.Instance(w[0]); v.Lifecycle != awssim.LCTerminatingWait {
		t.Fatalf("heartbeat ignored: %+v", v)
	}
	e.Clock.Advance(2 * time.Second) // hook timeout (2m after the heartbeat)
	if v, _ := e.Sim.Instance(w[0]); v.State != awssim.StateShuttingDown {
		t.Fatalf("after hook timeout: %+v", v)
	}
	e.Clock.Advance(6 * time.Second)
	if v, _ := e.Sim.Instance(w[0]); v.State != awssim.StateTerminated || v.Lifecycle != awssim.LCTerminated {
		t.Fatalf("after shutdown: %+v", v)
	}
	g := describeGroup(t, e, "worker")
	if len(g.Instances) != 6 || lifecycleCounts(g)[astypes.LifecycleStateInService] != 6 {
		t.Fatalf("group after replacement: %v", lifecycleCounts(g))
	}
	// decrement: desired shrinks, no replacement; below min is refused
	if _, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.Ctx, simtest.ASGTerminate(w[1], true)); err != nil {
		t.Fatal(err)
	}
	if g := describeGroup(t, e, "worker"); *g.DesiredCapacity != 5 {
		t.Fatalf("desired %d", *g.DesiredCapacity)
	}
	// CompleteLifecycleAction releases the hook early
	if _, err := e.ASG.CompleteLifecycleAction(e.Ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("worker"),
		LifecycleHookName: aws.String("drain"), InstanceId: aws.String(w[1]), LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(w[1]); v.State != awssim.StateShuttingDown {
		t.Fatalf("after CompleteLifecycleAction: %+v", v)
	}
}

func TestProtectionStandbyRefresh(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second}, awssim.DemoScenario())
	api := e.Sim.GroupMembers("api")
	// scale-in protection does not block TerminateInstanceInAutoScalingGroup
	if _, err := e.ASG.SetInstanceProtection(e.Ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("api"),
		InstanceIds: api[:2], ProtectedFromScaleIn: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	g := describeGroup(t, e, "api")
	prot := 0
	for _, in := range g.Instances {
		if *in.ProtectedFromScaleIn {
			prot++
		}
	}
	if prot != 2 {
		t.Fatalf("protected %d", prot)
	}
	// scale in: protected instances are kept
	if _, err := e.ASG.UpdateAutoScalingGroup(e.Ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	for _, in := range describeGroup(t, e, "api").Instances {
		if in.LifecycleState == astypes.LifecycleStateInService && !slices.Contains(api[:2], *in.InstanceId) {
			t.Fatalf("unprotected %s survived scale-in", *in.InstanceId)
		}
	}
	// standby
	if _, err := e.ASG.UpdateAutoScalingGroup(e.Ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	sb, err := e.ASG.EnterStandby(e.Ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("api"), InstanceIds: api[:1], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil || len(sb.Activities) != 1 {
		t.Fatalf("EnterStandby: %v", err)
	}
	g = describeGroup(t, e, "api")
	if *g.DesiredCapacity != 2 || lifecycleCounts(g)[astypes.LifecycleStateStandby] != 1 {
		t.Fatalf("standby: desired %d %v", *g.DesiredCapacity, lifecycleCounts(g))
	}
	// a standby instance is not replaced when marked unhealthy
	if _, err := e.ASG.SetInstanceHealth(e.Ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(api[0]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(api[0]); v.Lifecycle != awssim.LCStandby {
		t.Fatalf("standby instance acted upon: %+v", v)
	}
	if _, err := e.ASG.ExitStandby(e.Ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("api"), InstanceIds: api[:1]}); err != nil {
		t.Fatal(err)
	}
	// on exit the unhealthy instance is replaced
	if v, _ := e.Sim.Instance(api[0]); !strings.HasPrefix(v.Lifecycle, "Terminating") {
		t.Fatalf("unhealthy instance not replaced after ExitStandby: %+v", v)
	}
	// instance refresh: one active per group
	e.Clock.Advance(time.Minute)
	before := e.Sim.GroupMembers("web")
	r, err := e.ASG.StartInstanceRefresh(e.Ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
		Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(75), InstanceWarmup: aws.Int32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ASG.StartInstanceRefresh(e.Ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	var inprog *astypes.InstanceRefreshInProgressFault
	if !errors.As(err, &inprog) {
		t.Fatalf("second refresh: %T %v", err, err)
	}
	for range 20 {
		e.Clock.Advance(11 * time.Second)
		e.Sim.Tick()
	}
	dr, err := e.ASG.DescribeInstanceRefreshes(e.Ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(dr.InstanceRefreshes) != 1 {
		t.Fatal(err)
	}
	ir := dr.InstanceRefreshes[0]
	if *ir.InstanceRefreshId != *r.InstanceRefreshId || ir.Status != astypes.InstanceRefreshStatusSuccessful || *ir.PercentageComplete != 100 {
		t.Fatalf("refresh: %+v status %s pct %d", ir, ir.Status, aws.ToInt32(ir.PercentageComplete))
	}
	after := e.Sim.GroupMembers("web")
	for _, id := range after {
		if slices.Contains(before, id) {
			t.Fatalf("instance %s not replaced by refresh", id)
		}
	}
	if len(after) != 12 {
		t.Fatalf("group size after refresh %d", len(after))
	}
	// cancel
	if _, err := e.ASG.StartInstanceRefresh(e.Ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ASG.CancelInstanceRefresh(e.Ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	dr, _ = e.ASG.DescribeInstanceRefreshes(e.Ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("api")})
	if dr.InstanceRefreshes[0].Status != astypes.InstanceRefreshStatusCancelled {
		t.Fatalf("cancel: %s", dr.InstanceRefreshes[0].Status)
	}
	_, err = e.ASG.CancelInstanceRefresh(e.Ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("api")})
	var nf *astypes.ActiveInstanceRefreshNotFoundFault
	if !errors.As(err, &nf) {
		t.Fatalf("cancel without refresh: %T %v", err, err)
	}
}

func TestTagsAndTerminateInstancesEC2(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 5 * time.Second}, awssim.DemoScenario())
	if _, err := e.ASG.CreateOrUpdateTags(e.Ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("api"),
		ResourceType: aws.String("auto-scaling-group"), Key: aws.String("driftd:remediation"), Value: aws.String("approve"), PropagateAtLaunch: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag:driftd:remediation"), Values: []string{"approve"}}}})
	if err != nil || len(out.AutoScalingGroups) != 1 || *out.AutoScalingGroups[0].AutoScalingGroupName != "api" {
		t.Fatalf("tag filter after CreateOrUpdateTags: %v", err)
	}
	id := e.Sim.GroupMembers("web")[4]
	if _, err := e.EC2.CreateTags(e.Ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("driftd:status"), Value: aws.String("drifted")}}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(id); v.Tags["driftd:status"] != "drifted" {
		t.Fatalf("tag not set: %v", v.Tags)
	}
	_, err = e.EC2.CreateTags(e.Ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	if simtest.APICode(err) != "InvalidParameterValue" {
		t.Fatalf("aws: tag: %v", err)
	}
	if _, err := e.EC2.DeleteTags(e.Ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("driftd:status")}}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(id); v.Tags["driftd:status"] != "" {
		t.Fatalf("tag not deleted: %v", v.Tags)
	}
	// EC2 TerminateInstances on a member: the group replaces it
	term, err := e.EC2.TerminateInstances(e.Ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil || term.TerminatingInstances[0].CurrentState.Name != ec2types.InstanceStateNameShuttingDown {
		t.Fatalf("TerminateInstances: %v", err)
	}
	e.Clock.Advance(6 * time.Second)
	g := describeGroup(t, e, "web")
	if c := lifecycleCounts(g); c[astypes.LifecycleStateInService] != 12 || len(g.Instances) != 12 {
		t.Fatalf("after EC2 termination: %v", c)
	}
	// RunInstances: standalone instance from a launch template
	run, err := e.EC2.RunInstances(e.Ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("api")}})
	if err != nil || len(run.Instances) != 2 || *run.Instances[0].ImageId != "ami-0a1b2c3d4e5f60002" || run.Instances[0].State.Name != ec2types.InstanceStateNamePending {
		t.Fatalf("RunInstances: %v", err)
	}
	// launch template versions
	lv, err := e.EC2.DescribeLaunchTemplateVersions(e.Ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("web"), Versions: []string{"$Latest", "$Default"}})
	if err != nil || len(lv.LaunchTemplateVersions) != 2 || *lv.LaunchTemplateVersions[0].LaunchTemplateData.ImageId != "ami-0a1b2c3d4e5f60001" || !*lv.LaunchTemplateVersions[1].DefaultVersion {
		t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
	}
	_, err = e.EC2.DescribeLaunchTemplateVersions(e.Ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope")})
	if simtest.APICode(err) != "InvalidLaunchTemplateName.NotFoundException" {
		t.Fatalf("unknown template: %v", err)
	}
	// images with Image Builder tag
	im, err := e.EC2.DescribeImages(e.Ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"Ec2ImageBuilderArn"}}}})
	if err != nil || len(im.Images) != 3 || im.Images[0].CreationDate == nil || *im.Images[0].Name != "al2023-web-2026.11.1" {
		t.Fatalf("DescribeImages: %v %d", err, len(im.Images))
	}
	_, err = e.EC2.DescribeImages(e.Ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	if simtest.APICode(err) != "InvalidAMIID.NotFound" {
		t.Fatalf("unknown image: %v", err)
	}
}

func TestLaunchLifecycleHook(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 10 * time.Second}, awssim.DemoScenario())
	if _, err := e.ASG.PutLifecycleHook(e.Ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("api"), LifecycleHookName: aws.String("warm"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(60), DefaultResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	old := e.Sim.GroupMembers("api")
	if _, err := e.ASG.UpdateAutoScalingGroup(e.Ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"), DesiredCapacity: aws.Int32(12)}); err != nil {
		t.Fatal(err)
	}
	var fresh []string
	for _, id := range e.Sim.GroupMembers("api") {
		if !slices.Contains(old, id) {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) != 2 {
		t.Fatalf("launched %d", len(fresh))
	}
	e.Clock.Advance(20 * time.Second) // booted, but the hook holds
	if v, _ := e.Sim.Instance(fresh[0]); v.Lifecycle != awssim.LCPendingWait || v.State != awssim.StateRunning {
		t.Fatalf("hook not holding the launch: %+v", v)
	}
	// CONTINUE releases one early; the other waits for the timeout
	if _, err := e.ASG.CompleteLifecycleAction(e.Ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("api"),
		LifecycleHookName: aws.String("warm"), InstanceId: aws.String(fresh[0]), LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Sim.Instance(fresh[0]); v.Lifecycle != awssim.LCInService {
		t.Fatalf("after CONTINUE: %+v", v)
	}
	if v, _ := e.Sim.Instance(fresh[1]); v.Lifecycle != awssim.LCPendingWait {
		t.Fatalf("second launch released early: %+v", v)
	}
	e.Clock.Advance(41 * time.Second)
	if v, _ := e.Sim.Instance(fresh[1]); v.Lifecycle != awssim.LCInService {
		t.Fatalf("after hook timeout (CONTINUE): %+v", v)
	}
}
