package remediation

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/drift"
)

// AutoScalingAPI holds the Auto Scaling calls remediation uses
// (*autoscaling.Client satisfies it).
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, params *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeAutoScalingInstances(ctx context.Context, params *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error)
	DescribeInstanceRefreshes(ctx context.Context, params *autoscaling.DescribeInstanceRefreshesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error)
	SetInstanceHealth(ctx context.Context, params *autoscaling.SetInstanceHealthInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceHealthOutput, error)
	TerminateInstanceInAutoScalingGroup(ctx context.Context, params *autoscaling.TerminateInstanceInAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
	StartInstanceRefresh(ctx context.Context, params *autoscaling.StartInstanceRefreshInput, optFns ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error)
	CreateOrUpdateTags(ctx context.Context, params *autoscaling.CreateOrUpdateTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	DeleteTags(ctx context.Context, params *autoscaling.DeleteTagsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
}

// EC2API holds the EC2 calls remediation uses (*ec2.Client satisfies it).
type EC2API interface {
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	CreateTags(ctx context.Context, params *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, params *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
}

// SSMAPI holds the SSM call the kill switch uses (*ssm.Client satisfies it).
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// InstanceInfo is what EC2 says about one instance.
type InstanceInfo struct {
	ID         string
	State      string // pending, running, shutting-down, terminated, ...
	LaunchTime time.Time
	Tags       map[string]string
}

// Member is one DescribeAutoScalingInstances record.
type Member struct {
	InstanceID     string
	Group          string
	LifecycleState string
	HealthStatus   string
}

// RefreshInfo is one instance refresh.
type RefreshInfo struct {
	ID     string
	Status string
}

// Active reports whether the refresh still occupies the group.
func (r RefreshInfo) Active() bool {
	switch r.Status {
	case "Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking":
		return true
	}
	return false
}

// Reader is the read-only view of the region the engine needs.
//
// DescribeGroups and DescribeInstances batch their keys; a failed call
// fails only the keys it should have covered. They return what was read,
// and per group name (instance id) the error of the call that should have
// covered it. A key in neither map does not exist.
type Reader interface {
	DescribeGroups(ctx context.Context, names []string) (facts map[string]GroupFacts, failed map[string]error)
	DescribeInstances(ctx context.Context, ids []string) (infos map[string]InstanceInfo, failed map[string]error)
	DescribeMember(ctx context.Context, id string) (Member, bool, error)
	Refreshes(ctx context.Context, group string) ([]RefreshInfo, error)
}

// Executor performs mutating calls. DryRun decorates one and calls none.
type Executor interface {
	// Replace starts the action; it returns the refresh id for an instance refresh.
	Replace(ctx context.Context, a Action) (refreshID string, err error)
	// Tag applies a tag change to an instance.
	Tag(ctx context.Context, tc TagChange) error
	// TagGroup sets and deletes (non-propagating) tags on an Auto Scaling group.
	TagGroup(ctx context.Context, group string, set map[string]string, del []string) error
}

// AWS implements Reader and Executor with aws-sdk-go-v2 clients.
type AWS struct {
	AutoScaling AutoScalingAPI
	EC2         EC2API
}

var (
	_ Reader   = (*AWS)(nil)
	_ Executor = (*AWS)(nil)
)

// groupsPerCall is how many names one DescribeAutoScalingGroups call asks
// for (the API's MaxRecords limit).
const groupsPerCall = 100

// DescribeGroups describes the named groups, groupsPerCall names (sorted)
// per call. Missing groups are absent from both results; a failed call
// fails the names of its batch that no earlier page returned.
func (c *AWS) DescribeGroups(ctx context.Context, names []string) (map[string]GroupFacts, map[string]error) {
	out := map[string]GroupFacts{}
	failed := map[string]error{}
	names = uniqSorted(names)
	for start := 0; start < len(names); start += groupsPerCall {
		batch := names[start:min(len(names), start+groupsPerCall)]
		var token *string
		for page := 0; page < 100; page++ {
			resp, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
				AutoScalingGroupNames: batch, MaxRecords: aws.Int32(groupsPerCall), NextToken: token})
			if err != nil {
				err = fmt.Errorf("autoscaling DescribeAutoScalingGroups (%d groups from %s): %w", len(batch), batch[0], err)
				for _, n := range batch {
					if _, ok := out[n]; !ok {
						failed[n] = err
					}
				}
				break
			}
			for _, g := range resp.AutoScalingGroups {
				f := GroupFacts{Name: aws.ToString(g.AutoScalingGroupName), Desired: int(aws.ToInt32(g.DesiredCapacity)), Tags: map[string]string{}}
				for _, m := range g.Instances {
					f.Instances = append(f.Instances, GroupInstance{ID: aws.ToString(m.InstanceId), LifecycleState: string(m.LifecycleState), HealthStatus: aws.ToString(m.HealthStatus)})
				}
				for _, t := range g.Tags {
					f.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				for _, p := range g.SuspendedProcesses {
					f.SuspendedProcesses = append(f.SuspendedProcesses, aws.ToString(p.ProcessName))
				}
				out[f.Name] = f
			}
			token = resp.NextToken
			if token == nil || *token == "" {
				break
			}
		}
	}
	return out, failed
}

// instancesPerCall is how many ids one DescribeInstances call filters on
// (the API accepts at most 200 filter values).
const instancesPerCall = 200

// DescribeInstances returns tags, state and launch time per instance,
// instancesPerCall ids per call in the order given (the engine passes them
// group by group, so a failed call fails as few groups as possible). A
// failed call fails the ids of its batch that no earlier page returned.
func (c *AWS) DescribeInstances(ctx context.Context, ids []string) (map[string]InstanceInfo, map[string]error) {
	out := map[string]InstanceInfo{}
	failed := map[string]error{}
	ids = uniq(ids)
	for start := 0; start < len(ids); start += instancesPerCall {
		batch := ids[start:min(len(ids), start+instancesPerCall)]
		var token *string
		for page := 0; page < 100; page++ {
			resp, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
				Filters:   []ec2types.Filter{{Name: aws.String("instance-id"), Values: batch}},
				NextToken: token})
			if err != nil {
				err = fmt.Errorf("ec2 DescribeInstances (%d instances from %s): %w", len(batch), batch[0], err)
				for _, id := range batch {
					if _, ok := out[id]; !ok {
						failed[id] = err
					}
				}
				break
			}
			for _, r := range resp.Reservations {
				for _, in := range r.Instances {
					info := InstanceInfo{ID: aws.ToString(in.InstanceId), LaunchTime: aws.ToTime(in.LaunchTime), Tags: map[string]string{}}
					if in.State != nil {
						info.State = string(in.State.Name)
					}
					for _, t := range in.Tags {
						info.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
					}
					out[info.ID] = info
				}
			}
			token = resp.NextToken
			if token == nil || *token == "" {
				break
			}
		}
	}
	return out, failed
}

