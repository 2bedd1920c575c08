package collectors

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftd/driftd/drift"
)

// TagASG is the tag Auto Scaling puts on its instances. Of the others,
// discovery keeps only driftd's own (drift.TagPrefix).
const TagASG = "aws:autoscaling:groupName"

// ForeignControllerTagKeys are the tags Karpenter and EKS managed node
// groups put on the instances they own; discovery keeps them beside the
// driftd:* tags so that remediation never replaces such an instance behind
// its controller's back (remediation.ForeignControllers names the
// controllers; a test keeps the lists equal).
var ForeignControllerTagKeys = []string{
	"karpenter.sh/nodepool", "karpenter.sh/provisioner-name", "karpenter.sh/nodeclaim", "karpenter.sh/managed-by",
	"eks:nodegroup-name", "eks:cluster-name", "aws:eks:cluster-name",
}

// Selection chooses the instances a scan covers.
type Selection struct {
	Tags              map[string][]string // EC2 tag filters (values may use EC2 wildcards)
	ASGNames          []string            // globs; empty = every group
	IncludeStandalone bool
	InstanceIDs       []string // restrict to these instances (driftd scan --instance)
}

// Instance is one discovered instance, already converted from SDK types.
type Instance struct {
	ID string
	// AMI is the AMI the root volume runs: the ASG's ImageId when Auto
	// Scaling reports one (root-volume replacement), else EC2's ImageId.
	AMI string
	// LaunchAMI is EC2's ImageId (the AMI the instance was launched from).
	LaunchAMI string
	ASG       string
	// LaunchTemplateAMI is the AMI the instance's ASG launches now ("" when
	// unknown or not in a group).
	LaunchTemplateAMI string
	LaunchTime        time.Time
	// Tags holds only the driftd:* tags and the ForeignControllerTagKeys.
	Tags map[string]string
	// Agent is the SSM agent's status; nil when SSM does not know the instance.
	Agent *Agent
	// AgentMissing, when Agent is nil, says why SSM gave no agent status (not
	// listed, or named by InvalidInstanceId); "" when it was simply absent.
	AgentMissing string
	// Unknown, when set, says why this instance cannot be judged this scan.
	Unknown string
}

// Agent is the SSM agent's status for an instance.
type Agent struct {
	PingStatus   string
	LastPing     time.Time
	AgentVersion string
	PlatformType string
	PlatformName string
}

// AMIInfo describes an AMI as DescribeImages reports it.
type AMIInfo struct {
	ID   string
	Name string
	Tags map[string]string
}

// Group is an Auto Scaling group seen in discovery.
type Group struct {
	Name string
	// LaunchTemplateAMI is the AMI of the launch-template version the group
	// uses ("" when unknown: launch configuration, SSM-parameter AMI, error).
	LaunchTemplateAMI string
	// Problem says why LaunchTemplateAMI is unknown.
	Problem string
}

// Fleet is the result of discovery.
type Fleet struct {
	Instances []Instance
	Groups    map[string]*Group
	AMIs      map[string]AMIInfo
	// AgentLookup is how SSM agent status was read (AgentLookupList or
	// AgentLookupIDs).
	AgentLookup string
}

// Discovery finds the instances to scan. Each step is a collector of its
// own (see Steps); a failing step marks the affected instances unknown
// instead of failing the scan, except EC2 instance discovery itself.
type Discovery struct {
	EC2         EC2API
	AutoScaling AutoScalingAPI
	SSM         SSMAPI
	Recorder    Recorder
	// AgentLookup forces how SSM agent status is read: AgentLookupList or
	// AgentLookupIDs; "" (AgentLookupAuto) chooses per scan (see
	// chooseAgentLookup). Tests and cost measurements set it.
	AgentLookup string
}

// Collector names used in metrics.
const (
	CollectorEC2       = "ec2_instances"
	CollectorASG       = "autoscaling_groups"
	CollectorImages    = "ec2_images"
	CollectorSSMAgents = "ssm_agents"
	CollectorInventory = "ssm_inventory"
	CollectorBaselines = "baselines"
)

