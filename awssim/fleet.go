package awssim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EC2 instance states and their codes.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopped      = "stopped"
)

var stateCodes = map[string]int{StatePending: 0, StateRunning: 16, StateShuttingDown: 32, StateTerminated: 48, "stopping": 64, StateStopped: 80}

// Auto Scaling lifecycle states used by the simulator.
const (
	LCPending            = "Pending"
	LCPendingWait        = "Pending:Wait"
	LCInService          = "InService"
	LCTerminating        = "Terminating"
	LCTerminatingWait    = "Terminating:Wait"
	LCTerminatingProceed = "Terminating:Proceed"
	LCTerminated         = "Terminated"
	LCStandby            = "Standby"
)

// Auto Scaling processes that can be suspended.
var scalingProcesses = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
	"HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

// AMI is a machine image with its baseline inventory (shared, read-only).
type AMI struct {
	ID              string
	Name            string
	Description     string
	OwnerID         string
	Architecture    string // x86_64 | arm64
	Platform        string // "" (Linux/UNIX) or "windows"
	PlatformName    string // SSM PlatformName, e.g. "Amazon Linux"
	PlatformVersion string // e.g. "2023"
	PackageFormat   string // rpm | deb
	ManifestFormat  string // native | cyclonedx: the published baseline's form
	CreationDate    time.Time
	Tags            map[string]string
	// Inventory is the content every instance launched from the AMI reports
	// until it drifts. Shared by all those instances, never copied.
	Inventory map[string]*TypeData
}

// LaunchTemplate is an EC2 launch template with its versions.
type LaunchTemplate struct {
	ID, Name       string
	DefaultVersion int
	Versions       []*LTVersion // Versions[i].Number == i+1
	Created        time.Time
}

// LTVersion is one launch template version.
type LTVersion struct {
	Number       int
	ImageID      string
	InstanceType string
	Description  string
	Created      time.Time
}

func (lt *LaunchTemplate) resolve(spec string) (*LTVersion, bool) {
	n := 0
	switch spec {
	case "", "$Default":
		n = lt.DefaultVersion
	case "$Latest":
		n = len(lt.Versions)
	default:
		v, err := strconv.Atoi(spec)
		if err != nil {
			return nil, false
		}
		n = v
	}
	if n < 1 || n > len(lt.Versions) {
		return nil, false
	}
	return lt.Versions[n-1], true
}

// Instance is an EC2 instance, optionally an Auto Scaling group member and an
// SSM managed node.
type Instance struct {
	ID, ImageID, InstanceType  string
	AZ, SubnetID, VPCID        string
	PrivateIP, ReservationID   string
	State                      string
	LaunchTime                 time.Time
	Tags                       map[string]string
	readyAt, shutdownAt        time.Time
	ami                        *AMI
	Group                      string
	Lifecycle                  string
	Health                     string // Healthy | Unhealthy
	Protected                  bool
	LTID, LTName               string
	LTVersion                  int
	hookDeadline               time.Time
	hookResult                 string
	activity                   *Activity
	Managed                    bool // runs the SSM agent
	AgentVersion               string
	AgentOnline                bool
	offlineSince               time.Time
	inventoryAt, staleAt       time.Time
	lastChange                 time.Time
	typeCapture                map[string]putCapture
	putHash                    map[string]string
	overlays                   map[string]*overlay
	merged                     map[string]*TypeData
	refreshID                  string
	terminatedAt               time.Time
	standbyDecremented         bool
	computerName, platformName string
}

// GroupTag is an Auto Scaling group tag.
type GroupTag struct {
	Key, Value        string
	PropagateAtLaunch bool
}

// Hook is a lifecycle hook.
type Hook struct {
	Name          string
	Transition    string // autoscaling:EC2_INSTANCE_TERMINATING | autoscaling:EC2_INSTANCE_LAUNCHING
	Timeout       time.Duration
	DefaultResult string
}

// Activity is a scaling activity.
type Activity struct {
	ID, Group, Description, Cause string
	Start, End                    time.Time
	Status                        string
}

