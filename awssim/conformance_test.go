package awssim_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
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
	res["image"] = image
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
	res["lt.duplicate.err"] = simtest.APICode(err)
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
	res["sethealth.err"] = simtest.APICode(err)
	settle()
	after := group("unhealthy")
	res["unhealthy.victimStillMember"] = fmt.Sprint(hasInstance(after, ids[0]))

	term, err := asgc.TerminateInstanceInAutoScalingGroup(ctx, simtest.ASGTerminate(ids[1], false))
	res["terminate.err"] = simtest.APICode(err)
	if err == nil {
		res["terminate.activity"] = fmt.Sprint(term.Activity != nil && strings.Contains(aws.ToString(term.Activity.Description), ids[1]))
	}
	settle()
	after = group("terminated")
	res["terminated.victimStillMember"] = fmt.Sprint(hasInstance(after, ids[1]))

	_, err = ec2c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ids[2]}, Tags: []ec2types.Tag{{Key: aws.String("driftd:status"), Value: aws.String("drifted")}}})
	res["createtags.err"] = simtest.APICode(err)
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
	res["asgtags.err"] = simtest.APICode(err)
	group("tagged")

	// errors
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	res["err.ec2.notfound"] = simtest.APICode(err)
	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0123456789abcdef0"), HealthStatus: aws.String("Unhealthy")})
	res["err.asg.unknownInstance"] = simtest.APICode(err)
	_, err = ec2c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope")})
	res["err.lt.notfound"] = simtest.APICode(err)
	out, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"nope"}})
	res["asg.unknownName"] = fmt.Sprintf("err=%q n=%d", simtest.APICode(err), len(out.AutoScalingGroups))
	// last, because moto replaces the group instead of refusing
	_, err = asgc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("conf-lt")}, MinSize: aws.Int32(1), MaxSize: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}})
	res["asg.duplicate.err"] = simtest.APICode(err)
	return res
}

// rawRecorder is an HTTP client that keeps the last response's status and
// body, so the conformance run can compare wire shapes (result wrappers,
// error bodies) as well as decoded values.
type rawRecorder struct {
	next   aws.HTTPClient
	mu     sync.Mutex
	status int
	body   []byte
}

