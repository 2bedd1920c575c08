package fleet

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// advance applies every time-based transition due at now. It is called
// before each request is served and by Sim.Tick, so transitions happen lazily
// based on the clock; a cheap atomic check skips the work when nothing is due.
func (f *Fleet) Advance(now time.Time) {
	if now.UnixNano() < f.nextDue.Load() {
		return
	}
	f.mu.Lock()
	f.stepLocked(now)
	f.mu.Unlock()
}

func (f *Fleet) stepLocked(now time.Time) {
	for range 20 { // transitions cascade (terminate → launch → ...); bounded
		if !f.passLocked(now) {
			break
		}
	}
	f.gcLocked(now)
	f.ScheduleLocked(now)
}

func (f *Fleet) passLocked(now time.Time) bool {
	changed := false
	for _, in := range f.order {
		switch {
		case (in.State == StatePending || in.Lifecycle == LCPending) && !in.readyAt.After(now):
			if in.State == StatePending {
				in.State = StateRunning
			}
			if in.Group != "" && in.Lifecycle == LCPending {
				in.Lifecycle = LCInService
				if in.activity != nil {
					in.activity.Status, in.activity.End = "Successful", in.readyAt
				}
			}
			changed = true
		case in.Lifecycle == LCPendingWait && !in.hookDeadline.After(now):
			f.FinishLaunchHookLocked(in, in.hookDeadline, in.hookResult)
			changed = true
		case in.Lifecycle == LCTerminatingWait && !in.hookDeadline.After(now):
			in.Lifecycle = LCTerminatingProceed
			f.ShutdownLocked(in, in.hookDeadline)
			changed = true
		case in.State == StateShuttingDown && !in.shutdownAt.After(now):
			f.terminatedLocked(in, in.shutdownAt)
			changed = true
		}
	}
	names := make([]string, 0, len(f.groups))
	for n := range f.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if f.reconcileLocked(f.groups[n], now) {
			changed = true
		}
	}
	return changed
}

func (f *Fleet) ShutdownLocked(in *Instance, at time.Time) {
	if in.State == StateTerminated || in.State == StateShuttingDown {
		return
	}
	in.State = StateShuttingDown
	in.shutdownAt = at.Add(f.opts.TerminateDelay)
}

func (f *Fleet) terminatedLocked(in *Instance, at time.Time) {
	in.State = StateTerminated
	in.terminatedAt = at
	in.AgentOnline = false
	if in.offlineSince.IsZero() || in.offlineSince.After(at) {
		in.offlineSince = at
	}
	if in.Group != "" {
		in.Lifecycle = LCTerminated
		if in.activity != nil {
			in.activity.Status, in.activity.End = "Successful", at
		}
		if g := f.groups[in.Group]; g != nil {
			for i, m := range g.members {
				if m == in {
					g.members = append(g.members[:i:i], g.members[i+1:]...)
					break
				}
			}
		}
	}
}

func (f *Fleet) gcLocked(now time.Time) {
	keep := f.order[:0:0]
	removed := false
	for _, in := range f.order {
		if in.State == StateTerminated && now.Sub(in.terminatedAt) >= f.opts.TerminatedRetention {
			delete(f.instances, in.ID)
			removed = true
			continue
		}
		keep = append(keep, in)
	}
	if removed {
		f.order = keep
	}
}

func (f *Fleet) ScheduleLocked(now time.Time) {
	next := int64(1<<63 - 1)
	consider := func(t time.Time) {
		if !t.IsZero() && t.UnixNano() < next {
			next = t.UnixNano()
		}
	}
	for _, in := range f.order {
		switch {
		case in.Lifecycle == LCPendingWait:
			consider(in.hookDeadline)
			if in.State == StatePending {
				consider(in.readyAt)
			}
		case in.State == StatePending || in.Lifecycle == LCPending:
			consider(in.readyAt)
		case in.Lifecycle == LCTerminatingWait || in.Lifecycle == LCPendingWait:
			consider(in.hookDeadline)
		case in.State == StateShuttingDown:
			consider(in.shutdownAt)
		case in.State == StateTerminated:
			consider(in.terminatedAt.Add(f.opts.TerminatedRetention))
		}
	}
	for _, g := range f.groups {
		for _, r := range g.refreshes {
			if r.Status == "Cancelling" {
				consider(now)
			}
			if r.active() {
				consider(r.nextAt)
				if r.nextAt.IsZero() || !r.nextAt.After(now) {
					consider(now.Add(time.Second))
				}
			}
		}
	}
	f.nextDue.Store(next)
}

// TouchLocked runs the state machine after a mutation.
func (f *Fleet) TouchLocked() { f.stepLocked(f.now()) }

