package autoscaling

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func groupTagMatch(g *fleet.Group, fl wire.Filter) bool {
	return slices.ContainsFunc(g.Tags, func(t fleet.GroupTag) bool {
		switch {
		case strings.HasPrefix(fl.Name, "tag:"):
			return t.Key == fl.Name[4:] && slices.Contains(fl.Values, t.Value)
		case fl.Name == "tag-key":
			return slices.Contains(fl.Values, t.Key)
		case fl.Name == "tag-value":
			return slices.Contains(fl.Values, t.Value)
		}
		return false
	})
}

func (s *Service) describeGroups(req *wire.Request) ([]byte, *wire.Error) {
	names := wire.QueryList(req.Form, "AutoScalingGroupNames")
	max, err := maxRecords(req, 100, 50)
	if err != nil {
		return nil, err
	}
	fs := wire.QueryFilters(req.Form)
	for _, fl := range fs {
		if !(strings.HasPrefix(fl.Name, "tag:") || fl.Name == "tag-key" || fl.Name == "tag-value") {
			return nil, validation("Filter name '%s' is not valid. Valid filter names are: tag-key, tag-value, tag:<key>.", fl.Name)
		}
	}
	cur, err := s.cursor(req, "DASG")
	if err != nil {
		return nil, err
	}
	includeInstances := req.Form.Get("IncludeInstances") != "false"
	f := s.f
	f.RLock()
	defer f.RUnlock()
	sel := f.GroupsLocked()
	if len(names) > 0 {
		sel = nil
		for _, n := range names {
			if g := f.GroupLocked(n); g != nil {
				sel = append(sel, g)
			}
		}
		sort.Slice(sel, func(i, j int) bool { return sel[i].Name < sel[j].Name })
	}
	var out []*fleet.Group
	for _, g := range sel {
		if !slices.ContainsFunc(fs, func(fl wire.Filter) bool { return !groupTagMatch(g, fl) }) {
			out = append(out, g)
		}
	}
	page, next := wire.Page(cur, out, max)
	var b wire.XML
	wire.MemberList(&b, "AutoScalingGroups", page, func(b *wire.XML, g *fleet.Group) { s.renderGroup(b, g, includeInstances) })
	b.Opt("NextToken", next)
	return b.Bytes(), nil
}

func (s *Service) renderLTSpec(b *wire.XML, id, version string) {
	b.Open("LaunchTemplate")
	b.El("LaunchTemplateId", id)
	if lt := s.f.LaunchTemplateLocked(id); lt != nil {
		b.El("LaunchTemplateName", lt.Name)
	}
	b.El("Version", version)
	b.Close("LaunchTemplate")
}

// renderMember writes a group member as DescribeAutoScalingGroups lists it
// or, asInstance, as DescribeAutoScalingInstances does (with its group, and
// the health status in capitals).
func (s *Service) renderMember(b *wire.XML, m *fleet.Instance, asInstance bool) {
	b.El("InstanceId", m.ID)
	b.El("InstanceType", m.InstanceType)
	health := m.Health
	if asInstance {
		b.El("AutoScalingGroupName", m.Group)
		health = strings.ToUpper(health)
	}
	b.El("AvailabilityZone", m.AZ)
	b.El("LifecycleState", m.Lifecycle)
	b.El("HealthStatus", health)
	s.renderLTSpec(b, m.LTID, strconv.Itoa(m.LTVersion))
	b.Bool("ProtectedFromScaleIn", m.Protected)
}

