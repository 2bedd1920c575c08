package alerting

import (
	"context"
	"sync"

	"github.com/driftd/driftd/scan"
)

// Observer announces scans (scan.Observer): it converts each result once
// into the notifier's input (FromScan) and hands it to the current
// Notifier, which a configuration reload replaces (Swap) without losing
// what was announced.
type Observer struct {
	mu       sync.Mutex
	notifier *Notifier
	seeded   bool
}

var _ scan.Observer = (*Observer)(nil)

// NewObserver returns an observer announcing through n.
func NewObserver(n *Notifier) *Observer { return &Observer{notifier: n} }

// Notifier returns the current notifier.
func (o *Observer) Notifier() *Notifier {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.notifier
}

// Swap makes n the current notifier and returns the previous one (to be
// closed by the caller once its queue is flushed).
func (o *Observer) Swap(n *Notifier) *Notifier {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.notifier
	o.notifier = n
	return old
}

// OnScan implements scan.Observer. A scan interrupted by shutdown is not a
// failure: nothing is announced. A failed scan is (scan.failed). The first
// scan also seeds the deduplication from the instances' driftd:* tags, so a
// restart without a state file does not announce the fleet again.
func (o *Observer) OnScan(_ context.Context, r *scan.Result) {
	if r == nil || r.Interrupted {
		return
	}
	o.mu.Lock()
	n := o.notifier
	seed := !o.seeded && r.Err == nil
	o.seeded = o.seeded || seed
	o.mu.Unlock()
	if r.Err != nil {
		n.ScanFailed(r.Finished, r.Err.Error())
		return
	}
	states, tagged := FromScan(r, seed)
	if seed {
		n.SeedFromTags(tagged)
	}
	if r.Partial {
		n.ScanSubset(r.Finished, states)
		return
	}
	n.Scan(r.Finished, states)
}

// FromScan converts a scan result into Decide's input: every instance with
// a report, its findings known unchanged when its verdict was reused, with
// its exact finding total and its debounce count. withTags also returns the
// instances with their driftd:* tags (for SeedFromTags).
func FromScan(r *scan.Result, withTags bool) ([]InstanceState, []TaggedInstance) {
	states := make([]InstanceState, 0, len(r.Instances))
	var tagged []TaggedInstance
	for i := range r.Instances {
		in := &r.Instances[i]
		if in.Report == nil {
			continue
		}
		st := FromReport(*in.Report)
		st.FindingsUnchanged = in.Reused
		st.FindingsTotal = in.History.FindingsTotal
		st.ConsecutiveDrifted = in.History.ConsecutiveDrifted
		states = append(states, st)
		if withTags {
			tagged = append(tagged, TaggedInstance{InstanceID: in.Instance.ID, ASG: in.Instance.ASG, AMI: in.Instance.AMI, Tags: in.Instance.Tags})
		}
	}
	return states, tagged
}