// DescribeMember looks the instance up with DescribeAutoScalingInstances.
func (c *AWS) DescribeMember(ctx context.Context, id string) (Member, bool, error) {
	resp, err := c.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return Member{}, false, fmt.Errorf("autoscaling DescribeAutoScalingInstances %s: %w", id, err)
	}
	for _, m := range resp.AutoScalingInstances {
		if aws.ToString(m.InstanceId) == id {
			return Member{InstanceID: id, Group: aws.ToString(m.AutoScalingGroupName), LifecycleState: aws.ToString(m.LifecycleState), HealthStatus: aws.ToString(m.HealthStatus)}, true, nil
		}
	}
	return Member{}, false, nil
}

// Refreshes lists the group's recent instance refreshes (first page, newest first).
func (c *AWS) Refreshes(ctx context.Context, group string) ([]RefreshInfo, error) {
	resp, err := c.AutoScaling.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group), MaxRecords: aws.Int32(100)})
	if err != nil {
		return nil, fmt.Errorf("autoscaling DescribeInstanceRefreshes %s: %w", group, err)
	}
	var out []RefreshInfo
	for _, r := range resp.InstanceRefreshes {
		out = append(out, RefreshInfo{ID: aws.ToString(r.InstanceRefreshId), Status: string(r.Status)})
	}
	return out, nil
}

// Replace performs the action through Auto Scaling.
func (c *AWS) Replace(ctx context.Context, a Action) (string, error) {
	switch a.Kind {
	case ActionSetInstanceHealth:
		_, err := c.AutoScaling.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{
			InstanceId: aws.String(a.InstanceID), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
		if err != nil {
			return "", fmt.Errorf("autoscaling SetInstanceHealth %s: %w", a.InstanceID, err)
		}
		return "", nil
	case ActionTerminate:
		_, err := c.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(a.InstanceID), ShouldDecrementDesiredCapacity: aws.Bool(false)})
		if err != nil {
			return "", fmt.Errorf("autoscaling TerminateInstanceInAutoScalingGroup %s: %w", a.InstanceID, err)
		}
		return "", nil
	case ActionInstanceRefresh:
		resp, err := c.AutoScaling.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
			AutoScalingGroupName: aws.String(a.Group),
			Strategy:             astypes.RefreshStrategyRolling,
			Preferences: &astypes.RefreshPreferences{
				MinHealthyPercentage: aws.Int32(int32(a.MinHealthyPercentage)),
				SkipMatching:         aws.Bool(true),
			}})
		if err != nil {
			return "", fmt.Errorf("autoscaling StartInstanceRefresh %s: %w", a.Group, err)
		}
		return aws.ToString(resp.InstanceRefreshId), nil
	}
	return "", fmt.Errorf("unknown action %q", a.Kind)
}

