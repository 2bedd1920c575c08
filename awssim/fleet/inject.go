package fleet

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Drift actions understood by Inject (and the scenario/admin "drifts").
const (
	DriftInstall     = "install"      // Package: add (or replace) a package
	DriftRemove      = "remove"       // Package.Name: remove a package
	DriftUpgrade     = "upgrade"      // Package: change the version of an installed package
	DriftDowngrade   = "downgrade"    // same as upgrade; the name documents intent
	DriftFile        = "file"         // File: change a file digest/size (Custom:FileDigest + AWS:File)
	DriftStopService = "stop-service" // Service: make a unit inactive (Windows: Status Stopped)
	// DriftDisableService disables and stops a service: a systemd unit
	// becomes disabled and inactive, a Windows service StartType Disabled
	// and Status Stopped.
	DriftDisableService = "disable-service" // Service.Name
	// DriftInstallUpdate and DriftRemoveUpdate add or remove an installed
	// Windows update (AWS:WindowsUpdate) on a Windows instance.
	DriftInstallUpdate = "install-update" // Update
	DriftRemoveUpdate  = "remove-update"  // Update.HotFixID
	DriftAgentOff      = "agent-offline"
	DriftAgentOn       = "agent-online"
	DriftStale         = "stale" // Age: freeze inventory CaptureTime Age ago
	DriftFresh         = "fresh" // resume inventory reporting
	DriftHeal          = "heal"  // reset to the AMI baseline
	// DriftUnregister makes the instance's SSM agent one that never
	// registered: DescribeInstanceInformation neither lists it nor accepts
	// its id (InvalidInstanceId for the whole call), and it reports no
	// inventory. DriftRegister undoes it.
	DriftUnregister = "unregister"
	DriftRegister   = "register"
)

// Drift is a change injected into one instance.
type Drift struct {
	Action  string        `json:"action" yaml:"action"`
	Package *PackageSpec  `json:"package,omitempty" yaml:"package,omitempty"`
	File    *FileSpec     `json:"file,omitempty" yaml:"file,omitempty"`
	Service *ServiceSpec  `json:"service,omitempty" yaml:"service,omitempty"`
	Update  *UpdateSpec   `json:"update,omitempty" yaml:"update,omitempty"`
	Age     time.Duration `json:"age,omitempty" yaml:"age,omitempty"`
}

// Inject applies d to instance id.
func (f *Fleet) Inject(id string, d Drift) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[id]
	if in == nil {
		return fmt.Errorf("instance %s not found", id)
	}
	return f.injectLocked(in, d, f.now())
}

