package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestLoadScenarioFile(t *testing.T) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	if err := s.LoadScenarioFile("testdata/scenario.yaml"); err != nil {
		t.Fatal(err)
	}
	sm := s.Summary()
	if sm.AMIs != 2 || sm.Groups != 1 || sm.Instances != 6 || sm.Drifted != 2 || sm.AgentOffline != 1 {
		t.Fatalf("summary: %s", sm)
	}
	g, _ := s.Group("web")
	if g.LaunchTemplateVersion != "$Default" || len(g.Suspended) != 1 || g.Members[0].LaunchTemplateVersion != 1 {
		t.Fatalf("group: %+v", g)
	}
	m, err := s.Manifest("ami-0123456789abcdef0")
	if err != nil || !strings.Contains(string(m), `"ami_id": "ami-0123456789abcdef0"`) || !strings.Contains(string(m), `"epoch": "1"`) {
		t.Fatalf("manifest: %v %s", err, m[:200])
	}
	// Too large for a standard parameter: the parameter points at S3.
	p, ok := s.Parameter("/baselines/ami-0123456789abcdef0")
	want := "s3://" + awssim.ManifestBucket + "/manifests/ami-0123456789abcdef0.json"
	if len(m) <= fleet.StandardParameterLimit {
		want = string(m)
	}
	if !ok || p.Value != want {
		t.Fatalf("manifest not published to Parameter Store: %q", p.Value)
	}
	if len(m) > fleet.StandardParameterLimit {
		if got, ok := s.S3().Object(awssim.ManifestBucket, "manifests/ami-0123456789abcdef0.json"); !ok || string(got) != string(m) {
			t.Fatal("manifest not in the simulated S3 behind the parameter")
		}
	}
	bad := []struct{ yaml, want string }{
		{"amis:\n  - name: a\n    format: msi\n", `format "msi"`},
		{"amis:\n  - name: a\nlaunchTemplates:\n  - {name: t, versions: [b]}\n", `AMI "b" is not defined`},
		{"amis:\n  - name: a\nlaunchTemplates:\n  - {name: t, versions: [a]}\ngroups:\n  - {name: g, launchTemplate: t, min: 2, max: 1, desired: 1}\n", "desired capacity"},
		{"amis:\n  - name: a\n    id: ami-xyz\n", "not of the form"},
		{"amis:\n  - name: a\n    packages: [{name: x}]\n", "packages[0]: name and version are required"},
		{"drifts:\n  - {group: nope, index: 0, action: heal}\n", `group "nope" has no member 0`},
		{"amis: 5\n", "cannot unmarshal"},
		{"amis:\n  - name: a\n    manifestFormat: spdx\n", `manifestFormat "spdx" is not native or cyclonedx`},
		{"amis:\n  - name: a\n    architecture: aarch64\n", `architecture "aarch64" is not x86_64, arm64 or i386`},
		{"amis:\n  - {name: a, architecture: arm64}\nlaunchTemplates:\n  - {name: t, instanceType: m7i.large, versions: [a]}\n",
			"launchTemplates[0] (t): instance type m7i.large runs x86_64, AMI a"},
		{"amis:\n  - {name: a}\ninstances:\n  - {name: b, ami: a, instanceType: t4g.small}\n", "instances[0] (b): instance type t4g.small runs arm64, AMI a"},
	}
	for _, b := range bad {
		sc, err := awssim.ParseScenario([]byte(b.yaml))
		if err == nil {
			err = s.LoadScenario(sc)
		}
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("scenario %q: error %v, want %q", b.yaml, err, b.want)
		}
	}
}