// FinishLaunchHookLocked ends a launch lifecycle hook: CONTINUE lets the
// instance go InService once booted, ABANDON terminates it (and the group
// launches another).
func (f *Fleet) FinishLaunchHookLocked(in *Instance, at time.Time, result string) {
	if result == "ABANDON" {
		in.Lifecycle = LCTerminatingProceed
		if in.activity != nil {
			in.activity.Status, in.activity.End = "Cancelled", at
		}
		f.ShutdownLocked(in, at)
		return
	}
	in.Lifecycle = LCPending
	if in.readyAt.Before(at) {
		in.readyAt = at
	}
}

func (f *Fleet) reconcileLocked(g *Group, now time.Time) bool {
	changed := false
	if !g.suspended("ReplaceUnhealthy") {
		for _, m := range append([]*Instance(nil), g.members...) {
			if m.Lifecycle == LCInService && m.Health == "Unhealthy" {
				f.BeginTerminateLocked(g, m, now, "an instance was taken out of service in response to a user health-check.")
				changed = true
			}
		}
	}
	if f.refreshStepLocked(g, now) {
		changed = true
	}
	n := 0
	for _, m := range g.members {
		if inCapacity(m) {
			n++
		}
	}
	if n < g.Desired && !g.suspended("Launch") {
		for i := n; i < g.Desired; i++ {
			if _, err := f.launchMemberLocked(g, now, "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from "+strconv.Itoa(i)+" to "+strconv.Itoa(i+1)+"."); err != nil {
				break
			}
		}
		changed = true
	}
	if n > g.Desired && !g.suspended("Terminate") {
		extra := n - g.Desired
		for _, m := range g.members {
			if extra == 0 {
				break
			}
			if m.Lifecycle == LCInService && !m.Protected {
				f.BeginTerminateLocked(g, m, now, "an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity.")
				extra--
				changed = true
			}
		}
	}
	return changed
}

func (f *Fleet) BeginTerminateLocked(g *Group, m *Instance, now time.Time, cause string) {
	m.activity = f.ActivityLocked(g, now, "Terminating EC2 instance: "+m.ID, "At "+now.UTC().Format(time.RFC3339)+" "+cause)
	if h := g.terminateHook(); h != nil {
		m.Lifecycle = LCTerminatingWait
		m.hookDeadline = now.Add(h.Timeout)
		return
	}
	m.Lifecycle = LCTerminatingProceed
	f.ShutdownLocked(m, now)
}

func (f *Fleet) ActivityLocked(g *Group, now time.Time, desc, cause string) *Activity {
	a := &Activity{ID: f.UUID(), Group: g.Name, Description: desc, Cause: cause, Start: now, Status: "InProgress"}
	g.activities = append(g.activities, a)
	if len(g.activities) > 1000 {
		g.activities = g.activities[len(g.activities)-1000:]
	}
	return a
}

// launchSpecLocked returns the launch template and version new members use:
// the active refresh's desired configuration, else the group's.
func (f *Fleet) launchSpecLocked(g *Group) (*LaunchTemplate, *LTVersion, error) {
	id, ver := g.LTID, g.LTVersion
	if r := g.ActiveRefresh(); r != nil && r.DesiredLTID != "" {
		id, ver = r.DesiredLTID, r.DesiredVersion
	}
	lt := f.lts[id]
	if lt == nil {
		return nil, nil, fmt.Errorf("launch template %s not found", id)
	}
	v, ok := lt.Resolve(ver)
	if !ok {
		return nil, nil, fmt.Errorf("launch template %s has no version %s", id, ver)
	}
	return lt, v, nil
}

func (f *Fleet) launchMemberLocked(g *Group, now time.Time, cause string) (*Instance, error) {
	lt, v, err := f.launchSpecLocked(g)
	if err != nil {
		return nil, err
	}
	az := "us-east-1a"
	if len(g.AZs) > 0 {
		az = g.AZs[len(g.members)%len(g.AZs)]
	}
	tags := map[string]string{"aws:autoscaling:groupName": g.Name}
	for _, t := range g.Tags {
		if t.PropagateAtLaunch {
			tags[t.Key] = t.Value
		}
	}
	in := f.NewInstanceLocked(v.ImageID, v.InstanceType, az, tags, now, f.opts.LaunchDelay)
	in.Group, in.Lifecycle, in.Health = g.Name, LCPending, "Healthy"
	in.LTID, in.LTName, in.LTVersion = lt.ID, lt.Name, v.Number
	in.Protected = g.NewInstancesProtected
	if h := g.launchHook(); h != nil {
		in.Lifecycle, in.hookDeadline, in.hookResult = LCPendingWait, now.Add(h.Timeout), h.DefaultResult
	}
	in.activity = f.ActivityLocked(g, now, "Launching a new EC2 instance: "+in.ID, "At "+now.UTC().Format(time.RFC3339)+" "+cause)
	if r := g.ActiveRefresh(); r != nil {
		in.refreshID = r.ID
	}
	g.members = append(g.members, in)
	return in, nil
}

