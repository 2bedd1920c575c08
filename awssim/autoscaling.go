package awssim

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

type asgOp func(req *wire.Request) ([]byte, *wire.Error)

func (s *Sim) serveAutoScaling(w http.ResponseWriter, req *wire.Request) {
	ops := map[string]asgOp{
		"DescribeAutoScalingGroups":           s.asDescribeGroups,
		"DescribeAutoScalingInstances":        s.asDescribeInstances,
		"SetInstanceHealth":                   s.asSetInstanceHealth,
		"TerminateInstanceInAutoScalingGroup": s.asTerminateInstance,
		"SetInstanceProtection":               s.asSetInstanceProtection,
		"EnterStandby":                        s.asEnterStandby,
		"ExitStandby":                         s.asExitStandby,
		"StartInstanceRefresh":                s.asStartInstanceRefresh,
		"DescribeInstanceRefreshes":           s.asDescribeInstanceRefreshes,
		"CancelInstanceRefresh":               s.asCancelInstanceRefresh,
		"DescribeScalingActivities":           s.asDescribeScalingActivities,
		"CreateOrUpdateTags":                  s.asCreateOrUpdateTags,
		"DeleteTags":                          s.asDeleteTags,
		"SuspendProcesses":                    s.asSuspendProcesses,
		"ResumeProcesses":                     s.asResumeProcesses,
		"CreateAutoScalingGroup":              s.asCreateGroup,
		"UpdateAutoScalingGroup":              s.asUpdateGroup,
		"DeleteAutoScalingGroup":              s.asDeleteGroup,
		"PutLifecycleHook":                    s.asPutLifecycleHook,
		"DescribeLifecycleHooks":              s.asDescribeLifecycleHooks,
		"CompleteLifecycleAction":             s.asCompleteLifecycleAction,
		"RecordLifecycleActionHeartbeat":      s.asRecordHeartbeat,
	}
	op, ok := ops[req.Op]
	if !ok {
		wire.WriteError(w, req, wire.Errorf(400, "InvalidAction", "Could not find operation %s for version 2011-01-01", req.Op))
		return
	}
	body, err := op(req)
	if err != nil {
		wire.WriteError(w, req, err)
		return
	}
	wire.WriteQuery(w, req, body) // nil: an operation without output (no Result wrapper)
}

func validation(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "ValidationError", format, args...)
}

func asMaxRecords(req *wire.Request, hi, def int) (int, *wire.Error) {
	v := req.Form.Get("MaxRecords")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > hi {
		return 0, validation("1 validation error detected: Value '%s' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and %d", v, hi)
	}
	return n, nil
}

func (s *Sim) asToken(req *wire.Request, scope string) (int, *wire.Error) {
	t := req.Form.Get("NextToken")
	if t == "" {
		return 0, nil
	}
	o, ok := s.tok.Check(scope, t)
	if !ok {
		return 0, wire.Errorf(400, "InvalidNextToken", "The token '%s' is invalid.", t)
	}
	return o, nil
}

