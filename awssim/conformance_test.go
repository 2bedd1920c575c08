package awssim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftd/driftd/internal/testenv/motoenv"
)

// confResult is the normalised outcome of the conformance scenario.
type confResult map[string]string

// runConformance drives the same EC2 + Auto Scaling scenario through the SDK
// against an endpoint and returns normalised observations, step by step.
func runConformance(t *testing.T, ctx context.Context, ec2c *ec2.Client, asgc *autoscaling.Client, owner string, settle func()) confResult {
	t.Helper()
	res := confResult{}
	imgs, err := ec2c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{owner}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("DescribeImages(%s): %v (%d images)", owner, err, len(imgs.Images))
	}
	sort.Slice(imgs.Images, func(i, j int) bool { return *imgs.Images[i].ImageId < *imgs.Images[j].ImageId })
	image := *imgs.Images[0].ImageId
	res["images.hasCreationDate"] = fmt.Sprint(imgs.Images[0].CreationDate != nil)
	res["images.state"] = string(imgs.Images[0].State)

	lt, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("conf-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeT3Micro}})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	res["lt.default"] = fmt.Sprint(aws.ToInt64(lt.LaunchTemplate.DefaultVersionNumber))
	res["lt.latest"] = fmt.Sprint(aws.ToInt64(lt.LaunchTemplate.LatestVersionNumber))
	_, err = ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("conf-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)}})
	res["lt.duplicate.err"] = apiCode(err)
	lv, err := ec2c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("conf-lt"), Versions: []string{"$Latest"}})
	if err != nil || len(lv.LaunchTemplateVersions) != 1 {
		t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
	}
	res["ltv.imageMatches"] = fmt.Sprint(aws.ToString(lv.LaunchTemplateVersions[0].LaunchTemplateData.ImageId) == image)
	res["ltv.number"] = fmt.Sprint(aws.ToInt64(lv.LaunchTemplateVersions[0].VersionNumber))

	_, err = asgc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("conf-lt"), Version: aws.String("$Latest")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(3), AvailabilityZones: []string{"us-east-1a"},
		Tags: []astypes.Tag{{Key: aws.String("team"), Value: aws.String("conf"), PropagateAtLaunch: aws.Bool(true)}}})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	settle()

	group := func(step string) []astypes.Instance {
		out, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"conf-asg"}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatalf("%s: DescribeAutoScalingGroups: %v", step, err)
		}
		g := out.AutoScalingGroups[0]
		res[step+".size"] = fmt.Sprintf("min=%d max=%d desired=%d", *g.MinSize, *g.MaxSize, *g.DesiredCapacity)
		var states, health []string
		for _, in := range g.Instances {
			states = append(states, string(in.LifecycleState))
			health = append(health, aws.ToString(in.HealthStatus))
		}
		sort.Strings(states)
		sort.Strings(health)
		res[step+".states"] = strings.Join(states, ",")
		res[step+".health"] = strings.Join(health, ",")
		if g.LaunchTemplate != nil {
			res[step+".lt"] = aws.ToString(g.LaunchTemplate.LaunchTemplateName) + "@" + aws.ToString(g.LaunchTemplate.Version)
		}
		if len(g.Instances) > 0 && g.Instances[0].LaunchTemplate != nil {
			res[step+".member.lt"] = aws.ToString(g.Instances[0].LaunchTemplate.LaunchTemplateName) + "@" + aws.ToString(g.Instances[0].LaunchTemplate.Version)
		}
		var tags []string
		for _, tg := range g.Tags {
			tags = append(tags, fmt.Sprintf("%s=%s/%s/%v", aws.ToString(tg.Key), aws.ToString(tg.Value), aws.ToString(tg.ResourceType), aws.ToBool(tg.PropagateAtLaunch)))
		}
		sort.Strings(tags)
		res[step+".tags"] = strings.Join(tags, ",")
		res[step+".healthCheckType"] = aws.ToString(g.HealthCheckType)
		res[step+".grace"] = fmt.Sprint(aws.ToInt32(g.HealthCheckGracePeriod))
		res[step+".azs"] = strings.Join(g.AvailabilityZones, ",")
		sort.Slice(g.Instances, func(i, j int) bool { return *g.Instances[i].InstanceId < *g.Instances[j].InstanceId })
		return g.Instances
	}
	members := group("created")
	if len(members) < 3 {
		t.Fatalf("group has %d members (owner %s): %v", len(members), owner, res)
	}
	ids := []string{*members[0].InstanceId, *members[1].InstanceId, *members[2].InstanceId}

	di, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"conf-asg"}}}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	n, running, imageOK, tagOK := 0, 0, 0, 0
	for _, r := range di.Reservations {
		for _, in := range r.Instances {
			n++
			if in.State.Name == ec2types.InstanceStateNameRunning {
				running++
			}
			if aws.ToString(in.ImageId) == image {
				imageOK++
			}
			for _, tg := range in.Tags {
				if *tg.Key == "team" && *tg.Value == "conf" {
					tagOK++
				}
			}
		}
	}
	res["ec2.members"] = fmt.Sprintf("n=%d running=%d image=%d propagated=%d", n, running, imageOK, tagOK)

	ai, err := asgc.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids[:1]})
	if err != nil || len(ai.AutoScalingInstances) != 1 {
		t.Fatalf("DescribeAutoScalingInstances: %v", err)
	}
	res["asi.health"] = aws.ToString(ai.AutoScalingInstances[0].HealthStatus)
	res["asi.state"] = aws.ToString(ai.AutoScalingInstances[0].LifecycleState)
	res["asi.group"] = aws.ToString(ai.AutoScalingInstances[0].AutoScalingGroupName)

	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(ids[0]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
	res["sethealth.err"] = apiCode(err)
	settle()
	after := group("unhealthy")
	res["unhealthy.victimStillMember"] = fmt.Sprint(hasInstance(after, ids[0]))

	term, err := asgc.TerminateInstanceInAutoScalingGroup(ctx, asgTerminate(ids[1], false))
	res["terminate.err"] = apiCode(err)
	if err == nil {
		res["terminate.activity"] = fmt.Sprint(term.Activity != nil && strings.Contains(aws.ToString(term.Activity.Description), ids[1]))
	}
	settle()
	after = group("terminated")
	res["terminated.victimStillMember"] = fmt.Sprint(hasInstance(after, ids[1]))

	_, err = ec2c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ids[2]}, Tags: []ec2types.Tag{{Key: aws.String("driftd:status"), Value: aws.String("drifted")}}})
	res["createtags.err"] = apiCode(err)
	di, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:driftd:status"), Values: []string{"drifted"}}}})
	if err == nil {
		c := 0
		for _, r := range di.Reservations {
			c += len(r.Instances)
		}
		res["tagfilter.count"] = fmt.Sprint(c)
	}
	_, err = asgc.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("conf-asg"),
		ResourceType: aws.String("auto-scaling-group"), Key: aws.String("driftd:remediation"), Value: aws.String("flag"), PropagateAtLaunch: aws.Bool(false)}}})
	res["asgtags.err"] = apiCode(err)
	group("tagged")

	// errors
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	res["err.ec2.notfound"] = apiCode(err)
	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0123456789abcdef0"), HealthStatus: aws.String("Unhealthy")})
	res["err.asg.unknownInstance"] = apiCode(err)
	_, err = ec2c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope")})
	res["err.lt.notfound"] = apiCode(err)
	out, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"nope"}})
	res["asg.unknownName"] = fmt.Sprintf("err=%q n=%d", apiCode(err), len(out.AutoScalingGroups))
	// last, because moto replaces the group instead of refusing
	_, err = asgc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("conf-lt")}, MinSize: aws.Int32(1), MaxSize: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}})
	res["asg.duplicate.err"] = apiCode(err)
	return res
}