// NewInstanceLocked creates an instance; delay 0 makes it running at once.
func (f *Fleet) NewInstanceLocked(imageID, itype, az string, tags map[string]string, now time.Time, delay time.Duration) *Instance {
	f.seq++
	ip := fmt.Sprintf("10.%d.%d.%d", (f.seq>>16)&0xff, (f.seq>>8)&0xff, f.seq&0xff)
	if itype == "" {
		itype = "m7i.large"
	}
	in := &Instance{
		ID: f.newID("i"), ImageID: imageID, InstanceType: itype, AZ: az,
		SubnetID: "subnet-0" + fmt.Sprintf("%016x", uint64(len(az))*0x9e3779b97f4a7c15), VPCID: "vpc-0a1b2c3d4e5f60718",
		PrivateIP: ip, ReservationID: f.newID("r"), State: StatePending, LaunchTime: now,
		Tags: tags, readyAt: now.Add(delay), ami: f.amis[imageID],
		Managed: true, AgentOnline: true, AgentVersion: f.opts.AgentVersion,
		inventoryAt:  now.Add(delay).Add(f.opts.InventoryDelay),
		ComputerName: "ip-" + stringsReplaceDots(ip) + ".ec2.internal",
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	if delay <= 0 {
		in.State = StateRunning
	}
	f.instances[in.ID] = in
	f.order = append(f.order, in)
	return in
}

func stringsReplaceDots(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

func (f *Fleet) refreshStepLocked(g *Group, now time.Time) bool {
	r := g.ActiveRefresh()
	if r == nil {
		return false
	}
	if r.Status == "Cancelling" {
		r.Status, r.End, r.StatusReason = "Cancelled", now, "Instance refresh was cancelled."
		return true
	}
	if g.suspended("InstanceRefresh") {
		return false
	}
	if !r.started {
		r.started = true
		r.Status = "InProgress"
		want := r.DesiredLTID
		wantVer := r.DesiredVersion
		if want == "" {
			want, wantVer = g.LTID, g.LTVersion
		}
		var wantNum int
		if lt := f.lts[want]; lt != nil {
			if v, ok := lt.Resolve(wantVer); ok {
				wantNum = v.Number
			}
		}
		for _, m := range g.members {
			if m.Lifecycle == LCStandby && r.StandbyPref != "Terminate" {
				continue
			}
			if m.Protected && r.ProtectedPref != "Refresh" {
				continue
			}
			if m.Lifecycle != LCInService && m.Lifecycle != LCPending && m.Lifecycle != LCStandby {
				continue
			}
			if r.SkipMatching && m.LTID == want && m.LTVersion == wantNum {
				continue
			}
			r.toReplace = append(r.toReplace, m.ID)
		}
		r.total = len(r.toReplace)
	}
	for _, m := range g.members { // wait for the group to settle
		if m.Lifecycle == LCPending || m.Lifecycle == LCPendingWait || m.Lifecycle == LCTerminatingWait || m.Lifecycle == LCTerminating || m.Lifecycle == LCTerminatingProceed {
			return false
		}
	}
	if now.Before(r.nextAt) {
		return false
	}
	if len(r.toReplace) == 0 {
		r.Status, r.End, r.StatusReason = "Successful", now, ""
		r.done = r.total
		if r.DesiredLTID != "" {
			g.LTID, g.LTVersion = r.DesiredLTID, r.DesiredVersion
		}
		return true
	}
	batch := max(1, r.total*(100-r.MinHealthy)/100)
	n := 0
	for n < batch && len(r.toReplace) > 0 {
		id := r.toReplace[0]
		r.toReplace = r.toReplace[1:]
		m := f.instances[id]
		r.done++
		if m == nil || m.Group != g.Name || m.State == StateTerminated {
			continue
		}
		f.BeginTerminateLocked(g, m, now, "an instance was taken out of service in response to an instance refresh.")
		n++
	}
	r.done = min(r.done, r.total)
	r.nextAt = now.Add(f.opts.LaunchDelay + r.Warmup)
	return true
}

// TerminateInstanceLocked is an EC2-level termination: group members are
// taken out of the group's capacity (and replaced), bypassing lifecycle hooks.
func (f *Fleet) TerminateInstanceLocked(in *Instance, now time.Time) {
	if in.State == StateTerminated || in.State == StateShuttingDown {
		return
	}
	if in.Group != "" && in.Lifecycle != LCTerminated {
		in.Health = "Unhealthy"
		in.Lifecycle = LCTerminatingProceed
		if g := f.groups[in.Group]; g != nil {
			in.activity = f.ActivityLocked(g, now, "Terminating EC2 instance: "+in.ID,
				"At "+now.UTC().Format(time.RFC3339)+" an instance was taken out of service in response to an EC2 instance status check failure.")
		}
	}
	f.ShutdownLocked(in, now)
}

// TerminateNow begins terminating an instance as EC2 TerminateInstances
// does (a Fault's Terminate); an unknown id is ignored.
func (f *Fleet) TerminateNow(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.instances[id]; in != nil {
		f.TerminateInstanceLocked(in, f.now())
		f.TouchLocked()
	}
}