func TestInjectionVisibleThroughSDK(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	id := e.Sim.GroupMembers("web")[7]
	pkg := func(name string) map[string]string {
		all, _, _ := simtest.ListAll(t, e, id, awssim.TypeApplication, 50)
		for _, en := range all {
			if en["Name"] == name {
				return en
			}
		}
		return nil
	}
	base := pkg("bash")
	steps := []struct {
		d     awssim.Drift
		check func() bool
	}{
		{awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "telnet", Version: "0.17", Release: "85.amzn2023"}}, func() bool { return pkg("telnet") != nil }},
		{awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "telnet"}}, func() bool { return pkg("telnet") == nil }},
		{awssim.Drift{Action: awssim.DriftDowngrade, Package: &awssim.PackageSpec{Name: "bash", Version: "0.0.1", Release: "1"}}, func() bool { return pkg("bash")["Version"] == "0.0.1" }},
		{awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/sudoers", SHA256: "ffff", Size: 1}}, func() bool {
			out, _ := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeFileDigest)})
			for _, en := range out.Entries {
				if en["Path"] == "/etc/sudoers" {
					return en["SHA256"] == "ffff" && len(out.Entries) == 3
				}
			}
			return false
		}},
		{awssim.Drift{Action: awssim.DriftAgentOff}, func() bool {
			out, _ := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{Filters: nil, MaxResults: aws.Int32(50)})
			for _, ii := range out.InstanceInformationList {
				if *ii.InstanceId == id {
					return ii.PingStatus == "ConnectionLost"
				}
			}
			return false
		}},
		{awssim.Drift{Action: awssim.DriftHeal}, func() bool {
			p := pkg("bash")
			return p != nil && p["Version"] == base["Version"] && pkg("telnet") == nil
		}},
	}
	for i, st := range steps {
		if err := e.Sim.Inject(id, st.d); err != nil {
			t.Fatalf("step %d (%s): %v", i, st.d.Action, err)
		}
		if !st.check() {
			t.Fatalf("step %d (%s) not visible through the API", i, st.d.Action)
		}
	}
	if err := e.Sim.Inject(id, awssim.Drift{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "not-installed", Version: "1"}}); err == nil {
		t.Fatal("upgrade of a missing package accepted")
	}
	if err := e.Sim.Inject("i-0123456789abcdef0", awssim.Drift{Action: awssim.DriftHeal}); err == nil {
		t.Fatal("unknown instance accepted")
	}
	// the AMI baseline itself is untouched (shared content, not copied)
	other := e.Sim.GroupMembers("web")[8]
	all, _, _ := simtest.ListAll(t, e, other, awssim.TypeApplication, 50)
	if len(all) != 420 {
		t.Fatalf("baseline changed: %d", len(all))
	}
}

// TestRemainingOperations exercises the operations not covered elsewhere
// through the SDK.
func TestRemainingOperations(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: -1, TerminateDelay: -1}, awssim.DemoScenario())
	lts, err := e.EC2.DescribeLaunchTemplates(e.Ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web"}})
	if err != nil || len(lts.LaunchTemplates) != 1 || *lts.LaunchTemplates[0].LatestVersionNumber != 1 {
		t.Fatalf("DescribeLaunchTemplates: %v", err)
	}
	v, err := e.EC2.CreateLaunchTemplateVersion(e.Ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0a1b2c3d4e5f60003")}})
	if err != nil || *v.LaunchTemplateVersion.VersionNumber != 2 || v.LaunchTemplateVersion.LaunchTemplateData.InstanceType != "m7i.large" {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	if _, err := e.EC2.ModifyLaunchTemplate(e.Ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	// a scale-out now launches from the new default version
	if _, err := e.ASG.UpdateAutoScalingGroup(e.Ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(13)}); err != nil {
		t.Fatal(err)
	}
	ids := e.Sim.GroupMembers("web")
	if in, _ := e.Sim.Instance(ids[len(ids)-1]); in.ImageID != "ami-0a1b2c3d4e5f60003" || in.LaunchTemplateVersion != 2 {
		t.Fatalf("new member: %+v", in)
	}
	// lifecycle hooks via the API
	if _, err := e.ASG.PutLifecycleHook(e.Ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("api"), LifecycleHookName: aws.String("backup"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_TERMINATING"), HeartbeatTimeout: aws.Int32(60)}); err != nil {
		t.Fatal(err)
	}
	hooks, err := e.ASG.DescribeLifecycleHooks(e.Ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("api")})
	if err != nil || len(hooks.LifecycleHooks) != 1 || *hooks.LifecycleHooks[0].HeartbeatTimeout != 60 {
		t.Fatalf("DescribeLifecycleHooks: %v", err)
	}
	// group tags: delete
	if _, err := e.ASG.DeleteTags(e.Ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("web"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	// delete a group with instances: refused without ForceDelete
	_, err = e.ASG.DeleteAutoScalingGroup(e.Ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("worker")})
	if simtest.APICode(err) != "ResourceInUse" {
		t.Fatalf("delete without force: %v", err)
	}
	if _, err := e.ASG.DeleteAutoScalingGroup(e.Ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("worker"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	out, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(out.AutoScalingGroups) != 5 {
		t.Fatalf("after delete: %v", err)
	}
	// SSM schema and parameter deletion
	sc, err := e.SSM.GetInventorySchema(e.Ctx, &ssm.GetInventorySchemaInput{TypeName: aws.String("Custom:")})
	if err != nil || len(sc.Schemas) != 2 {
		t.Fatalf("GetInventorySchema: %v", err)
	}
	if _, err := e.SSM.DeleteParameter(e.Ctx, &ssm.DeleteParameterInput{Name: aws.String("/driftd/kill-switch")}); err != nil {
		t.Fatal(err)
	}
	// DescribeImages pages
	p := ec2.NewDescribeImagesPaginator(e.EC2, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5)})
	n := 0
	for p.HasMorePages() {
		o, err := p.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(o.Images)
	}
	if n != 7 {
		t.Fatalf("images %d", n)
	}
}
