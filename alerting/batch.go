package alerting

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/driftd/driftd/drift"
)

// PayloadVersion is the version of the JSON payload (webhook body, SNS
// message, EventBridge detail). Incompatible changes bump it.
const PayloadVersion = "1"

// Limits bound the detail of one notification (0 = unlimited).
type Limits struct {
	MaxInstancesPerGroup   int
	MaxFindingsPerInstance int
}

// Batch is one notification: the events of one scan (or one Emit call) for
// one sink, grouped by ASG. Its JSON form is the versioned payload described
// by docs/webhook.schema.json.
type Batch struct {
	Version string    `json:"version"`
	ID      string    `json:"id"`
	Source  string    `json:"source"`
	Time    time.Time `json:"time"`
	// EventCount is the number of events before truncation; TruncatedEvents
	// how many are not listed in Groups.
	EventCount      int     `json:"event_count"`
	TruncatedEvents int     `json:"truncated_events"`
	Groups          []Group `json:"groups"`

	// Active lists every announced drifted instance (firing alerts), filled
	// only for sinks that re-send the full set each scan (Alertmanager).
	Active []Event `json:"-"`
}

// Group holds the events of one ASG ("" for events not tied to an ASG).
type Group struct {
	ASG             string  `json:"asg"`
	EventCount      int     `json:"event_count"`
	TruncatedEvents int     `json:"truncated_events"`
	Events          []Event `json:"events"`
}

// Events returns the listed events of all groups.
func (b *Batch) Events() []Event {
	var out []Event
	for _, g := range b.Groups {
		out = append(out, g.Events...)
	}
	return out
}

var typeOrder = func() map[EventType]int {
	m := map[EventType]int{}
	for i, t := range EventTypes {
		m[t] = i
	}
	return m
}()

// BuildBatch groups events by ASG (groups sorted by name, fleet-level "" first),
// orders each group by event type, severity (highest first) and instance,
// keeps at most MaxInstancesPerGroup events per group and
// MaxFindingsPerInstance findings per event, and records what it left out.
// The input slice is not modified.
func BuildBatch(id string, now time.Time, events []Event, lim Limits) *Batch {
	b := &Batch{Version: PayloadVersion, ID: id, Source: "driftd", Time: now.UTC(), EventCount: len(events), Groups: []Group{}}
	byASG := map[string][]Event{}
	for _, ev := range events {
		byASG[ev.ASG] = append(byASG[ev.ASG], ev)
	}
	names := make([]string, 0, len(byASG))
	for n := range byASG {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		evs := byASG[n]
		sort.SliceStable(evs, func(i, j int) bool {
			a, c := evs[i], evs[j]
			if typeOrder[a.Type] != typeOrder[c.Type] {
				return typeOrder[a.Type] < typeOrder[c.Type]
			}
			if a.Severity != c.Severity {
				return a.Severity > c.Severity
			}
			if a.InstanceID != c.InstanceID {
				return a.InstanceID < c.InstanceID
			}
			return a.AMI < c.AMI
		})
		g := Group{ASG: n, EventCount: len(evs)}
		keep := evs
		if lim.MaxInstancesPerGroup > 0 && len(keep) > lim.MaxInstancesPerGroup {
			keep = keep[:lim.MaxInstancesPerGroup]
		}
		g.TruncatedEvents = len(evs) - len(keep)
		b.TruncatedEvents += g.TruncatedEvents
		g.Events = make([]Event, len(keep))
		for i, ev := range keep {
			g.Events[i] = truncateFindings(ev, lim.MaxFindingsPerInstance)
		}
		b.Groups = append(b.Groups, g)
	}
	return b
}

// truncateFindings keeps at most max findings (most severe first) and keeps
// FindingsTotal/FindingsTruncated consistent. max <= 0 keeps all.
func truncateFindings(ev Event, max int) Event {
	total := ev.FindingsTotal
	if total < len(ev.Findings) {
		total = len(ev.Findings)
	}
	fs := ev.Findings
	if max > 0 && len(fs) > max {
		fs = drift.TopFindings(fs, max)
	} else if len(fs) > 0 {
		fs = append(fs[:0:0], fs...)
	}
	ev.Findings = fs
	ev.FindingsTotal = total
	ev.FindingsTruncated = total - len(fs)
	if ev.Details != nil {
		d := make(map[string]string, len(ev.Details))
		for k, v := range ev.Details {
			d[k] = v
		}
		ev.Details = d
	}
	return ev
}

// FilterEvents keeps events whose type is in allow (nil/empty allow = all).
func FilterEvents(evs []Event, allow map[EventType]bool) []Event {
	if len(allow) == 0 {
		return evs
	}
	var out []Event
	for _, ev := range evs {
		if allow[ev.Type] {
			out = append(out, ev)
		}
	}
	return out
}

// fitJSON encodes v = b and, while the encoding exceeds limit bytes, sheds
// detail: first findings (halving the per-event cap down to zero), then
// events from the end of the largest group, keeping every count honest. It
// returns the encoding; b is modified in place to what was encoded.
func fitJSON(b *Batch, limit int) ([]byte, error) {
	findCap := -1
	for {
		body, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		if limit <= 0 || len(body) <= limit {
			return body, nil
		}
		maxF := 0
		for _, g := range b.Groups {
			for _, ev := range g.Events {
				if len(ev.Findings) > maxF {
					maxF = len(ev.Findings)
				}
			}
		}
		if maxF > 0 {
			if findCap < 0 || findCap >= maxF {
				findCap = maxF
			}
			findCap /= 2
			for gi := range b.Groups {
				for ei, ev := range b.Groups[gi].Events {
					if len(ev.Findings) > findCap {
						ev.Findings = ev.Findings[:findCap]
						ev.FindingsTruncated = ev.FindingsTotal - findCap
						if findCap == 0 {
							ev.Findings = nil
						}
						b.Groups[gi].Events[ei] = ev
					}
				}
			}
			continue
		}
		// Drop the last event of the largest group.
		gi := -1
		for i, g := range b.Groups {
			if len(g.Events) > 0 && (gi < 0 || len(g.Events) > len(b.Groups[gi].Events)) {
				gi = i
			}
		}
		if gi < 0 {
			return body, nil // nothing left to shed; send what we have
		}
		g := &b.Groups[gi]
		g.Events = g.Events[:len(g.Events)-1]
		g.TruncatedEvents++
		b.TruncatedEvents++
	}
}