func (s *Service) renderGroup(b *wire.XML, g *fleet.Group, instances bool) {
	b.El("AutoScalingGroupName", g.Name)
	b.El("AutoScalingGroupARN", g.ARN)
	s.renderLTSpec(b, g.LTID, g.LTVersion)
	b.Int("MinSize", g.Min)
	b.Int("MaxSize", g.Max)
	b.Int("DesiredCapacity", g.Desired)
	b.Int("DefaultCooldown", g.DefaultCooldown)
	b.Open("AvailabilityZones")
	for _, az := range g.AZs {
		b.El("member", az)
	}
	b.Close("AvailabilityZones")
	b.WriteString("<LoadBalancerNames/><TargetGroupARNs/>")
	b.El("HealthCheckType", g.HealthCheckType)
	b.Int("HealthCheckGracePeriod", g.Grace)
	if instances {
		wire.MemberList(b, "Instances", g.Members(), func(b *wire.XML, m *fleet.Instance) { s.renderMember(b, m, false) })
	}
	b.Time("CreatedTime", g.Created)
	procs := make([]string, 0, len(g.Suspended))
	for p := range g.Suspended {
		procs = append(procs, p)
	}
	sort.Strings(procs)
	wire.MemberList(b, "SuspendedProcesses", procs, func(b *wire.XML, p string) {
		b.El("ProcessName", p)
		b.El("SuspensionReason", g.Suspended[p])
	})
	b.Opt("VPCZoneIdentifier", g.VPCZoneIdentifier)
	b.WriteString("<EnabledMetrics/>")
	wire.MemberList(b, "Tags", g.Tags, func(b *wire.XML, t fleet.GroupTag) {
		b.El("ResourceId", g.Name)
		b.El("ResourceType", "auto-scaling-group")
		b.El("Key", t.Key)
		b.El("Value", t.Value)
		b.Bool("PropagateAtLaunch", t.PropagateAtLaunch)
	})
	b.WriteString("<TerminationPolicies><member>Default</member></TerminationPolicies>")
	b.Bool("NewInstancesProtectedFromScaleIn", g.NewInstancesProtected)
	b.El("ServiceLinkedRoleARN", "arn:aws:iam::"+s.options().AccountID+":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
	b.Bool("CapacityRebalance", false)
}

func (s *Service) describeInstances(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.QueryList(req.Form, "InstanceIds")
	if len(ids) > 50 {
		return nil, validation("The number of instance ids that may be passed in is limited to 50")
	}
	max, cur, err := s.page(req, "DASI", 50, 50)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	var sel []*fleet.Instance
	inGroup := func(in *fleet.Instance) bool {
		return in != nil && in.Group != "" && in.Lifecycle != fleet.LCTerminated
	}
	if len(ids) > 0 {
		for _, id := range ids {
			if in := f.InstanceLocked(id); inGroup(in) {
				sel = append(sel, in)
			}
		}
	} else {
		for _, in := range f.InstancesLocked() {
			if inGroup(in) {
				sel = append(sel, in)
			}
		}
	}
	page, next := wire.Page(cur, sel, max)
	var b wire.XML
	wire.MemberList(&b, "AutoScalingInstances", page, func(b *wire.XML, m *fleet.Instance) { s.renderMember(b, m, true) })
	b.Opt("NextToken", next)
	return b.Bytes(), nil
}

func (s *Service) renderActivity(b *wire.XML, a *fleet.Activity) {
	o := s.options()
	b.El("ActivityId", a.ID)
	b.El("AutoScalingGroupName", a.Group)
	b.El("Description", a.Description)
	b.El("Cause", a.Cause)
	b.Time("StartTime", a.Start)
	if !a.End.IsZero() {
		b.Time("EndTime", a.End)
	}
	b.El("StatusCode", a.Status)
	p := 0
	if a.Status == "Successful" {
		p = 100
	}
	b.Int("Progress", p)
	b.El("Details", `{"Subnet ID":"subnet-0","Availability Zone":"`+o.Region+`a"}`)
	b.El("AutoScalingGroupARN", "arn:aws:autoscaling:"+o.Region+":"+o.AccountID+":autoScalingGroup:"+a.Group)
}

func (s *Service) describeScalingActivities(req *wire.Request) ([]byte, *wire.Error) {
	name := req.Form.Get("AutoScalingGroupName")
	ids := wire.QueryList(req.Form, "ActivityIds")
	max, cur, err := s.page(req, "DSA", 100, 100)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	var sel []*fleet.Activity
	for _, g := range f.GroupsLocked() {
		if name != "" && g.Name != name {
			continue
		}
		for _, a := range g.Activities() {
			if len(ids) == 0 || slices.Contains(ids, a.ID) {
				sel = append(sel, a)
			}
		}
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Start.After(sel[j].Start) })
	page, next := wire.Page(cur, sel, max)
	var b wire.XML
	wire.MemberList(&b, "Activities", page, s.renderActivity)
	b.Opt("NextToken", next)
	return b.Bytes(), nil
}

func (s *Service) describeInstanceRefreshes(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids := wire.QueryList(req.Form, "InstanceRefreshIds")
	max, cur, err := s.page(req, "DIR", 100, 50)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	var sel []*fleet.Refresh
	if g := f.GroupLocked(name); g != nil {
		rs := g.Refreshes()
		for i := len(rs) - 1; i >= 0; i-- { // newest first
			if len(ids) == 0 || slices.Contains(ids, rs[i].ID) {
				sel = append(sel, rs[i])
			}
		}
	}
	page, next := wire.Page(cur, sel, max)
	var b wire.XML
	wire.MemberList(&b, "InstanceRefreshes", page, s.renderRefresh)
	b.Opt("NextToken", next)
	return b.Bytes(), nil
}

func (s *Service) renderRefresh(b *wire.XML, r *fleet.Refresh) {
	b.El("InstanceRefreshId", r.ID)
	b.El("AutoScalingGroupName", r.Group)
	b.El("Status", r.Status)
	b.Opt("StatusReason", r.StatusReason)
	b.Time("StartTime", r.Start)
	if !r.End.IsZero() {
		b.Time("EndTime", r.End)
	}
	b.Int("PercentageComplete", r.Percent())
	left := r.InstancesToUpdate()
	b.Int("InstancesToUpdate", left)
	b.WriteString("<ProgressDetails><LivePoolProgress>")
	b.Int("PercentageComplete", r.Percent())
	b.Int("InstancesToUpdate", left)
	b.WriteString("</LivePoolProgress></ProgressDetails>")
	b.Open("Preferences")
	b.Int("MinHealthyPercentage", r.MinHealthy)
	b.Int("MaxHealthyPercentage", r.MaxHealthy)
	b.Int("InstanceWarmup", int(r.Warmup/time.Second))
	b.Bool("SkipMatching", r.SkipMatching)
	b.Bool("AutoRollback", false)
	b.El("ScaleInProtectedInstances", r.ProtectedPref)
	b.El("StandbyInstances", r.StandbyPref)
	b.Close("Preferences")
	if r.DesiredLTID != "" {
		b.Open("DesiredConfiguration")
		s.renderLTSpec(b, r.DesiredLTID, r.DesiredVersion)
		b.Close("DesiredConfiguration")
	}
	b.El("Strategy", "Rolling")
}

func (s *Service) describeLifecycleHooks(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	g, err := group(f, name)
	if err != nil {
		return nil, err
	}
	var b wire.XML
	wire.MemberList(&b, "LifecycleHooks", g.Hooks, func(b *wire.XML, h fleet.Hook) {
		b.El("LifecycleHookName", h.Name)
		b.El("AutoScalingGroupName", g.Name)
		b.El("LifecycleTransition", h.Transition)
		b.Int("HeartbeatTimeout", int(h.Timeout/time.Second))
		b.Int("GlobalTimeout", int(h.Timeout/time.Second)*100)
		b.El("DefaultResult", h.DefaultResult)
	})
	return b.Bytes(), nil
}