func (r *rawRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.status, r.body = resp.StatusCode, b
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// shape renders the last response's XML as its status and element
// structure: names with their children in braces, in document order, text
// kept only for the error Type (Sender/Receiver), elements deeper than
// limit left out (their content is compared decoded, not as wire shape);
// e.g. "400 ErrorResponse{Error{Type=Sender,Code,Message},RequestId}".
func (r *rawRecorder) shape(limit int) string {
	r.mu.Lock()
	body, status := r.body, r.status
	r.mu.Unlock()
	type node struct {
		name     string
		text     []byte
		children []*node
	}
	root := &node{}
	stack := []*node{root}
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		top := stack[len(stack)-1]
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{name: tk.Name.Local}
			if len(stack) <= limit {
				top.children = append(top.children, n)
			}
			stack = append(stack, n)
		case xml.CharData:
			top.text = append(top.text, tk...)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	var render func(ns []*node) string
	render = func(ns []*node) string {
		var parts []string
		for _, n := range ns {
			p := n.name
			if n.name == "Type" {
				p += "=" + strings.TrimSpace(string(n.text))
			}
			if len(n.children) > 0 {
				p += "{" + render(n.children) + "}"
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprintf("%d %s", status, render(root.children))
}

// runFidelity drives the behaviours the fidelity table in docs/awssim.md
// claims moto confirms (or documents where it differs): awsQuery result
// wrappers and error bodies, ec2Query error bodies, DescribeInstances
// paging, scale-in protection not blocking SetInstanceHealth and
// TerminateInstanceInAutoScalingGroup, standby, terminate lifecycle hooks.
// It runs after runConformance on the same endpoint (the conf-lt launch
// template exists); raw is the clients' HTTP client.
func runFidelity(t *testing.T, ctx context.Context, ec2c *ec2.Client, asgc *autoscaling.Client, raw *rawRecorder, image string, settle func()) confResult {
	t.Helper()
	res := confResult{}

	// Wire shapes.
	_, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"nope"}})
	res["wire.asg.result"] = raw.shape(3)
	if err != nil {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0123456789abcdef0"), HealthStatus: aws.String("Unhealthy")})
	res["wire.asg.error"] = raw.shape(3)
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	res["wire.ec2.error"] = simtest.APICode(err) + " " + raw.shape(4)

	// DescribeInstances paging: 6 instances of their own, one reservation
	// each, 5 a page.
	for range 6 {
		_, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			InstanceType: ec2types.InstanceTypeT3Micro, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
				Tags: []ec2types.Tag{{Key: aws.String("fidelity"), Value: aws.String("paging")}}}}})
		if err != nil {
			t.Fatalf("RunInstances: %v", err)
		}
	}
	var pages []string
	var tok *string
	for i := 0; i < 10; i++ {
		out, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: tok,
			Filters: []ec2types.Filter{{Name: aws.String("tag:fidelity"), Values: []string{"paging"}}}})
		if err != nil {
			t.Fatalf("DescribeInstances page %d: %v", i+1, err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
		tokState := "token"
		switch {
		case out.NextToken == nil:
			tokState = "no-token"
		case *out.NextToken == "":
			tokState = "empty-token"
		}
		pages = append(pages, fmt.Sprintf("%d/%s", n, tokState))
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		tok = out.NextToken
	}
	res["ec2.paging"] = strings.Join(pages, " ")
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{"i-0123456789abcdef0"}})
	res["ec2.maxResultsWithIds"] = simtest.APICode(err)
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
	res["ec2.maxResults4"] = simtest.APICode(err)

	// A group of 4 for protection, standby and hooks.
	_, err = asgc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("fid-asg"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("conf-lt"), Version: aws.String("$Latest")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(8), DesiredCapacity: aws.Int32(4), AvailabilityZones: []string{"us-east-1a"}})
	if err != nil {
		t.Fatalf("CreateAutoScalingGroup fid-asg: %v", err)
	}
	settle()
	describe := func() astypes.AutoScalingGroup {
		out, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"fid-asg"}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatalf("DescribeAutoScalingGroups fid-asg: %v", err)
		}
		return out.AutoScalingGroups[0]
	}
	stateOf := func(g astypes.AutoScalingGroup, id string) string {
		for _, in := range g.Instances {
			if aws.ToString(in.InstanceId) == id {
				return string(in.LifecycleState) + "/" + aws.ToString(in.HealthStatus)
			}
		}
		return "absent"
	}
	g := describe()
	if len(g.Instances) != 4 {
		t.Fatalf("fid-asg has %d members", len(g.Instances))
	}
	var m []string
	for _, in := range g.Instances {
		m = append(m, aws.ToString(in.InstanceId))
	}
	sort.Strings(m)

	// Scale-in protection does not stop SetInstanceHealth or
	// TerminateInstanceInAutoScalingGroup.
	_, err = asgc.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("fid-asg"),
		InstanceIds: m[:2], ProtectedFromScaleIn: aws.Bool(true)})
	res["protect.err"] = simtest.APICode(err)
	protected := 0
	for _, in := range describe().Instances {
		if aws.ToBool(in.ProtectedFromScaleIn) {
			protected++
		}
	}
	res["protect.count"] = fmt.Sprint(protected)
	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(m[0]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
	res["protect.sethealth.err"] = simtest.APICode(err)
	res["wire.asg.noOutput"] = raw.shape(3) // SetInstanceHealth has no output shape: no Result element
	_, err = asgc.TerminateInstanceInAutoScalingGroup(ctx, simtest.ASGTerminate(m[1], false))
	res["protect.terminate.err"] = simtest.APICode(err)
	settle()
	g = describe()
	res["protect.unhealthy"] = stateOf(g, m[0])
	res["protect.terminated"] = stateOf(g, m[1])
	res["protect.desired"] = fmt.Sprint(aws.ToInt32(g.DesiredCapacity))

	// Standby: out of the group's capacity, back in on ExitStandby.
	_, err = asgc.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("fid-asg"), InstanceIds: m[2:3], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	res["standby.enter.err"] = simtest.APICode(err)
	settle()
	g = describe()
	res["standby.state"] = stateOf(g, m[2])
	res["standby.desired"] = fmt.Sprint(aws.ToInt32(g.DesiredCapacity))
	// not health-checked in standby: marked Unhealthy, it stays there
	_, err = asgc.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(m[2]), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
	res["standby.sethealth.err"] = simtest.APICode(err)
	settle()
	res["standby.unhealthy"] = stateOf(describe(), m[2])
	_, err = asgc.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("fid-asg"), InstanceIds: m[2:3]})
	res["standby.exit.err"] = simtest.APICode(err)
	settle()
	g = describe()
	res["standby.exited"] = stateOf(g, m[2])
	res["standby.exitedDesired"] = fmt.Sprint(aws.ToInt32(g.DesiredCapacity))

	// A terminate lifecycle hook holds the terminated member.
	_, err = asgc.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("fid-asg"), LifecycleHookName: aws.String("drain"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_TERMINATING"), HeartbeatTimeout: aws.Int32(300)})
	res["hook.put.err"] = simtest.APICode(err)
	res["wire.asg.emptyResult"] = raw.shape(3)
	_, err = asgc.TerminateInstanceInAutoScalingGroup(ctx, simtest.ASGTerminate(m[3], false))
	res["hook.terminate.err"] = simtest.APICode(err)
	res["hook.held"] = stateOf(describe(), m[3])
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
	"asi.health":                  "moto reports Healthy in DescribeAutoScalingInstances; AWS reports HEALTHY there (aws/aws-cli awscli/examples/autoscaling/describe-auto-scaling-instances.rst) and Healthy in DescribeAutoScalingGroups (awssim does both)",
	"asg.duplicate.err":           "moto silently replaces an existing group on CreateAutoScalingGroup; AWS returns AlreadyExists (awssim)",
	"unhealthy.health":            "same cause: moto keeps the Unhealthy member; AWS (and awssim) replace it with a Healthy one",
	"unhealthy.victimStillMember": "same cause",
	"terminated.health":           "follows from unhealthy.*: moto still holds the member marked Unhealthy",
	"tagged.health":               "follows from unhealthy.*",
	"err.asg.unknownInstance":     "moto answers SetInstanceHealth for an unknown instance with the EC2 code InvalidInstanceID.NotFound; Auto Scaling returns ValidationError (\"Instance Id not found - No managed instance found for instance ID ...\"), as awssim does",
	"created.grace":               "moto defaults HealthCheckGracePeriod to 300; the API default is 0 (CreateAutoScalingGroup API reference: \"Default: 0 seconds\"; 300 is the console's; awssim uses 0)",
	"unhealthy.grace":             "same as created.grace",
	"terminated.grace":            "same as created.grace",
	"tagged.grace":                "same as created.grace",

	// runFidelity
	"ec2.maxResults4":   "moto accepts DescribeInstances MaxResults 4; the API reference allows 5 to 1000 (awssim: InvalidParameterValue)",
	"protect.unhealthy": "moto keeps a member marked Unhealthy (see unhealthy.*); AWS (and awssim) replace it, scale-in protection notwithstanding",
	"standby.exited":    "moto puts the standby member marked Unhealthy back InService and Unhealthy; AWS health-checks it when it leaves standby and replaces it (awssim)",
	"hook.held":         "moto removes the member at once and does not model lifecycle hook wait states; AWS holds it in Terminating:Wait until CompleteLifecycleAction or the heartbeat timeout (awssim)",
}

func TestConformanceWithMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED with -short: conformance against moto not checked")
	}
	murl := motoenv.URL(t)
	ctx := context.Background()
	hc := awssim.NewHTTPClient()

	// moto, in an account of this test's own: other tests share the server
	mcfg, _ := motoenv.Account(t, ctx, murl, "us-east-1")
	mraw := &rawRecorder{next: hc}
	mec2 := ec2.NewFromConfig(mcfg, func(o *ec2.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(murl), mraw })
	masg := autoscaling.NewFromConfig(mcfg, func(o *autoscaling.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(murl), mraw })
	moto := runConformance(t, ctx, mec2, masg, "amazon", func() {})
	maps.Copy(moto, runFidelity(t, ctx, mec2, masg, mraw, moto["image"], func() {}))

	// awssim: AMIs loaded through the Go API, everything else through the SDK
	e := simtest.New(t, awssim.Options{LaunchDelay: -1, TerminateDelay: 5 * time.Second}, &awssim.Scenario{AMIs: []awssim.AMISpec{{ID: "ami-0a1b2c3d4e5f60001", Name: "conf-image", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}}}})
	sraw := &rawRecorder{next: hc}
	sec2 := ec2.NewFromConfig(simtest.SDKConfig(t, ctx), func(o *ec2.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(e.URL), sraw })
	sasg := autoscaling.NewFromConfig(simtest.SDKConfig(t, ctx), func(o *autoscaling.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(e.URL), sraw })
	settle := func() { e.Clock.Advance(10 * time.Second) }
	sim := runConformance(t, ctx, sec2, sasg, "self", settle)
	maps.Copy(sim, runFidelity(t, ctx, sec2, sasg, sraw, sim["image"], settle))
	delete(moto, "image") // awssim.AMI ids are the endpoints' own
	delete(sim, "image")

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