// Tag applies CreateTags then DeleteTags.
func (c *AWS) Tag(ctx context.Context, tc TagChange) error {
	if len(tc.Set) > 0 {
		var tags []ec2types.Tag
		for _, k := range sortedKeys(tc.Set) {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tc.Set[k])})
		}
		if _, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{tc.InstanceID}, Tags: tags}); err != nil {
			return fmt.Errorf("ec2 CreateTags %s: %w", tc.InstanceID, err)
		}
	}
	if len(tc.Delete) > 0 {
		var tags []ec2types.Tag
		for _, k := range tc.Delete {
			tags = append(tags, ec2types.Tag{Key: aws.String(k)})
		}
		if _, err := c.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{tc.InstanceID}, Tags: tags}); err != nil {
			return fmt.Errorf("ec2 DeleteTags %s: %w", tc.InstanceID, err)
		}
	}
	return nil
}

// TagGroup writes non-propagating group tags.
func (c *AWS) TagGroup(ctx context.Context, group string, set map[string]string, del []string) error {
	if len(set) > 0 {
		var tags []astypes.Tag
		for _, k := range sortedKeys(set) {
			tags = append(tags, astypes.Tag{Key: aws.String(k), Value: aws.String(set[k]), ResourceId: aws.String(group),
				ResourceType: aws.String("auto-scaling-group"), PropagateAtLaunch: aws.Bool(false)})
		}
		if _, err := c.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: tags}); err != nil {
			return fmt.Errorf("autoscaling CreateOrUpdateTags %s: %w", group, err)
		}
	}
	if len(del) > 0 {
		var tags []astypes.Tag
		for _, k := range del {
			tags = append(tags, astypes.Tag{Key: aws.String(k), ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group")})
		}
		if _, err := c.AutoScaling.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: tags}); err != nil {
			return fmt.Errorf("autoscaling DeleteTags %s: %w", group, err)
		}
	}
	return nil
}

// ErrDryRun is returned by the DryRun executor instead of acting.
var ErrDryRun = errors.New("dry run: no action taken")

// uniq drops empty and repeated strings, keeping the first occurrence's order.
func uniq(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func uniqSorted(in []string) []string {
	m := map[string]bool{}
	for _, s := range in {
		if s != "" {
			m[s] = true
		}
	}
	return sortedKeys(m)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatInFlight renders the group's in-flight set for the driftd:inflight
// tag: "<instance>@<RFC3339>" or "refresh:<id>@<RFC3339>", joined by ","
// (5 entries fit the 256-character tag value limit).
func formatInFlight(recs []InFlight) string {
	var parts []string
	for _, r := range recs {
		key := r.InstanceID
		if r.Kind == ActionInstanceRefresh {
			key = "refresh:" + r.RefreshID
		}
		parts = append(parts, key+"@"+r.Started.UTC().Format(time.RFC3339))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// parseInFlight reads the driftd:inflight tag; malformed entries are
// returned as errors and skipped. Instance entries get the given kind
// (the kind does not change how a replacement is tracked).
func parseInFlight(group, v string, kind ActionKind) ([]InFlight, []error) {
	var out []InFlight
	var errs []error
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		key, ts, ok := strings.Cut(p, "@")
		at, err := time.Parse(time.RFC3339, ts)
		if !ok || err != nil || key == "" {
			errs = append(errs, fmt.Errorf("group %s tag %s: malformed entry %q", group, drift.TagInFlight, p))
			continue
		}
		r := InFlight{Group: group, Kind: kind, Started: at, InstanceID: key}
		if id, ok := strings.CutPrefix(key, "refresh:"); ok {
			r.Kind, r.RefreshID, r.InstanceID = ActionInstanceRefresh, id, ""
		}
		out = append(out, r)
	}
	return out, errs
}

// formatFailures renders the driftd:failures group tag "<n>@<RFC3339>".
func formatFailures(h GroupHistory) string {
	return fmt.Sprintf("%d@%s", h.ConsecutiveFailures, h.LastFailure.UTC().Format(time.RFC3339))
}

func parseFailures(v string) (GroupHistory, bool) {
	n, ts, ok := strings.Cut(v, "@")
	if !ok {
		return GroupHistory{}, false
	}
	var h GroupHistory
	if _, err := fmt.Sscanf(n, "%d", &h.ConsecutiveFailures); err != nil || h.ConsecutiveFailures < 0 {
		return GroupHistory{}, false
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return GroupHistory{}, false
	}
	h.LastFailure = t
	return h, true
}