func (f *Fleet) injectLocked(in *Instance, d Drift, now time.Time) error {
	ami := in.ami
	if ami == nil {
		ami = &AMI{PackageFormat: "rpm", Architecture: "x86_64"}
	}
	switch d.Action {
	case DriftInstall, DriftUpgrade, DriftDowngrade:
		if d.Package == nil || d.Package.Name == "" || d.Package.Version == "" {
			return fmt.Errorf("instance %s: %s needs package.name and package.version", in.ID, d.Action)
		}
		windows := ami.PackageFormat == FormatWindows
		if windows {
			if _, err := windowsArch(d.Package.Arch); err != nil {
				return fmt.Errorf("instance %s: package %s: %v", in.ID, d.Package.Name, err)
			}
		}
		e := packageEntry(*d.Package, ami, now)
		if d.Action != DriftInstall {
			arch := "" // any: the first installed entry of that name
			if windows && d.Package.Arch != "" {
				arch = e["Architecture"] // a Windows product is often installed as x64 and x86
			}
			old := f.findPackage(in, d.Package.Name, arch)
			if old == nil {
				return fmt.Errorf("instance %s: package %s is not installed", in.ID, d.Package.Name)
			}
			switch {
			case windows:
				// the installed entry's publisher and architecture
				p := *d.Package
				p.Arch = old["Architecture"]
				if p.Publisher == "" {
					p.Publisher = old["Publisher"]
				}
				e = packageEntry(p, ami, now)
			case d.Package.Arch == "":
				// the installed package's arch, in its package manager's
				// spelling (the entry holds the agent's)
				arch := old["Architecture"]
				if ami.PackageFormat == "deb" {
					arch = debNativeArch(old)
				}
				e = packageEntry(PackageSpec{Name: d.Package.Name, Version: d.Package.Version, Release: d.Package.Release,
					Epoch: d.Package.Epoch, Arch: arch, Publisher: old["Publisher"], URL: d.Package.URL}, ami, now)
			}
		}
		f.mutateLocked(in, TypeApplication, func(o *overlay) { setEntry(o, TypeApplication, e) })
	case DriftRemove:
		if d.Package == nil || d.Package.Name == "" {
			return fmt.Errorf("instance %s: remove needs package.name", in.ID)
		}
		td := in.Effective(TypeApplication)
		var keys []string
		if td != nil {
			for i, e := range td.Entries {
				if e["Name"] == d.Package.Name && (d.Package.Arch == "" ||
					e["Architecture"] == formatArchitecture(nativeArch(ami.PackageFormat, ami.Architecture, d.Package.Arch))) {
					keys = append(keys, td.keys[i])
				}
			}
		}
		if len(keys) == 0 {
			return fmt.Errorf("instance %s: package %s is not installed", in.ID, d.Package.Name)
		}
		f.mutateLocked(in, TypeApplication, func(o *overlay) {
			for _, k := range keys {
				delEntry(o, k)
			}
		})
	case DriftFile:
		if d.File == nil || d.File.Path == "" {
			return fmt.Errorf("instance %s: file needs file.path", in.ID)
		}
		f.mutateLocked(in, TypeFileDigest, func(o *overlay) { setEntry(o, TypeFileDigest, fileDigestEntry(*d.File)) })
		f.mutateLocked(in, TypeFile, func(o *overlay) { setEntry(o, TypeFile, fileEntry(*d.File, now)) })
	case DriftStopService, DriftDisableService:
		if d.Service == nil || d.Service.Name == "" {
			return fmt.Errorf("instance %s: %s needs service.name", in.ID, d.Action)
		}
		if ami.Platform == "windows" {
			return f.setWindowsServiceLocked(in, d.Service.Name, d.Action == DriftDisableService)
		}
		sv := *d.Service
		if sv.ActiveState == "" {
			sv.ActiveState = "inactive"
		}
		if d.Action == DriftDisableService && sv.UnitFileState == "" {
			sv.UnitFileState = "disabled"
		}
		f.mutateLocked(in, TypeSystemdUnit, func(o *overlay) { setEntry(o, TypeSystemdUnit, unitEntry(sv)) })
	case DriftInstallUpdate, DriftRemoveUpdate:
		return f.updateLocked(in, d, now)
	case DriftAgentOff:
		if in.AgentOnline {
			in.AgentOnline, in.offlineSince = false, now
		}
	case DriftAgentOn:
		in.AgentOnline, in.offlineSince = true, time.Time{}
	case DriftStale:
		age := d.Age
		if age <= 0 {
			age = 48 * time.Hour
		}
		in.staleAt = now.Add(-age)
		if in.inventoryAt.After(in.staleAt) {
			in.inventoryAt = in.staleAt
		}
		if in.lastChange.After(in.staleAt) {
			in.lastChange, in.changeCapture = time.Time{}, time.Time{}
		}
	case DriftFresh:
		in.staleAt = time.Time{}
	case DriftUnregister:
		in.Managed = false
	case DriftRegister:
		in.Managed = true
	case DriftHeal:
		in.overlays, in.merged, in.typeCapture, in.putHash = nil, nil, nil, nil
		in.staleAt = time.Time{}
		in.lastChange, in.changeCapture = now, time.Time{}
	default:
		return fmt.Errorf("instance %s: unknown drift action %q", in.ID, d.Action)
	}
	return nil
}

func setEntry(o *overlay, typeName string, e Entry) {
	if o.replace != nil {
		es := append([]Entry(nil), o.replace.Entries...)
		o.replace = NewTypeData(typeName, o.replace.SchemaVersion, append(es, e))
		return
	}
	k := entryKey(typeName, e)
	delete(o.del, k)
	o.set[k] = e
}

func delEntry(o *overlay, k string) {
	if o.replace != nil {
		var es []Entry
		for i, e := range o.replace.Entries {
			if o.replace.keys[i] != k {
				es = append(es, e)
			}
		}
		o.replace = NewTypeData(o.replace.TypeName, o.replace.SchemaVersion, es)
		return
	}
	delete(o.set, k)
	o.del[k] = true
}

// findPackage returns the installed entry of that name (and agent
// Architecture, unless arch is "").
func (f *Fleet) findPackage(in *Instance, name, arch string) Entry {
	td := in.Effective(TypeApplication)
	if td == nil {
		return nil
	}
	for _, e := range td.Entries {
		if e["Name"] == name && (arch == "" || e["Architecture"] == arch) {
			return e
		}
	}
	return nil
}

