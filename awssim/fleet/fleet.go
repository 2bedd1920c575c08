package fleet

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
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

// Well-formed ids (EC2's 8- or 17-hex-digit forms).
var (
	amiIDRE = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ltIDRE  = regexp.MustCompile(`^lt-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// ValidAMIID reports whether id is a well-formed AMI id.
func ValidAMIID(id string) bool { return amiIDRE.MatchString(id) }

// ValidLaunchTemplateID reports whether id is a well-formed launch
// template id.
func ValidLaunchTemplateID(id string) bool { return ltIDRE.MatchString(id) }

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

func (lt *LaunchTemplate) Resolve(spec string) (*LTVersion, bool) {
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
	ID, ImageID, InstanceType string
	AZ, SubnetID, VPCID       string
	PrivateIP, ReservationID  string
	State                     string
	LaunchTime                time.Time
	Tags                      map[string]string
	readyAt, shutdownAt       time.Time
	ami                       *AMI
	Group                     string
	Lifecycle                 string
	Health                    string // Healthy | Unhealthy
	Protected                 bool
	LTID, LTName              string
	LTVersion                 int
	hookDeadline              time.Time
	hookResult                string
	activity                  *Activity
	Managed                   bool // runs the SSM agent
	AgentVersion              string
	AgentOnline               bool
	offlineSince              time.Time
	inventoryAt, staleAt      time.Time
	lastChange                time.Time
	// changeCapture, when set, is the CaptureTime the report of
	// lastChange carries (see mutateLocked).
	changeCapture              time.Time
	typeCapture                map[string]putCapture
	putHash                    map[string]string
	overlays                   map[string]*overlay
	merged                     map[string]*TypeData
	refreshID                  string
	terminatedAt               time.Time
	standbyDecremented         bool
	ComputerName, platformName string
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

// Options configures a Fleet. Unlike awssim.Options, the values are used
// as given (the simulator resolves its defaults before building the fleet):
// a zero delay is an immediate transition.
type Options struct {
	Clock               Clock
	Region              string
	AccountID           string
	LaunchDelay         time.Duration // pending → running / Pending → InService
	TerminateDelay      time.Duration // shutting-down → terminated
	InventoryDelay      time.Duration // running → first inventory report
	InventoryInterval   time.Duration // inventory association schedule; 0: the association runs once
	InventorySpread     bool          // spread the nodes' inventory runs over InventoryInterval
	TerminatedRetention time.Duration // how long terminated instances stay visible
	AgentVersion        string        // SSM agent version of new nodes
	Seed                uint64        // seed for ids
}

// Publisher receives what the fleet publishes outside itself: the AMIs'
// baseline documents (AMISpec.ManifestParameter) and a scenario's
// parameters.
type Publisher interface {
	PutParameter(name, value string)
	PutObject(bucket, key string, data []byte)
}

// Fleet is the simulated region's state. It is safe for concurrent use
// through its exported methods; the service packages read and change it
// under its lock (RLock/Lock) with the methods ending in Locked and the
// accessors, which need the lock held.
type Fleet struct {
	mu        sync.RWMutex
	opts      Options
	pub       Publisher
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

// New returns an empty fleet; pub may be nil when no AMI publishes a
// baseline.
func New(o Options, pub Publisher) *Fleet {
	f := &Fleet{opts: o, pub: pub}
	f.resetLocked()
	return f
}

// Options returns the options the fleet was built with.
func (f *Fleet) Options() Options { return f.opts }

func (f *Fleet) now() time.Time { return f.opts.Clock.Now() }

// Now returns the fleet's current time.
func (f *Fleet) Now() time.Time { return f.opts.Clock.Now() }

// Tick applies every time-based transition due now.
func (f *Fleet) Tick() { f.Advance(f.now()) }

// Lock, Unlock, RLock and RUnlock guard the fleet's state for the service
// handlers that read or change it directly.
func (f *Fleet) Lock()    { f.mu.Lock() }
func (f *Fleet) Unlock()  { f.mu.Unlock() }
func (f *Fleet) RLock()   { f.mu.RLock() }
func (f *Fleet) RUnlock() { f.mu.RUnlock() }

func (f *Fleet) resetLocked() {
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

func (f *Fleet) newID(prefix string) string { return fmt.Sprintf("%s-0%016x", prefix, f.rng.Uint64()) }

// UUID returns a random (seeded) UUID.
func (f *Fleet) UUID() string {
	a, b := f.rng.Uint64(), f.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func (r *Refresh) active() bool {
	return r.Status == "Pending" || r.Status == "InProgress" || r.Status == "Cancelling"
}

func (g *Group) ActiveRefresh() *Refresh {
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

func (r *Refresh) Percent() int {
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