// Discover runs the discovery collectors and returns the fleet. The error is
// non-nil only when EC2 instance discovery failed (nothing can be scanned).
func (d *Discovery) Discover(ctx context.Context, sel Selection) (*Fleet, error) {
	rec := d.Recorder
	if rec == nil {
		rec = NopRecorder{}
	}
	var instances []Instance
	err := Run(rec, CollectorEC2, func() error {
		var err error
		instances, err = d.describeInstances(ctx, sel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("DescribeInstances: %w", err)
	}
	running := len(instances) // before the selection: an upper bound of the region's managed EC2 nodes
	f := &Fleet{Groups: map[string]*Group{}, AMIs: map[string]AMIInfo{}}

	// Auto Scaling: membership, per-instance ImageId, launch-template AMI.
	var groups []asgtypes.AutoScalingGroup
	asgErr := Run(rec, CollectorASG, func() error {
		var err error
		groups, err = d.describeGroups(ctx)
		if err != nil {
			return err
		}
		return d.resolveLaunchTemplates(ctx, groups, f)
	})
	instances = joinGroups(instances, groups, asgErr, sel, f)

	// AMI names and tags (for name-glob baseline lookups). Failure only
	// degrades name-based lookups.
	_ = Run(rec, CollectorImages, func() error {
		var err error
		f.AMIs, err = d.describeImages(ctx, instances)
		return err
	})
	for _, in := range instances {
		if _, ok := f.AMIs[in.AMI]; !ok {
			f.AMIs[in.AMI] = AMIInfo{ID: in.AMI}
		}
	}

	// SSM agent status. A problem with one instance (not registered,
	// terminated since DescribeInstances) never hides the others' status.
	lookup := d.AgentLookup
	if lookup == AgentLookupAuto {
		lookup = chooseAgentLookup(sel, running, len(instances))
	}
	var ar *AgentResult
	_ = Run(rec, CollectorSSMAgents, func() error {
		ar = d.describeAgents(ctx, instances, lookup)
		return ar.Err
	})
	f.AgentLookup = ar.Lookup
	joinAgents(instances, ar)
	sort.Slice(instances, func(i, j int) bool { return instances[i].ID < instances[j].ID })
	f.Instances = instances
	return f, nil
}

// joinGroups gives each instance its group (from its tag or the group's
// member list), the AMI Auto Scaling reports for it (root-volume
// replacement) and its group's launch-template AMI, and keeps the selected
// ones. When Auto Scaling discovery failed (asgErr), group members are
// unknown: their AMI and membership cannot be trusted.
func joinGroups(instances []Instance, groups []asgtypes.AutoScalingGroup, asgErr error, sel Selection, f *Fleet) []Instance {
	asgOfInstance := map[string]string{}
	asgImage := map[string]string{}
	for _, g := range groups {
		for _, gi := range g.Instances {
			id := aws.ToString(gi.InstanceId)
			asgOfInstance[id] = aws.ToString(g.AutoScalingGroupName)
			if gi.ImageId != nil {
				asgImage[id] = aws.ToString(gi.ImageId)
			}
		}
	}
	kept := instances[:0]
	for _, in := range instances {
		if in.ASG == "" {
			in.ASG = asgOfInstance[in.ID]
		}
		if !selected(in, sel) {
			continue
		}
		if in.ASG != "" {
			if asgErr != nil {
				in.Unknown = fmt.Sprintf("auto scaling discovery failed: %v", asgErr)
			} else if img := asgImage[in.ID]; img != "" {
				in.AMI = img
			}
			if g := f.Groups[in.ASG]; g != nil {
				in.LaunchTemplateAMI = g.LaunchTemplateAMI
			} else if asgErr == nil {
				f.Groups[in.ASG] = &Group{Name: in.ASG, Problem: "group not returned by DescribeAutoScalingGroups"}
			}
		}
		kept = append(kept, in)
	}
	return kept
}

// joinAgents gives each instance its SSM agent status, or why there is none.
func joinAgents(instances []Instance, ar *AgentResult) {
	for i := range instances {
		in := &instances[i]
		if a := ar.Agents[in.ID]; a != nil {
			in.Agent = a
			continue
		}
		if why, ok := ar.Failed[in.ID]; ok {
			if in.Unknown == "" {
				in.Unknown = "ssm agent discovery failed: " + why
			}
			continue
		}
		in.AgentMissing = ar.Missing[in.ID]
	}
}

func selected(in Instance, sel Selection) bool {
	if len(sel.InstanceIDs) > 0 {
		found := false
		for _, id := range sel.InstanceIDs {
			if id == in.ID {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if in.ASG == "" {
		return sel.IncludeStandalone || len(sel.InstanceIDs) > 0
	}
	if len(sel.ASGNames) == 0 {
		return true
	}
	for _, g := range sel.ASGNames {
		if ok, _ := path.Match(g, in.ASG); ok {
			return true
		}
	}
	return false
}

func (d *Discovery) describeInstances(ctx context.Context, sel Selection) ([]Instance, error) {
	in := &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}},
	}
	keys := make([]string, 0, len(sel.Tags))
	for k := range sel.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: sel.Tags[k]})
	}
	if len(sel.InstanceIDs) > 0 {
		in.InstanceIds = sel.InstanceIDs
	} else {
		in.MaxResults = aws.Int32(1000)
	}
	var out []Instance
	p := ec2.NewDescribeInstancesPaginator(d.EC2, in)
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 10000 {
			return nil, &InconsistentError{"DescribeInstances: paging did not end after 10000 pages"}
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				if i.State != nil && i.State.Name != ec2types.InstanceStateNameRunning {
					continue
				}
				x := Instance{ID: aws.ToString(i.InstanceId), LaunchAMI: aws.ToString(i.ImageId), LaunchTime: aws.ToTime(i.LaunchTime)}
				x.AMI = x.LaunchAMI
				for _, t := range i.Tags {
					k, v := aws.ToString(t.Key), aws.ToString(t.Value)
					if k == TagASG {
						x.ASG = v
					} else if strings.HasPrefix(k, drift.TagPrefix) || slices.Contains(ForeignControllerTagKeys, k) {
						if x.Tags == nil {
							x.Tags = map[string]string{}
						}
						x.Tags[k] = v
					}
				}
				out = append(out, x)
			}
		}
	}
	return out, nil
}