// Refresh is an instance refresh.
type Refresh struct {
	ID, Group      string
	Status         string
	StatusReason   string
	Start, End     time.Time
	MinHealthy     int
	MaxHealthy     int
	Warmup         time.Duration
	SkipMatching   bool
	ProtectedPref  string
	StandbyPref    string
	DesiredLTID    string
	DesiredVersion string
	total, done    int
	toReplace      []string
	nextAt         time.Time
	started        bool
}

// Group is an Auto Scaling group.
type Group struct {
	Name, ARN             string
	Min, Max, Desired     int
	LTID, LTVersion       string
	AZs                   []string
	HealthCheckType       string
	Grace                 int
	DefaultCooldown       int
	Created               time.Time
	Tags                  []GroupTag
	Suspended             map[string]string
	Hooks                 []Hook
	NewInstancesProtected bool
	members               []*Instance
	refreshes             []*Refresh
	activities            []*Activity
	VPCZoneIdentifier     string
}

// fleet is the simulated region's state. All methods ending in Locked
// require f.mu held for writing.
type fleet struct {
	mu        sync.RWMutex
	opts      *Options
	clock     Clock
	amis      map[string]*AMI
	amiOrder  []string
	lts       map[string]*LaunchTemplate
	ltByName  map[string]*LaunchTemplate
	instances map[string]*Instance
	order     []*Instance
	groups    map[string]*Group
	rng       *rand.Rand
	seq       uint32
	nextDue   atomic.Int64 // unix nanos of the next timed transition; MaxInt64 = none
	// definedTypes holds the Custom:* inventory types the account knows
	// (type name → true): once any instance's inventory has carried one, it
	// stays defined. Replaced (not cleared) by resetLocked.
	definedTypes *sync.Map
}

func newFleet(o *Options) *fleet {
	f := &fleet{opts: o, clock: o.Clock}
	f.resetLocked()
	return f
}

func (f *fleet) resetLocked() {
	f.amis = map[string]*AMI{}
	f.amiOrder = nil
	f.lts = map[string]*LaunchTemplate{}
	f.ltByName = map[string]*LaunchTemplate{}
	f.instances = map[string]*Instance{}
	f.order = nil
	f.groups = map[string]*Group{}
	f.rng = rand.New(rand.NewPCG(uint64(f.opts.Seed), 0x5eed))
	f.seq = 0
	f.nextDue.Store(0)
	f.definedTypes = &sync.Map{}
}

func (f *fleet) newID(prefix string) string { return fmt.Sprintf("%s-0%016x", prefix, f.rng.Uint64()) }