// SetInventory replaces an instance's content for one type (as PutInventory
// or a custom inventory collector would).
func (f *Fleet) SetInventory(id, typeName string, entries []Entry) error {
	if !ValidTypeName(typeName) {
		return fmt.Errorf("type %q is not AWS:* or Custom:*", typeName)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[id]
	if in == nil {
		return fmt.Errorf("instance %s not found", id)
	}
	td := NewTypeData(typeName, "", entries)
	f.mutateLocked(in, typeName, func(o *overlay) { o.replace = td })
	return nil
}

// InstanceView is a read-only snapshot of an instance.
type InstanceView struct {
	ID, ImageID, InstanceType, State string
	Group, Lifecycle, Health         string
	Protected                        bool
	LaunchTemplateID                 string
	LaunchTemplateVersion            int
	Tags                             map[string]string
	LaunchTime                       time.Time
	AgentOnline                      bool
	Drifted                          bool // has an inventory overlay
}

func viewOf(in *Instance) InstanceView {
	t := make(map[string]string, len(in.Tags))
	for k, v := range in.Tags {
		t[k] = v
	}
	return InstanceView{ID: in.ID, ImageID: in.ImageID, InstanceType: in.InstanceType, State: in.State, Group: in.Group,
		Lifecycle: in.Lifecycle, Health: in.Health, Protected: in.Protected, LaunchTemplateID: in.LTID,
		LaunchTemplateVersion: in.LTVersion, Tags: t, LaunchTime: in.LaunchTime, AgentOnline: in.AgentOnline,
		Drifted: len(in.overlays) > 0}
}

// Instance returns a snapshot of an instance.
func (f *Fleet) Instance(id string) (InstanceView, bool) {
	f.Tick()
	f.mu.RLock()
	defer f.mu.RUnlock()
	in := f.instances[id]
	if in == nil {
		return InstanceView{}, false
	}
	return viewOf(in), true
}

// Instances returns snapshots of every instance (launch order).
func (f *Fleet) Instances() []InstanceView {
	f.Tick()
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]InstanceView, 0, len(f.order))
	for _, in := range f.order {
		out = append(out, viewOf(in))
	}
	return out
}

// GroupView is a read-only snapshot of an Auto Scaling group.
type GroupView struct {
	Name                  string
	Min, Max, Desired     int
	LaunchTemplateID      string
	LaunchTemplateVersion string
	Members               []InstanceView
	Suspended             []string
	RefreshStatus         []string // newest last
}

// Group returns a snapshot of an Auto Scaling group.
func (f *Fleet) Group(name string) (GroupView, bool) {
	f.Tick()
	f.mu.RLock()
	defer f.mu.RUnlock()
	g := f.groups[name]
	if g == nil {
		return GroupView{}, false
	}
	v := GroupView{Name: g.Name, Min: g.Min, Max: g.Max, Desired: g.Desired, LaunchTemplateID: g.LTID, LaunchTemplateVersion: g.LTVersion}
	for _, m := range g.members {
		v.Members = append(v.Members, viewOf(m))
	}
	for p := range g.Suspended {
		v.Suspended = append(v.Suspended, p)
	}
	sort.Strings(v.Suspended)
	for _, r := range g.refreshes {
		v.RefreshStatus = append(v.RefreshStatus, r.Status)
	}
	return v, true
}

// GroupMembers returns the ids of a group's members in launch order.
func (f *Fleet) GroupMembers(name string) []string {
	g, _ := f.Group(name)
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.ID)
	}
	return ids
}

// Summary describes the fleet in a few lines.
type Summary struct {
	AMIs, LaunchTemplates, Groups int
	Instances, Running, Drifted   int
	AgentOffline, Stale           int
	GroupNames                    []string
}

// Summary returns counts describing the fleet.
func (f *Fleet) Summary() Summary {
	f.Tick()
	f.mu.RLock()
	defer f.mu.RUnlock()
	sm := Summary{AMIs: len(f.amis), LaunchTemplates: len(f.lts), Groups: len(f.groups)}
	for n := range f.groups {
		sm.GroupNames = append(sm.GroupNames, n)
	}
	sort.Strings(sm.GroupNames)
	for _, in := range f.order {
		if in.State == StateTerminated {
			continue
		}
		sm.Instances++
		if in.State == StateRunning {
			sm.Running++
		}
		if len(in.overlays) > 0 {
			sm.Drifted++
		}
		if !in.AgentOnline {
			sm.AgentOffline++
		}
		if !in.staleAt.IsZero() {
			sm.Stale++
		}
	}
	return sm
}

func (sm Summary) String() string {
	return fmt.Sprintf("%d AMIs, %d launch templates, %d Auto Scaling groups (%s), %d instances (%d running, %d drifted, %d agent offline, %d stale inventory)",
		sm.AMIs, sm.LaunchTemplates, sm.Groups, strings.Join(sm.GroupNames, ", "), sm.Instances, sm.Running, sm.Drifted, sm.AgentOffline, sm.Stale)
}