func hasInstance(ins []astypes.Instance, id string) bool {
	for _, in := range ins {
		if *in.InstanceId == id && !strings.HasPrefix(string(in.LifecycleState), "Terminat") {
			return true
		}
	}
	return false
}

// knownDifferences lists every observation where moto and awssim disagree,
// with who matches AWS (see docs/awssim.md). An unlisted difference fails.
var knownDifferences = map[string]string{
	"asi.health":                  "moto reports Healthy in DescribeAutoScalingInstances; AWS reports HEALTHY there (botocore examples, aws-api.md §7.5) and Healthy in DescribeAutoScalingGroups (awssim does both)",
	"asg.duplicate.err":           "moto silently replaces an existing group on CreateAutoScalingGroup; AWS returns AlreadyExists (awssim)",
	"unhealthy.health":            "same cause: moto keeps the Unhealthy member; AWS (and awssim) replace it with a Healthy one",
	"unhealthy.victimStillMember": "same cause",
	"terminated.health":           "follows from unhealthy.*: moto still holds the member marked Unhealthy",
	"tagged.health":               "follows from unhealthy.*",
	"err.asg.unknownInstance":     "moto answers SetInstanceHealth for an unknown instance with the EC2 code InvalidInstanceID.NotFound; Auto Scaling returns ValidationError (\"Instance Id not found - No managed instance found for instance ID ...\"), as awssim does",
	"created.grace":               "moto defaults HealthCheckGracePeriod to 300; the API default is 0 (aws-api.md §9; awssim uses 0)",
	"unhealthy.grace":             "same as created.grace",
	"terminated.grace":            "same as created.grace",
	"tagged.grace":                "same as created.grace",
}

func TestConformanceWithMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED with -short: conformance against moto not checked")
	}
	murl := motoenv.URL(t)
	ctx := context.Background()
	hc := NewHTTPClient()

	// moto, in an account of this test's own: other tests share the server
	mcfg, _ := motoenv.Account(t, ctx, murl, "us-east-1")
	mec2 := ec2.NewFromConfig(mcfg, func(o *ec2.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(murl), hc })
	masg := autoscaling.NewFromConfig(mcfg, func(o *autoscaling.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(murl), hc })
	moto := runConformance(t, ctx, mec2, masg, "amazon", func() {})

	// awssim: AMIs loaded through the Go API, everything else through the SDK
	e := newEnv(t, Options{LaunchDelay: -1, TerminateDelay: 5 * time.Second}, &Scenario{AMIs: []AMISpec{{ID: "ami-0a1b2c3d4e5f60001", Name: "conf-image", Packages: []PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}}}})
	sim := runConformance(t, ctx, e.ec2, e.asg, "self", func() { e.clock.Advance(10 * time.Second) })

	keys := map[string]bool{}
	for k := range moto {
		keys[k] = true
	}
	for k := range sim {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if moto[k] == sim[k] {
			t.Logf("same     %-30s %q", k, sim[k])
			continue
		}
		why, known := knownDifferences[k]
		if !known {
			t.Errorf("UNEXPLAINED difference %-30s moto=%q awssim=%q", k, moto[k], sim[k])
			continue
		}
		t.Logf("differs  %-30s moto=%q awssim=%q — %s", k, moto[k], sim[k], why)
	}
	for k := range knownDifferences {
		if moto[k] == sim[k] {
			t.Logf("note: documented difference %s no longer observed (both %q)", k, sim[k])
		}
	}
}