func (f *fleet) uuid() string {
	a, b := f.rng.Uint64(), f.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// advance applies every time-based transition due at now. It is called
// before each request is served and by Sim.Tick, so transitions happen lazily
// based on the clock; a cheap atomic check skips the work when nothing is due.
func (f *fleet) advance(now time.Time) {
	if now.UnixNano() < f.nextDue.Load() {
		return
	}
	f.mu.Lock()
	f.stepLocked(now)
	f.mu.Unlock()
}

func (f *fleet) stepLocked(now time.Time) {
	for range 20 { // transitions cascade (terminate → launch → ...); bounded
		if !f.passLocked(now) {
			break
		}
	}
	f.gcLocked(now)
	f.scheduleLocked(now)
}

func (f *fleet) passLocked(now time.Time) bool {
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
			f.finishLaunchHookLocked(in, in.hookDeadline, in.hookResult)
			changed = true
		case in.Lifecycle == LCTerminatingWait && !in.hookDeadline.After(now):
			in.Lifecycle = LCTerminatingProceed
			f.shutdownLocked(in, in.hookDeadline)
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

func (f *fleet) shutdownLocked(in *Instance, at time.Time) {
	if in.State == StateTerminated || in.State == StateShuttingDown {
		return
	}
	in.State = StateShuttingDown
	in.shutdownAt = at.Add(f.opts.TerminateDelay)
}

func (f *fleet) terminatedLocked(in *Instance, at time.Time) {
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

func (f *fleet) gcLocked(now time.Time) {
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

func (f *fleet) scheduleLocked(now time.Time) {
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

// touchLocked runs the state machine after a mutation.
func (f *fleet) touchLocked() { f.stepLocked(f.clock.Now()) }

func (r *Refresh) active() bool {
	return r.Status == "Pending" || r.Status == "InProgress" || r.Status == "Cancelling"
}

func (g *Group) activeRefresh() *Refresh {
	for _, r := range g.refreshes {
		if r.active() {
			return r
		}
	}
	return nil
}

func (g *Group) suspended(p string) bool { _, ok := g.Suspended[p]; return ok }

func (g *Group) terminateHook() *Hook {
	for i := range g.Hooks {
		if g.Hooks[i].Transition == "autoscaling:EC2_INSTANCE_TERMINATING" {
			return &g.Hooks[i]
		}
	}
	return nil
}

func inCapacity(in *Instance) bool {
	return in.Lifecycle == LCPending || in.Lifecycle == LCPendingWait || in.Lifecycle == LCInService
}

func (g *Group) launchHook() *Hook {
	for i := range g.Hooks {
		if g.Hooks[i].Transition == "autoscaling:EC2_INSTANCE_LAUNCHING" {
			return &g.Hooks[i]
		}
	}
	return nil
}

// finishLaunchHookLocked ends a launch lifecycle hook: CONTINUE lets the
// instance go InService once booted, ABANDON terminates it (and the group
// launches another).
func (f *fleet) finishLaunchHookLocked(in *Instance, at time.Time, result string) {
	if result == "ABANDON" {
		in.Lifecycle = LCTerminatingProceed
		if in.activity != nil {
			in.activity.Status, in.activity.End = "Cancelled", at
		}
		f.shutdownLocked(in, at)
		return
	}
	in.Lifecycle = LCPending
	if in.readyAt.Before(at) {
		in.readyAt = at
	}
}

func (f *fleet) reconcileLocked(g *Group, now time.Time) bool {
	changed := false
	if !g.suspended("ReplaceUnhealthy") {
		for _, m := range append([]*Instance(nil), g.members...) {
			if m.Lifecycle == LCInService && m.Health == "Unhealthy" {
				f.beginTerminateLocked(g, m, now, "an instance was taken out of service in response to a user health-check.")
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
				f.beginTerminateLocked(g, m, now, "an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity.")
				extra--
				changed = true
			}
		}
	}
	return changed
}

func (f *fleet) beginTerminateLocked(g *Group, m *Instance, now time.Time, cause string) {
	m.activity = f.activityLocked(g, now, "Terminating EC2 instance: "+m.ID, "At "+now.UTC().Format(time.RFC3339)+" "+cause)
	if h := g.terminateHook(); h != nil {
		m.Lifecycle = LCTerminatingWait
		m.hookDeadline = now.Add(h.Timeout)
		return
	}
	m.Lifecycle = LCTerminatingProceed
	f.shutdownLocked(m, now)
}

func (f *fleet) activityLocked(g *Group, now time.Time, desc, cause string) *Activity {
	a := &Activity{ID: f.uuid(), Group: g.Name, Description: desc, Cause: cause, Start: now, Status: "InProgress"}
	g.activities = append(g.activities, a)
	if len(g.activities) > 1000 {
		g.activities = g.activities[len(g.activities)-1000:]
	}
	return a
}

// launchSpecLocked returns the launch template and version new members use:
// the active refresh's desired configuration, else the group's.
func (f *fleet) launchSpecLocked(g *Group) (*LaunchTemplate, *LTVersion, error) {
	id, ver := g.LTID, g.LTVersion
	if r := g.activeRefresh(); r != nil && r.DesiredLTID != "" {
		id, ver = r.DesiredLTID, r.DesiredVersion
	}
	lt := f.lts[id]
	if lt == nil {
		return nil, nil, fmt.Errorf("launch template %s not found", id)
	}
	v, ok := lt.resolve(ver)
	if !ok {
		return nil, nil, fmt.Errorf("launch template %s has no version %s", id, ver)
	}
	return lt, v, nil
}

func (f *fleet) launchMemberLocked(g *Group, now time.Time, cause string) (*Instance, error) {
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
	in := f.newInstanceLocked(v.ImageID, v.InstanceType, az, tags, now, f.opts.LaunchDelay)
	in.Group, in.Lifecycle, in.Health = g.Name, LCPending, "Healthy"
	in.LTID, in.LTName, in.LTVersion = lt.ID, lt.Name, v.Number
	in.Protected = g.NewInstancesProtected
	if h := g.launchHook(); h != nil {
		in.Lifecycle, in.hookDeadline, in.hookResult = LCPendingWait, now.Add(h.Timeout), h.DefaultResult
	}
	in.activity = f.activityLocked(g, now, "Launching a new EC2 instance: "+in.ID, "At "+now.UTC().Format(time.RFC3339)+" "+cause)
	if r := g.activeRefresh(); r != nil {
		in.refreshID = r.ID
	}
	g.members = append(g.members, in)
	return in, nil
}

// newInstanceLocked creates an instance; delay 0 makes it running at once.
func (f *fleet) newInstanceLocked(imageID, itype, az string, tags map[string]string, now time.Time, delay time.Duration) *Instance {
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
		computerName: "ip-" + stringsReplaceDots(ip) + ".ec2.internal",
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

func (f *fleet) refreshStepLocked(g *Group, now time.Time) bool {
	r := g.activeRefresh()
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
			if v, ok := lt.resolve(wantVer); ok {
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
		f.beginTerminateLocked(g, m, now, "an instance was taken out of service in response to an instance refresh.")
		n++
	}
	r.done = min(r.done, r.total)
	r.nextAt = now.Add(f.opts.LaunchDelay + r.Warmup)
	return true
}

func (r *Refresh) percent() int {
	if r.Status == "Successful" || r.total == 0 && !r.active() {
		return 100
	}
	if r.total == 0 {
		return 0
	}
	// an instance counts once its replacement was started and the group settled
	d := r.done
	return d * 100 / r.total
}

// effectiveLocked returns an instance's content for a type (nil when none).
// Reads need f.mu held (read or write).
func (in *Instance) effective(typeName string) *TypeData {
	if m, ok := in.merged[typeName]; ok {
		return m
	}
	if in.ami == nil {
		return nil
	}
	return in.ami.Inventory[typeName]
}

// types returns the inventory type names the instance reports.
func (in *Instance) types() []string {
	set := map[string]bool{}
	if in.ami != nil {
		for t := range in.ami.Inventory {
			set[t] = true
		}
	}
	for t, m := range in.merged {
		if m != nil {
			set[t] = true
		} else {
			delete(set, t)
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// hasInventory reports whether the node has reported inventory by now.
func (f *fleet) hasInventory(in *Instance, now time.Time) bool {
	return in.Managed && !in.inventoryAt.IsZero() && !now.Before(in.inventoryAt)
}

// typeDefined reports whether the account knows an inventory type (f.mu
// held, read or write). AWS:* types always exist (their names are checked by
// validTypeName). A Custom:* type exists once any instance's inventory has
// carried it: content injected or put with PutInventory (recorded by
// mutateLocked), or its AMI's content on an instance that has reported
// inventory (found here on first use and remembered).
func (f *fleet) typeDefined(typeName string, now time.Time) bool {
	if !strings.HasPrefix(typeName, "Custom:") {
		return true
	}
	if _, ok := f.definedTypes.Load(typeName); ok {
		return true
	}
	for _, x := range f.order {
		if x.ami != nil && x.ami.Inventory[typeName] != nil && f.hasInventory(x, now) {
			f.definedTypes.Store(typeName, true)
			return true
		}
	}
	return false
}

// lastReport is when the node's agent last reported inventory as of now
// (not truncated): its first report at inventoryAt, then one every
// InventoryInterval (the inventory association's schedule) until the agent
// went offline or the injected staleness began, or an injected change, which
// is reported at once. Every report carries a fresh CaptureTime whether or
// not the content changed: the agent hashes the content only and uploads a
// hash-only item with the new CaptureTime when the hash is unchanged
// (aws/amazon-ssm-agent agent/plugins/inventory/datauploader/uploader.go).
func (f *fleet) lastReport(in *Instance, now time.Time) time.Time {
	end := now
	if !in.AgentOnline && !in.offlineSince.IsZero() && in.offlineSince.Before(end) {
		end = in.offlineSince
	}
	if !in.staleAt.IsZero() && in.staleAt.Before(end) {
		end = in.staleAt
	}
	ct := in.inventoryAt
	if iv := f.opts.InventoryInterval; iv > 0 && end.After(ct) {
		if first := ct.Add(f.phase(in, iv)); !end.Before(first) {
			ct = first.Add(end.Sub(first) / iv * iv)
		}
	}
	if in.lastChange.After(ct) && !in.lastChange.After(end) {
		ct = in.lastChange
	}
	return ct
}

// phase is the time from a node's first inventory report to its second:
// InventoryInterval, or with Options.InventorySpread a per-node offset in
// (0, InventoryInterval] derived from the instance id, so that the nodes'
// schedules are spread over the interval as in a fleet whose nodes
// registered at different times.
func (f *fleet) phase(in *Instance, iv time.Duration) time.Duration {
	secs := uint64(iv / time.Second)
	if !f.opts.InventorySpread || secs == 0 {
		return iv
	}
	h := fnv.New64a()
	h.Write([]byte(in.ID))
	return time.Duration(1+h.Sum64()%secs) * time.Second
}

// captureTime is the CaptureTime of the node's last report as of now.
func (f *fleet) captureTime(in *Instance, now time.Time) time.Time {
	return f.lastReport(in, now).Truncate(time.Second)
}

// putCapture is the CaptureTime a PutInventory item carried and when it
// arrived.
type putCapture struct {
	capture, at time.Time
}

// typeCaptureTime is the CaptureTime ListInventoryEntries reports for one
// type: the last PutInventory item's CaptureTime until the node's agent
// reports again after it (custom inventory is re-read from the node's
// custom inventory directory and re-uploaded with a fresh CaptureTime at
// every run: aws/amazon-ssm-agent
// agent/plugins/inventory/gatherers/custom/customGatherer.go), else the
// node's last report.
func (f *fleet) typeCaptureTime(in *Instance, typeName string, now time.Time) time.Time {
	last := f.lastReport(in, now)
	if p, ok := in.typeCapture[typeName]; ok && !last.After(p.at) {
		return p.capture
	}
	return last.Truncate(time.Second)
}

// CaptureTime returns the CaptureTime ListInventoryEntries would report now
// for an instance's inventory type; false when the instance has no
// inventory (yet) or none of that type.
func (s *Sim) CaptureTime(id, typeName string) (time.Time, bool) {
	f := s.fleet
	now := s.Now()
	f.advance(now)
	f.mu.RLock()
	defer f.mu.RUnlock()
	in := f.instances[id]
	if in == nil || !f.hasInventory(in, now) || in.effective(typeName) == nil {
		return time.Time{}, false
	}
	return f.typeCaptureTime(in, typeName, now), true
}

// setOverlayLocked records a change to an instance's content for a type and
// re-materialises the merged view.
func (f *fleet) mutateLocked(in *Instance, typeName string, fn func(o *overlay)) {
	if in.overlays == nil {
		in.overlays = map[string]*overlay{}
		in.merged = map[string]*TypeData{}
	}
	o := in.overlays[typeName]
	if o == nil {
		o = &overlay{set: map[string]Entry{}, del: map[string]bool{}}
		in.overlays[typeName] = o
	}
	fn(o)
	if strings.HasPrefix(typeName, "Custom:") {
		f.definedTypes.Store(typeName, true) // the instance now reports the type
	}
	var base *TypeData
	if in.ami != nil {
		base = in.ami.Inventory[typeName]
	}
	in.merged[typeName] = o.merge(typeName, base)
	in.lastChange = f.clock.Now()
}
