package fleet

import (
	"sort"
	"time"
)

// The accessors and the methods ending in Locked need the fleet's lock held
// (RLock for reading, Lock for the methods that change state). What they
// return belongs to the fleet: read it under the lock, change it only
// through the Locked methods or, for the exported fields a wire call sets
// (Health, Protected, a group's sizes, tags and hooks), under Lock.

// InstanceLocked returns the instance with this id (nil: none).
func (f *Fleet) InstanceLocked(id string) *Instance { return f.instances[id] }

// InstancesLocked returns every instance still visible, in launch order.
func (f *Fleet) InstancesLocked() []*Instance { return f.order }

// AMILocked returns the AMI with this id (nil: none).
func (f *Fleet) AMILocked(id string) *AMI { return f.amis[id] }

// AMIsLocked returns the AMIs in registration order.
func (f *Fleet) AMIsLocked() []*AMI {
	out := make([]*AMI, len(f.amiOrder))
	for i, id := range f.amiOrder {
		out[i] = f.amis[id]
	}
	return out
}

// LaunchTemplateLocked returns the launch template with this id (nil: none).
func (f *Fleet) LaunchTemplateLocked(id string) *LaunchTemplate { return f.lts[id] }

// LaunchTemplateNamedLocked returns the launch template with this name
// (nil: none).
func (f *Fleet) LaunchTemplateNamedLocked(name string) *LaunchTemplate { return f.ltByName[name] }

// LaunchTemplatesLocked returns every launch template, sorted by name.
func (f *Fleet) LaunchTemplatesLocked() []*LaunchTemplate {
	out := make([]*LaunchTemplate, 0, len(f.lts))
	for _, lt := range f.lts {
		out = append(out, lt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// GroupLocked returns the Auto Scaling group with this name (nil: none).
func (f *Fleet) GroupLocked(name string) *Group { return f.groups[name] }

// GroupsLocked returns every Auto Scaling group, sorted by name.
func (f *Fleet) GroupsLocked() []*Group {
	out := make([]*Group, 0, len(f.groups))
	for _, g := range f.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AMI is the image the instance was launched from (nil: an image the
// fleet does not know).
func (in *Instance) AMI() *AMI { return in.ami }

// LastActivity is the group's scaling activity that last concerned the
// instance (its launch or its termination).
func (in *Instance) LastActivity() *Activity { return in.activity }

// OfflineSince is when the node's agent went offline (zero: online).
func (in *Instance) OfflineSince() time.Time { return in.offlineSince }

// StandbyDecremented reports whether entering Standby decremented the
// group's desired capacity (ExitStandby then increments it again).
func (in *Instance) StandbyDecremented() bool { return in.standbyDecremented }

// PutHash is the ContentHash of the last PutInventory item of a type that
// carried one.
func (in *Instance) PutHash(typeName string) (string, bool) {
	h, ok := in.putHash[typeName]
	return h, ok
}

// ChangedTypes is the instance's own content of the inventory types that
// differ from its AMI's (nil content: the type was removed).
func (in *Instance) ChangedTypes() map[string]*TypeData { return in.merged }

// Members returns the group's members (InService or on their way in or
// out), in launch order.
func (g *Group) Members() []*Instance { return g.members }

// Refreshes returns the group's instance refreshes, oldest first.
func (g *Group) Refreshes() []*Refresh { return g.refreshes }

// Activities returns the group's scaling activities, oldest first (the
// last 1000).
func (g *Group) Activities() []*Activity { return g.activities }

// InstancesToUpdate is how many instances the refresh has still to
// replace (0 before it started).
func (r *Refresh) InstancesToUpdate() int {
	if !r.started {
		return 0
	}
	return r.total - r.done
}

// AddRefreshLocked starts r (Pending) on its group.
func (f *Fleet) AddRefreshLocked(g *Group, r *Refresh) { g.refreshes = append(g.refreshes, r) }

// DeleteGroupLocked deletes a group, terminating its members.
func (f *Fleet) DeleteGroupLocked(g *Group, now time.Time) {
	for _, m := range append([]*Instance(nil), g.members...) {
		f.ShutdownLocked(m, now)
		m.Lifecycle = LCTerminatingProceed
	}
	delete(f.groups, g.Name)
}

// EnterStandbyLocked moves an InService member to Standby, decrementing
// the desired capacity if dec, and returns the (successful) activity.
func (f *Fleet) EnterStandbyLocked(g *Group, in *Instance, dec bool, now time.Time) *Activity {
	in.Lifecycle = LCStandby
	in.standbyDecremented = dec
	if dec {
		g.Desired--
	}
	a := f.ActivityLocked(g, now, "Moving EC2 instance to Standby: "+in.ID, "At "+now.UTC().Format(time.RFC3339)+" user put instance "+in.ID+" into standby.")
	a.Status, a.End = "Successful", now
	return a
}

// ExitStandbyLocked returns a Standby member to service (a pending-state
// hop back to InService; running instances stay running) and returns the
// (successful) activity.
func (f *Fleet) ExitStandbyLocked(g *Group, in *Instance, now time.Time) *Activity {
	in.Lifecycle = LCPending
	in.readyAt = now
	if in.standbyDecremented {
		g.Desired++
	}
	in.standbyDecremented = false
	a := f.ActivityLocked(g, now, "Moving EC2 instance out of Standby: "+in.ID, "At "+now.UTC().Format(time.RFC3339)+" user moved instance "+in.ID+" out of standby.")
	in.Lifecycle = LCInService
	a.Status, a.End = "Successful", now
	return a
}

// ExtendHookLocked restarts the timeout of the lifecycle action the
// instance waits in (RecordLifecycleActionHeartbeat).
func (f *Fleet) ExtendHookLocked(in *Instance, timeout time.Duration, now time.Time) {
	in.hookDeadline = now.Add(timeout)
	f.ScheduleLocked(now)
}

// PutInventoryLocked stores one PutInventory item for the node. The item's
// CaptureTime is stored whether or not the content changed ("The
// PutInventory API doesn't update the inventory item type contents if the
// MD5 hash hasn't changed": the contents, not the CaptureTime); an item
// whose ContentHash is the stored one keeps the stored content.
func (f *Fleet) PutInventoryLocked(x *Instance, typeName, schemaVersion string, capture time.Time, contentHash *string, content []Entry, now time.Time) {
	if x.typeCapture == nil {
		x.typeCapture, x.putHash = map[string]putCapture{}, map[string]string{}
	}
	x.typeCapture[typeName] = putCapture{capture: capture, at: now}
	if h, ok := x.putHash[typeName]; ok && contentHash != nil && h == *contentHash {
		return // same hash: content kept
	}
	td := NewTypeData(typeName, schemaVersion, content)
	last, lastCapture := x.lastChange, x.changeCapture
	f.mutateLocked(x, typeName, func(o *overlay) { o.replace = td })
	x.lastChange, x.changeCapture = last, lastCapture // this item was reported, not the node's other types
	if contentHash != nil {
		x.putHash[typeName] = *contentHash
	} else {
		delete(x.putHash, typeName) // no hash to compare the next upload with
	}
	if x.inventoryAt.IsZero() || x.inventoryAt.After(now) {
		x.inventoryAt = now
	}
}

// StateCode is the EC2 instance state code of a state name.
func StateCode(state string) int { return stateCodes[state] }

// ScalingProcesses returns the Auto Scaling processes that can be
// suspended.
func ScalingProcesses() []string { return append([]string(nil), scalingProcesses...) }