func requireParam(req *wire.Request, name string) (string, *wire.Error) {
	v := req.Form.Get(name)
	if v == "" {
		return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func group(f *fleet.Fleet, name string) (*Group, *wire.Error) {
	g := f.GroupLocked(name)
	if g == nil {
		return nil, validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	return g, nil
}

func member(f *fleet.Fleet, id string) (*Instance, *Group, *wire.Error) {
	in := f.InstanceLocked(id)
	if in == nil || in.Group == "" || in.Lifecycle == LCTerminated || f.GroupLocked(in.Group) == nil {
		return nil, nil, validation("Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	return in, f.GroupLocked(in.Group), nil
}

func groupTagMatch(g *Group, fl wire.Filter) bool {
	switch {
	case strings.HasPrefix(fl.Name, "tag:"):
		for _, t := range g.Tags {
			if t.Key == fl.Name[4:] && slices.Contains(fl.Values, t.Value) {
				return true
			}
		}
	case fl.Name == "tag-key":
		for _, t := range g.Tags {
			if slices.Contains(fl.Values, t.Key) {
				return true
			}
		}
	case fl.Name == "tag-value":
		for _, t := range g.Tags {
			if slices.Contains(fl.Values, t.Value) {
				return true
			}
		}
	}
	return false
}

func (s *Sim) asDescribeGroups(req *wire.Request) ([]byte, *wire.Error) {
	names := wire.QueryList(req.Form, "AutoScalingGroupNames")
	max, err := asMaxRecords(req, 100, 50)
	if err != nil {
		return nil, err
	}
	fs := wire.QueryFilters(req.Form)
	for _, fl := range fs {
		if !(strings.HasPrefix(fl.Name, "tag:") || fl.Name == "tag-key" || fl.Name == "tag-value") {
			return nil, validation("Filter name '%s' is not valid. Valid filter names are: tag-key, tag-value, tag:<key>.", fl.Name)
		}
	}
	off, err := s.asToken(req, "DASG|"+wire.Fingerprint(req.Form, "NextToken", "MaxRecords"))
	if err != nil {
		return nil, err
	}
	includeInstances := req.Form.Get("IncludeInstances") != "false"
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	var sel []*Group
	if len(names) > 0 {
		for _, n := range names {
			if g := f.GroupLocked(n); g != nil {
				sel = append(sel, g)
			}
		}
		sort.Slice(sel, func(i, j int) bool { return sel[i].Name < sel[j].Name })
	} else {
		sel = f.GroupsLocked()
	}
	var out []*Group
	for _, g := range sel {
		ok := true
		for _, fl := range fs {
			if !groupTagMatch(g, fl) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, g)
		}
	}
	off = min(off, len(out))
	end := min(off+max, len(out))
	var b wire.XML
	b.Open("AutoScalingGroups")
	for _, g := range out[off:end] {
		b.Open("member")
		s.renderGroup(&b, g, includeInstances)
		b.Close("member")
	}
	b.Close("AutoScalingGroups")
	if end < len(out) {
		b.El("NextToken", s.tok.Mint("DASG|"+wire.Fingerprint(req.Form, "NextToken", "MaxRecords"), end))
	}
	return b.Bytes(), nil
}

func (s *Sim) renderLTSpec(b *wire.XML, id, version string) {
	b.Open("LaunchTemplate")
	b.El("LaunchTemplateId", id)
	if lt := s.fleet.LaunchTemplateLocked(id); lt != nil {
		b.El("LaunchTemplateName", lt.Name)
	}
	b.El("Version", version)
	b.Close("LaunchTemplate")
}

func (s *Sim) renderGroup(b *wire.XML, g *Group, instances bool) {
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
		b.Open("Instances")
		for _, m := range g.Members() {
			b.Open("member")
			b.El("InstanceId", m.ID)
			b.El("InstanceType", m.InstanceType)
			b.El("AvailabilityZone", m.AZ)
			b.El("LifecycleState", m.Lifecycle)
			b.El("HealthStatus", m.Health)
			s.renderLTSpec(b, m.LTID, strconv.Itoa(m.LTVersion))
			b.Bool("ProtectedFromScaleIn", m.Protected)
			b.Close("member")
		}
		b.Close("Instances")
	}
	b.Time("CreatedTime", g.Created)
	b.Open("SuspendedProcesses")
	procs := make([]string, 0, len(g.Suspended))
	for p := range g.Suspended {
		procs = append(procs, p)
	}
	sort.Strings(procs)
	for _, p := range procs {
		b.Open("member")
		b.El("ProcessName", p)
		b.El("SuspensionReason", g.Suspended[p])
		b.Close("member")
	}
	b.Close("SuspendedProcesses")
	b.Opt("VPCZoneIdentifier", g.VPCZoneIdentifier)
	b.WriteString("<EnabledMetrics/>")
	b.Open("Tags")
	for _, t := range g.Tags {
		b.Open("member")
		b.El("ResourceId", g.Name)
		b.El("ResourceType", "auto-scaling-group")
		b.El("Key", t.Key)
		b.El("Value", t.Value)
		b.Bool("PropagateAtLaunch", t.PropagateAtLaunch)
		b.Close("member")
	}
	b.Close("Tags")
	b.WriteString("<TerminationPolicies><member>Default</member></TerminationPolicies>")
	b.Bool("NewInstancesProtectedFromScaleIn", g.NewInstancesProtected)
	b.El("ServiceLinkedRoleARN", "arn:aws:iam::"+s.opts.AccountID+":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
	b.Bool("CapacityRebalance", false)
}

func (s *Sim) asDescribeInstances(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.QueryList(req.Form, "InstanceIds")
	if len(ids) > 50 {
		return nil, validation("The number of instance ids that may be passed in is limited to 50")
	}
	max, err := asMaxRecords(req, 50, 50)
	if err != nil {
		return nil, err
	}
	scope := "DASI|" + wire.Fingerprint(req.Form, "NextToken", "MaxRecords")
	off, err := s.asToken(req, scope)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	var sel []*Instance
	if len(ids) > 0 {
		for _, id := range ids {
			if in := f.InstanceLocked(id); in != nil && in.Group != "" && in.Lifecycle != LCTerminated {
				sel = append(sel, in)
			}
		}
	} else {
		for _, in := range f.InstancesLocked() {
			if in.Group != "" && in.Lifecycle != LCTerminated {
				sel = append(sel, in)
			}
		}
	}
	off = min(off, len(sel))
	end := min(off+max, len(sel))
	var b wire.XML
	b.Open("AutoScalingInstances")
	for _, m := range sel[off:end] {
		b.Open("member")
		b.El("InstanceId", m.ID)
		b.El("InstanceType", m.InstanceType)
		b.El("AutoScalingGroupName", m.Group)
		b.El("AvailabilityZone", m.AZ)
		b.El("LifecycleState", m.Lifecycle)
		b.El("HealthStatus", strings.ToUpper(m.Health))
		s.renderLTSpec(&b, m.LTID, strconv.Itoa(m.LTVersion))
		b.Bool("ProtectedFromScaleIn", m.Protected)
		b.Close("member")
	}
	b.Close("AutoScalingInstances")
	if end < len(sel) {
		b.El("NextToken", s.tok.Mint(scope, end))
	}
	return b.Bytes(), nil
}

func (s *Sim) asSetInstanceHealth(req *wire.Request) ([]byte, *wire.Error) {
	id, err := requireParam(req, "InstanceId")
	if err != nil {
		return nil, err
	}
	hs, err := requireParam(req, "HealthStatus")
	if err != nil {
		return nil, err
	}
	if hs != "Healthy" && hs != "Unhealthy" {
		return nil, validation("Valid health status values are: Healthy, Unhealthy")
	}
	respect := true
	if v := req.Form.Get("ShouldRespectGracePeriod"); v != "" {
		b, ok := wire.ParseBool(v)
		if !ok {
			return nil, validation("Invalid value for ShouldRespectGracePeriod: %s", v)
		}
		respect = b
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	in, g, werr := member(f, id)
	if werr != nil {
		return nil, werr
	}
	now := s.Now()
	if respect && g.Grace > 0 && now.Before(in.LaunchTime.Add(time.Duration(g.Grace)*time.Second)) {
		return nil, nil // within the grace period: AWS ignores the call
	}
	if in.Lifecycle == LCInService || in.Lifecycle == LCStandby || in.Lifecycle == LCPending {
		in.Health = hs
	}
	f.TouchLocked()
	return nil, nil
}

func (s *Sim) renderActivity(b *wire.XML, a *Activity) {
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
	b.El("Details", `{"Subnet ID":"subnet-0","Availability Zone":"`+s.opts.Region+`a"}`)
	b.El("AutoScalingGroupARN", "arn:aws:autoscaling:"+s.opts.Region+":"+s.opts.AccountID+":autoScalingGroup:"+a.Group)
}

func (s *Sim) asTerminateInstance(req *wire.Request) ([]byte, *wire.Error) {
	id, err := requireParam(req, "InstanceId")
	if err != nil {
		return nil, err
	}
	dv, err := requireParam(req, "ShouldDecrementDesiredCapacity")
	if err != nil {
		return nil, err
	}
	dec, ok := wire.ParseBool(dv)
	if !ok {
		return nil, validation("Invalid value for ShouldDecrementDesiredCapacity: %s", dv)
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	in, g, werr := member(f, id)
	if werr != nil {
		return nil, werr
	}
	if strings.HasPrefix(in.Lifecycle, "Terminating") {
		return nil, wire.Errorf(400, "ScalingActivityInProgress", "Instance %s is already terminating.", id)
	}
	now := s.Now()
	if dec {
		if g.Desired-1 < g.Min {
			return nil, validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.Min)
		}
		g.Desired--
	}
	cause := "an instance was taken out of service in response to a user request"
	if dec {
		cause += ", shrinking the capacity from " + strconv.Itoa(g.Desired+1) + " to " + strconv.Itoa(g.Desired) + "."
	} else {
		cause += "."
	}
	f.BeginTerminateLocked(g, in, now, cause)
	a := in.LastActivity()
	var b wire.XML
	b.Open("Activity")
	s.renderActivity(&b, a)
	b.Close("Activity")
	f.TouchLocked()
	return b.Bytes(), nil
}

func (s *Sim) asSetInstanceProtection(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids := wire.QueryList(req.Form, "InstanceIds")
	if len(ids) == 0 || len(ids) > 50 {
		return nil, validation("The number of instance ids must be between 1 and 50")
	}
	pv, err := requireParam(req, "ProtectedFromScaleIn")
	if err != nil {
		return nil, err
	}
	p, ok := wire.ParseBool(pv)
	if !ok {
		return nil, validation("Invalid value for ProtectedFromScaleIn: %s", pv)
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	var targets []*Instance
	for _, id := range ids {
		in := f.InstanceLocked(id)
		if in == nil || in.Group != g.Name || in.Lifecycle == LCTerminated {
			return nil, validation("The instance %s is not part of Auto Scaling group %s.", id, name)
		}
		targets = append(targets, in)
	}
	for _, in := range targets {
		in.Protected = p
	}
	return []byte{}, nil
}

func (s *Sim) asEnterStandby(req *wire.Request) ([]byte, *wire.Error) {
	return s.standby(req, true)
}

func (s *Sim) asExitStandby(req *wire.Request) ([]byte, *wire.Error) {
	return s.standby(req, false)
}

func (s *Sim) standby(req *wire.Request, enter bool) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids := wire.QueryList(req.Form, "InstanceIds")
	if len(ids) == 0 || len(ids) > 20 {
		return nil, validation("The number of instance ids must be between 1 and 20")
	}
	dec := false
	if enter {
		dv, err := requireParam(req, "ShouldDecrementDesiredCapacity")
		if err != nil {
			return nil, err
		}
		var ok bool
		if dec, ok = wire.ParseBool(dv); !ok {
			return nil, validation("Invalid value for ShouldDecrementDesiredCapacity: %s", dv)
		}
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	var targets []*Instance
	for _, id := range ids {
		in := f.InstanceLocked(id)
		if in == nil || in.Group != g.Name {
			return nil, validation("The instance %s is not part of Auto Scaling group %s.", id, name)
		}
		if enter && in.Lifecycle != LCInService {
			return nil, validation("The instance %s is not in InService.", id)
		}
		if !enter && in.Lifecycle != LCStandby {
			return nil, validation("The instance %s is not in Standby.", id)
		}
		targets = append(targets, in)
	}
	if enter && dec && g.Desired-len(targets) < g.Min {
		return nil, validation("Cannot decrement desired capacity below the group's min size (%d).", g.Min)
	}
	if !enter {
		nDec := 0
		for _, in := range targets {
			if in.StandbyDecremented() {
				nDec++
			}
		}
		if g.Desired+nDec > g.Max {
			return nil, validation("Exiting standby would increase the desired capacity above the group's max size (%d).", g.Max)
		}
	}
	now := s.Now()
	var b wire.XML
	b.Open("Activities")
	for _, in := range targets {
		var a *Activity
		if enter {
			a = f.EnterStandbyLocked(g, in, dec, now)
		} else {
			a = f.ExitStandbyLocked(g, in, now)
		}
		b.Open("member")
		s.renderActivity(&b, a)
		b.Close("member")
	}
	b.Close("Activities")
	f.TouchLocked()
	return b.Bytes(), nil
}

func (s *Sim) asStartInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	if st := req.Form.Get("Strategy"); st != "" && st != "Rolling" {
		return nil, validation("Strategy %s is not supported by this region; use Rolling.", st)
	}
	intPref := func(key string, lo, hi, def int) (int, *wire.Error) {
		v := req.Form.Get("Preferences." + key)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, validation("1 validation error detected: Value '%s' at 'preferences.%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(key), lo, hi)
		}
		return n, nil
	}
	minH, err := intPref("MinHealthyPercentage", 0, 100, 90)
	if err != nil {
		return nil, err
	}
	maxH, err := intPref("MaxHealthyPercentage", 100, 200, 100)
	if err != nil {
		return nil, err
	}
	if maxH-minH > 100 {
		return nil, validation("The difference between MaxHealthyPercentage and MinHealthyPercentage can't be greater than 100.")
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	warmDef := g.Grace
	warm, err := intPref("InstanceWarmup", 0, 1<<30, warmDef)
	if err != nil {
		return nil, err
	}
	if g.ActiveRefresh() != nil {
		return nil, wire.Errorf(400, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	r := &Refresh{ID: f.UUID(), Group: g.Name, Status: "Pending", Start: s.Now(), MinHealthy: minH, MaxHealthy: maxH,
		Warmup: time.Duration(warm) * time.Second, ProtectedPref: "Ignore", StandbyPref: "Ignore"}
	if v := req.Form.Get("Preferences.SkipMatching"); v != "" {
		r.SkipMatching, _ = wire.ParseBool(v)
	}
	if v := req.Form.Get("Preferences.ScaleInProtectedInstances"); v != "" {
		r.ProtectedPref = v
	}
	if v := req.Form.Get("Preferences.StandbyInstances"); v != "" {
		r.StandbyPref = v
	}
	if id, nm := req.Form.Get("DesiredConfiguration.LaunchTemplate.LaunchTemplateId"), req.Form.Get("DesiredConfiguration.LaunchTemplate.LaunchTemplateName"); id != "" || nm != "" {
		lt, e := f.FindLaunchTemplate(id, nm)
		if e != nil {
			return nil, validation("%s", e.Message)
		}
		ver := req.Form.Get("DesiredConfiguration.LaunchTemplate.Version")
		if ver == "" {
			ver = "$Default"
		}
		if _, ok := lt.Resolve(ver); !ok {
			return nil, validation("The launch template version %s does not exist.", ver)
		}
		r.DesiredLTID, r.DesiredVersion = lt.ID, ver
	}
	f.AddRefreshLocked(g, r)
	f.TouchLocked()
	var b wire.XML
	b.El("InstanceRefreshId", r.ID)
	return b.Bytes(), nil
}

func (s *Sim) asDescribeInstanceRefreshes(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ids := wire.QueryList(req.Form, "InstanceRefreshIds")
	max, err := asMaxRecords(req, 100, 50)
	if err != nil {
		return nil, err
	}
	scope := "DIR|" + wire.Fingerprint(req.Form, "NextToken", "MaxRecords")
	off, err := s.asToken(req, scope)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	g := f.GroupLocked(name)
	var sel []*Refresh
	if g != nil {
		for i := len(g.Refreshes()) - 1; i >= 0; i-- { // newest first
			r := g.Refreshes()[i]
			if len(ids) == 0 || slices.Contains(ids, r.ID) {
				sel = append(sel, r)
			}
		}
	}
	off = min(off, len(sel))
	end := min(off+max, len(sel))
	var b wire.XML
	b.Open("InstanceRefreshes")
	for _, r := range sel[off:end] {
		b.Open("member")
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
			s.renderLTSpec(&b, r.DesiredLTID, r.DesiredVersion)
			b.Close("DesiredConfiguration")
		}
		b.El("Strategy", "Rolling")
		b.Close("member")
	}
	b.Close("InstanceRefreshes")
	if end < len(sel) {
		b.El("NextToken", s.tok.Mint(scope, end))
	}
	return b.Bytes(), nil
}

func (s *Sim) asCancelInstanceRefresh(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	r := g.ActiveRefresh()
	if r == nil || r.Status == "Cancelling" {
		return nil, wire.Errorf(400, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", name)
	}
	r.Status = "Cancelling"
	f.ScheduleLocked(s.Now())
	var b wire.XML
	b.El("InstanceRefreshId", r.ID)
	return b.Bytes(), nil
}

func (s *Sim) asDescribeScalingActivities(req *wire.Request) ([]byte, *wire.Error) {
	name := req.Form.Get("AutoScalingGroupName")
	ids := wire.QueryList(req.Form, "ActivityIds")
	max, err := asMaxRecords(req, 100, 100)
	if err != nil {
		return nil, err
	}
	scope := "DSA|" + wire.Fingerprint(req.Form, "NextToken", "MaxRecords")
	off, err := s.asToken(req, scope)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	var sel []*Activity
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
	off = min(off, len(sel))
	end := min(off+max, len(sel))
	var b wire.XML
	b.Open("Activities")
	for _, a := range sel[off:end] {
		b.Open("member")
		s.renderActivity(&b, a)
		b.Close("member")
	}
	b.Close("Activities")
	if end < len(sel) {
		b.El("NextToken", s.tok.Mint(scope, end))
	}
	return b.Bytes(), nil
}

type tagIn struct {
	resourceID, key, value string
	propagate              bool
	hasValue               bool
}

func parseASGTags(req *wire.Request) ([]tagIn, *wire.Error) {
	var out []tagIn
	for _, n := range wire.Indices(req.Form, "Tags.member.") {
		p := "Tags.member." + strconv.Itoa(n) + "."
		t := tagIn{resourceID: req.Form.Get(p + "ResourceId"), key: req.Form.Get(p + "Key"), value: req.Form.Get(p + "Value")}
		_, t.hasValue = req.Form[p+"Value"]
		if rt := req.Form.Get(p + "ResourceType"); rt != "" && rt != "auto-scaling-group" {
			return nil, validation("ResourceType must be auto-scaling-group")
		}
		if t.key == "" || len(t.key) > 128 || len(t.value) > 256 {
			return nil, validation("Tag key must be 1-128 characters and value at most 256 characters")
		}
		if strings.HasPrefix(strings.ToLower(t.key), "aws:") {
			return nil, validation("Tag keys starting with 'aws:' are reserved for internal use")
		}
		t.propagate = req.Form.Get(p+"PropagateAtLaunch") == "true"
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return out, nil
}

func (s *Sim) asCreateOrUpdateTags(req *wire.Request) ([]byte, *wire.Error) {
	tags, err := parseASGTags(req)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	for _, t := range tags {
		if _, e := group(f, t.resourceID); e != nil {
			return nil, e
		}
	}
	for _, t := range tags {
		g := f.GroupLocked(t.resourceID)
		found := false
		for i := range g.Tags {
			if g.Tags[i].Key == t.key {
				g.Tags[i].Value, g.Tags[i].PropagateAtLaunch, found = t.value, t.propagate, true
			}
		}
		if !found {
			if len(g.Tags) >= 50 {
				return nil, wire.Errorf(400, "LimitExceeded", "The number of tags for %s has reached the limit of 50.", g.Name)
			}
			g.Tags = append(g.Tags, GroupTag{Key: t.key, Value: t.value, PropagateAtLaunch: t.propagate})
		}
		sort.Slice(g.Tags, func(i, j int) bool { return g.Tags[i].Key < g.Tags[j].Key })
	}
	return nil, nil
}

func (s *Sim) asDeleteTags(req *wire.Request) ([]byte, *wire.Error) {
	tags, err := parseASGTags(req)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	for _, t := range tags {
		g, e := group(f, t.resourceID)
		if e != nil {
			return nil, e
		}
		for i := range g.Tags {
			if g.Tags[i].Key == t.key && (!t.hasValue || g.Tags[i].Value == t.value) {
				g.Tags = append(g.Tags[:i], g.Tags[i+1:]...)
				break
			}
		}
	}
	return nil, nil
}

func (s *Sim) processes(req *wire.Request) ([]string, *wire.Error) {
	ps := wire.QueryList(req.Form, "ScalingProcesses")
	if len(ps) == 0 {
		return fleet.ScalingProcesses(), nil
	}
	for _, p := range ps {
		if !slices.Contains(fleet.ScalingProcesses(), p) {
			return nil, validation("Process %s is not a valid scaling process.", p)
		}
	}
	return ps, nil
}

func (s *Sim) asSuspendProcesses(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateProcesses(req, func(g *Group, ps []string, now time.Time) {
		for _, p := range ps {
			if _, ok := g.Suspended[p]; !ok {
				g.Suspended[p] = "User suspended at " + now.UTC().Format("2006-01-02T15:04:05Z")
			}
		}
	})
}

func (s *Sim) asResumeProcesses(req *wire.Request) ([]byte, *wire.Error) {
	return s.updateProcesses(req, func(g *Group, ps []string, _ time.Time) {
		for _, p := range ps {
			delete(g.Suspended, p)
		}
	})
}

// updateProcesses validates a Suspend/ResumeProcesses request, applies it to
// the group under the fleet lock and lets the state machine catch up (a
// resumed ReplaceUnhealthy, say, replaces instances now).
func (s *Sim) updateProcesses(req *wire.Request, apply func(g *Group, ps []string, now time.Time)) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	ps, err := s.processes(req)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	apply(g, ps, s.Now())
	f.TouchLocked()
	return nil, nil
}

func intParam(req *wire.Request, name string, required bool) (int, bool, *wire.Error) {
	v := req.Form.Get(name)
	if v == "" {
		if required {
			return 0, false, validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
		}
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, validation("Value '%s' at '%s' is not a non-negative integer", v, lowerFirst(name))
	}
	return n, true, nil
}

func (s *Sim) asCreateGroup(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	minS, _, err := intParam(req, "MinSize", true)
	if err != nil {
		return nil, err
	}
	maxS, _, err := intParam(req, "MaxSize", true)
	if err != nil {
		return nil, err
	}
	des, hasDes, err := intParam(req, "DesiredCapacity", false)
	if err != nil {
		return nil, err
	}
	if !hasDes {
		des = minS
	}
	if minS > maxS || des < minS || des > maxS {
		return nil, validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", des, minS, maxS)
	}
	grace, _, err := intParam(req, "HealthCheckGracePeriod", false)
	if err != nil {
		return nil, err
	}
	spec := GroupSpec{Name: name, Min: minS, Max: maxS, Desired: des, Grace: grace,
		LaunchTemplateID: req.Form.Get("LaunchTemplate.LaunchTemplateId"), LaunchTemplateName: req.Form.Get("LaunchTemplate.LaunchTemplateName"),
		LaunchTemplateVersion: req.Form.Get("LaunchTemplate.Version"), AZs: wire.QueryList(req.Form, "AvailabilityZones"),
		HealthCheckType: req.Form.Get("HealthCheckType"), VPCZoneIdentifier: req.Form.Get("VPCZoneIdentifier")}
	if v := req.Form.Get("NewInstancesProtectedFromScaleIn"); v == "true" {
		spec.NewInstancesProtected = true
	}
	if req.Form.Get("LaunchConfigurationName") != "" || req.Form.Get("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId") != "" {
		return nil, validation("Only LaunchTemplate is supported by this region.")
	}
	for _, n := range wire.Indices(req.Form, "Tags.member.") {
		p := "Tags.member." + strconv.Itoa(n) + "."
		k := req.Form.Get(p + "Key")
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, validation("Tag keys starting with 'aws:' are reserved for internal use")
		}
		spec.Tags = append(spec.Tags, GroupTag{Key: k, Value: req.Form.Get(p + "Value"), PropagateAtLaunch: req.Form.Get(p+"PropagateAtLaunch") == "true"})
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	if f.GroupLocked(name) != nil {
		return nil, wire.Errorf(400, "AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	if err := f.CreateGroupLocked(spec, s.Now()); err != nil {
		return nil, validation("%s", err.Error())
	}
	f.TouchLocked()
	return nil, nil
}

func (s *Sim) asUpdateGroup(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	minS, maxS, des := g.Min, g.Max, g.Desired
	if n, ok, err := intParam(req, "MinSize", false); err != nil {
		return nil, err
	} else if ok {
		minS = n
	}
	if n, ok, err := intParam(req, "MaxSize", false); err != nil {
		return nil, err
	} else if ok {
		maxS = n
	}
	if n, ok, err := intParam(req, "DesiredCapacity", false); err != nil {
		return nil, err
	} else if ok {
		des = n
	}
	if minS > maxS || des < minS || des > maxS {
		return nil, validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", des, minS, maxS)
	}
	if id, nm := req.Form.Get("LaunchTemplate.LaunchTemplateId"), req.Form.Get("LaunchTemplate.LaunchTemplateName"); id != "" || nm != "" {
		lt, e := f.FindLaunchTemplate(id, nm)
		if e != nil {
			return nil, validation("%s", e.Message)
		}
		v := req.Form.Get("LaunchTemplate.Version")
		if v == "" {
			v = "$Default"
		}
		g.LTID, g.LTVersion = lt.ID, v
	}
	if n, ok, err := intParam(req, "HealthCheckGracePeriod", false); err != nil {
		return nil, err
	} else if ok {
		g.Grace = n
	}
	if v := req.Form.Get("NewInstancesProtectedFromScaleIn"); v != "" {
		g.NewInstancesProtected = v == "true"
	}
	g.Min, g.Max, g.Desired = minS, maxS, des
	f.TouchLocked()
	return nil, nil
}

func (s *Sim) asDeleteGroup(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	if len(g.Members()) > 0 && req.Form.Get("ForceDelete") != "true" {
		return nil, wire.Errorf(400, "ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
	}
	f.DeleteGroupLocked(g, s.Now())
	f.TouchLocked()
	return nil, nil
}

func (s *Sim) asPutLifecycleHook(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	hook, err := requireParam(req, "LifecycleHookName")
	if err != nil {
		return nil, err
	}
	tr := req.Form.Get("LifecycleTransition")
	if tr != "autoscaling:EC2_INSTANCE_TERMINATING" && tr != "autoscaling:EC2_INSTANCE_LAUNCHING" {
		return nil, validation("Invalid LifecycleTransition %q", tr)
	}
	to, has, err := intParam(req, "HeartbeatTimeout", false)
	if err != nil {
		return nil, err
	}
	if !has {
		to = 3600
	}
	if to < 30 || to > 7200 {
		return nil, validation("HeartbeatTimeout must be between 30 and 7200 seconds")
	}
	dr := req.Form.Get("DefaultResult")
	if dr == "" {
		dr = "ABANDON"
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	h := Hook{Name: hook, Transition: tr, Timeout: time.Duration(to) * time.Second, DefaultResult: dr}
	for i := range g.Hooks {
		if g.Hooks[i].Name == hook {
			g.Hooks[i] = h
			return []byte{}, nil
		}
	}
	if len(g.Hooks) >= 50 {
		return nil, wire.Errorf(400, "LimitExceeded", "Lifecycle hook limit of 50 reached for %s", name)
	}
	g.Hooks = append(g.Hooks, h)
	return []byte{}, nil
}

func (s *Sim) asDescribeLifecycleHooks(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	var b wire.XML
	b.Open("LifecycleHooks")
	for _, h := range g.Hooks {
		b.Open("member")
		b.El("LifecycleHookName", h.Name)
		b.El("AutoScalingGroupName", g.Name)
		b.El("LifecycleTransition", h.Transition)
		b.Int("HeartbeatTimeout", int(h.Timeout/time.Second))
		b.Int("GlobalTimeout", int(h.Timeout/time.Second)*100)
		b.El("DefaultResult", h.DefaultResult)
		b.Close("member")
	}
	b.Close("LifecycleHooks")
	return b.Bytes(), nil
}

func (s *Sim) asCompleteLifecycleAction(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	if _, err := requireParam(req, "LifecycleHookName"); err != nil {
		return nil, err
	}
	res := req.Form.Get("LifecycleActionResult")
	if res != "CONTINUE" && res != "ABANDON" {
		return nil, validation("LifecycleActionResult must be CONTINUE or ABANDON")
	}
	id := req.Form.Get("InstanceId")
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	if _, werr := group(f, name); werr != nil {
		return nil, werr
	}
	in := f.InstanceLocked(id)
	if in == nil || in.Group != name || (in.Lifecycle != LCTerminatingWait && in.Lifecycle != LCPendingWait) {
		return nil, validation("No active Lifecycle Action found with instance ID %s", id)
	}
	now := s.Now()
	if in.Lifecycle == LCPendingWait {
		f.FinishLaunchHookLocked(in, now, res)
	} else {
		in.Lifecycle = LCTerminatingProceed
		f.ShutdownLocked(in, now)
	}
	f.TouchLocked()
	return []byte{}, nil
}

func (s *Sim) asRecordHeartbeat(req *wire.Request) ([]byte, *wire.Error) {
	name, err := requireParam(req, "AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	hookName, err := requireParam(req, "LifecycleHookName")
	if err != nil {
		return nil, err
	}
	id := req.Form.Get("InstanceId")
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	g, werr := group(f, name)
	if werr != nil {
		return nil, werr
	}
	var hook *Hook
	for i := range g.Hooks {
		if g.Hooks[i].Name == hookName {
			hook = &g.Hooks[i]
		}
	}
	in := f.InstanceLocked(id)
	if hook == nil || in == nil || in.Group != name || (in.Lifecycle != LCTerminatingWait && in.Lifecycle != LCPendingWait) {
		return nil, validation("No active Lifecycle Action found with instance ID %s", id)
	}
	f.ExtendHookLocked(in, hook.Timeout, s.Now())
	return []byte{}, nil
}
