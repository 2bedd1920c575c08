package fleet

import (
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// effectiveLocked returns an instance's content for a type (nil when none).
// Reads need f.mu held (read or write).
func (in *Instance) Effective(typeName string) *TypeData {
	if m, ok := in.merged[typeName]; ok {
		return m
	}
	if in.ami == nil {
		return nil
	}
	return in.ami.Inventory[typeName]
}

// types returns the inventory type names the instance reports.
func (in *Instance) Types() []string {
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

// HasInventory reports whether the node has reported inventory by now.
func (f *Fleet) HasInventory(in *Instance, now time.Time) bool {
	return in.Managed && !in.inventoryAt.IsZero() && !now.Before(in.inventoryAt)
}

// TypeDefined reports whether the account knows an inventory type (f.mu
// held, read or write). AWS:* types always exist (their names are checked by
// ValidTypeName). A Custom:* type exists once any instance's inventory has
// carried it: content injected or put with PutInventory (recorded by
// mutateLocked), or its AMI's content on an instance that has reported
// inventory (found here on first use and remembered).
func (f *Fleet) TypeDefined(typeName string, now time.Time) bool {
	if !strings.HasPrefix(typeName, "Custom:") {
		return true
	}
	if _, ok := f.definedTypes.Load(typeName); ok {
		return true
	}
	for _, x := range f.order {
		if x.ami != nil && x.ami.Inventory[typeName] != nil && f.HasInventory(x, now) {
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
func (f *Fleet) lastReport(in *Instance, now time.Time) time.Time {
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
		if !in.changeCapture.IsZero() {
			ct = in.changeCapture
		}
	}
	return ct
}

// phase is the time from a node's first inventory report to its second:
// InventoryInterval, or with Options.InventorySpread a per-node offset in
// (0, InventoryInterval] derived from the instance id, so that the nodes'
// schedules are spread over the interval as in a fleet whose nodes
// registered at different times.
func (f *Fleet) phase(in *Instance, iv time.Duration) time.Duration {
	secs := uint64(iv / time.Second)
	if !f.opts.InventorySpread || secs == 0 {
		return iv
	}
	h := fnv.New64a()
	h.Write([]byte(in.ID))
	return time.Duration(1+h.Sum64()%secs) * time.Second
}

// captureTime is the CaptureTime of the node's last report as of now.
func (f *Fleet) NodeCaptureTime(in *Instance, now time.Time) time.Time {
	return f.lastReport(in, now).Truncate(time.Second)
}

// putCapture is the CaptureTime a PutInventory item carried and when it
// arrived.
type putCapture struct {
	capture, at time.Time
}

// TypeCaptureTime is the CaptureTime ListInventoryEntries reports for one
// type: the last PutInventory item's CaptureTime until the node's agent
// reports again after it (custom inventory is re-read from the node's
// custom inventory directory and re-uploaded with a fresh CaptureTime at
// every run: aws/amazon-ssm-agent
// agent/plugins/inventory/gatherers/custom/customGatherer.go), else the
// node's last report.
func (f *Fleet) TypeCaptureTime(in *Instance, typeName string, now time.Time) time.Time {
	last := f.lastReport(in, now)
	if p, ok := in.typeCapture[typeName]; ok && !last.After(p.at) {
		return p.capture
	}
	return last.Truncate(time.Second)
}

// CaptureTime returns the CaptureTime ListInventoryEntries would report now
// for an instance's inventory type; false when the instance has no
// inventory (yet) or none of that type.
func (f *Fleet) CaptureTime(id, typeName string) (time.Time, bool) {
	now := f.now()
	f.Advance(now)
	f.mu.RLock()
	defer f.mu.RUnlock()
	in := f.instances[id]
	if in == nil || !f.HasInventory(in, now) || in.Effective(typeName) == nil {
		return time.Time{}, false
	}
	return f.TypeCaptureTime(in, typeName, now), true
}

// setOverlayLocked records a change to an instance's content for a type and
// re-materialises the merged view.
func (f *Fleet) mutateLocked(in *Instance, typeName string, fn func(o *overlay)) {
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
	// A change is reported at once by a new upload, and CaptureTime has
	// whole seconds: a change made after the last report but within its
	// second is reported with the next second as its CaptureTime (the agent
	// never uploads twice within a second; otherwise a reader that trusts an
	// unchanged CaptureTime would miss the change). A change at the very
	// instant of the report (a scenario's setup) is part of it.
	now := f.now()
	in.changeCapture = time.Time{}
	if last := f.lastReport(in, now); now.After(last) && !now.Truncate(time.Second).After(last.Truncate(time.Second)) {
		in.changeCapture = last.Truncate(time.Second).Add(time.Second)
	}
	in.lastChange = now
}