func (d *Discovery) describeGroups(ctx context.Context) ([]asgtypes.AutoScalingGroup, error) {
	var out []asgtypes.AutoScalingGroup
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(d.AutoScaling, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(100)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 1000 {
			return nil, &InconsistentError{"DescribeAutoScalingGroups: paging did not end after 1000 pages"}
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.AutoScalingGroups...)
	}
	return out, nil
}

// resolveLaunchTemplates finds each group's current launch-template AMI.
func (d *Discovery) resolveLaunchTemplates(ctx context.Context, groups []asgtypes.AutoScalingGroup, f *Fleet) error {
	type key struct{ id, name, version string }
	cache := map[key]string{}
	for _, g := range groups {
		name := aws.ToString(g.AutoScalingGroupName)
		grp := &Group{Name: name}
		f.Groups[name] = grp
		spec := g.LaunchTemplate
		if spec == nil && g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
			spec = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
		}
		if spec == nil {
			grp.Problem = "group uses no launch template (launch configurations are not resolved)"
			continue
		}
		k := key{aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.LaunchTemplateName), aws.ToString(spec.Version)}
		if k.version == "" {
			k.version = "$Default"
		}
		if ami, ok := cache[k]; ok {
			grp.LaunchTemplateAMI = ami
			continue
		}
		in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{k.version}}
		if k.id != "" {
			in.LaunchTemplateId = aws.String(k.id)
		} else {
			in.LaunchTemplateName = aws.String(k.name)
		}
		out, err := d.EC2.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			return fmt.Errorf("DescribeLaunchTemplateVersions for group %s: %w", name, err)
		}
		ami := ""
		if len(out.LaunchTemplateVersions) > 0 && out.LaunchTemplateVersions[0].LaunchTemplateData != nil {
			ami = aws.ToString(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
		}
		if !strings.HasPrefix(ami, "ami-") {
			// e.g. resolve:ssm:/parameter: not an AMI id we can compare.
			grp.Problem = fmt.Sprintf("launch template version %s has no literal AMI id (%q)", k.version, ami)
			ami = ""
		}
		cache[k] = ami
		grp.LaunchTemplateAMI = ami
	}
	return nil
}

func (d *Discovery) describeImages(ctx context.Context, instances []Instance) (map[string]AMIInfo, error) {
	set := map[string]bool{}
	for _, in := range instances {
		if in.AMI != "" {
			set[in.AMI] = true
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	res := map[string]AMIInfo{}
	for start := 0; start < len(ids); start += 100 {
		batch := ids[start:min(start+100, len(ids))]
		out, err := d.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: batch})
		if err != nil {
			return res, err
		}
		for _, im := range out.Images {
			info := AMIInfo{ID: aws.ToString(im.ImageId), Name: aws.ToString(im.Name)}
			for _, t := range im.Tags {
				if info.Tags == nil {
					info.Tags = map[string]string{}
				}
				info.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			res[info.ID] = info
		}
	}
	return res, nil
}
