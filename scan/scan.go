// Package scan is the contract between the daemon, which runs scans, and
// the engines that act on them (alerting, remediation): the Result of one
// scan and the Observer that receives it.
//
// A Result is plain data. It carries what the engines need about each
// instance — the drift report, its verdict history and the few discovery
// facts they read — in types of this package, so the engines depend on the
// domain (drift) and on this package only: never on the collectors that
// gathered the facts, nor on the daemon that produced the result. Each
// engine converts a Result once into its own input.
package scan

import (
	"context"
	"time"

	"github.com/driftd/driftd/drift"
)

// Observer is how an engine plugs into the daemon: after every scan —
// successful, failed, interrupted or partial — each observer's OnScan is
// called, in registration order, with the scan's result. Observers run on
// the scan goroutine before the next scan can start, under the scan's
// context (cancelled on shutdown); they must not modify the result and
// should bound their own work. A panicking observer is recovered and
// logged by the daemon.
type Observer interface {
	OnScan(ctx context.Context, r *Result)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, r *Result)

// OnScan implements Observer.
func (f ObserverFunc) OnScan(ctx context.Context, r *Result) { f(ctx, r) }

// Result is one scan's outcome.
type Result struct {
	ID       int64         `json:"id"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Duration time.Duration `json:"duration_ns"`
	// Err is set when the scan failed as a whole (EC2 discovery failed,
	// timeout before any verdict) or was interrupted. Instances is then
	// empty.
	Err error `json:"-"`
	// Interrupted is true when the scan was stopped because its caller's
	// context was cancelled (shutdown) rather than failing: observers must
	// not report it as a failure (no scan.failed), and it is not counted in
	// driftd_scans_total. A schedule.timeout deadline is a failure.
	Interrupted bool `json:"interrupted,omitempty"`
	// Partial is true when the scan covered only the instances it was asked
	// for (an event-driven refresh, driftd scan --instance): observers must
	// not treat absent instances as gone, nor fleet shares computed from it
	// as the fleet's.
	Partial bool `json:"partial,omitempty"`
	// Summary counts instances per verdict.
	Summary map[drift.Verdict]int `json:"summary"`
	// Instances holds every scanned instance, sorted by id.
	Instances []InstanceResult `json:"instances"`
	// Reused counts instances whose inventory was unchanged (CaptureTime)
	// and whose previous verdict was reused.
	Reused   int          `json:"reused"`
	APICalls APICallStats `json:"api_calls"`
	// Cost is the scan's API calls next to their lower bound.
	Cost *Cost `json:"api_cost,omitempty"`
	// Groups maps ASG name to its current launch-template AMI ("" unknown).
	Groups map[string]string `json:"groups,omitempty"`
	// InventoryTypesUnavailable lists the configured inventory types SSM
	// does not know in this account (InvalidTypeNameException): not
	// collected for any instance this scan.
	InventoryTypesUnavailable []TypeNote `json:"inventory_types_unavailable,omitempty"`
	// InventoryTypes maps each inventory type this scan asked SSM about to
	// whether it was unavailable (for driftd_inventory_type_unavailable).
	InventoryTypes map[string]bool `json:"-"`
	// AgentLookup is how SSM agent status was read: "list" (the region's
	// managed nodes, joined locally) or "ids" (batches of instance ids).
	AgentLookup string `json:"agent_lookup,omitempty"`
}

// Drifted returns the drifted instances of the scan.
func (r *Result) Drifted() []InstanceResult {
	var out []InstanceResult
	for _, in := range r.Instances {
		if in.Report.Verdict == drift.VerdictDrifted {
			out = append(out, in)
		}
	}
	return out
}

// Count returns the number of instances with verdict v.
func (r *Result) Count(v drift.Verdict) int { return r.Summary[v] }

// TypeNote is an inventory type not collected in a scan, with why.
type TypeNote struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// InstanceResult is one instance in a scan.
type InstanceResult struct {
	// Report is the comparison outcome. Its Findings list at most
	// drift.MaxFindings (the most severe); FindingsTotal and Counts are
	// exact. For reused verdicts its Findings are the retained top findings.
	Report *drift.Report `json:"report"`
	// Previous is the verdict of the previous scan ("" for a new instance).
	Previous drift.Verdict `json:"previous,omitempty"`
	// Transition is true when the verdict changed (or the instance is new
	// and not in_sync).
	Transition bool `json:"transition"`
	// Reused is true when the verdict was reused (inventory unchanged).
	Reused bool `json:"reused,omitempty"`
	// History is the instance's verdict history after this scan.
	History History `json:"history"`
	// Instance carries the discovery facts the engines read.
	Instance Instance `json:"-"`
}

// History is an instance's verdict history as the daemon remembers it
// after a scan: what debounce, "drifted since" and finding counts need.
type History struct {
	// FirstDrifted is when the current run of drifted verdicts began.
	FirstDrifted time.Time `json:"first_drifted,omitzero"`
	// ConsecutiveDrifted counts consecutive drifted scans, this one
	// included (0 when not drifted).
	ConsecutiveDrifted int `json:"consecutive_drifted,omitempty"`
	// LastTransition is when the verdict last changed.
	LastTransition time.Time `json:"last_transition,omitzero"`
	// FindingsTotal is the exact number of findings (drift.CountKey counts
	// in Counts), also for a reused verdict whose listed findings are only
	// the retained top ones.
	FindingsTotal int            `json:"findings_total,omitempty"`
	Counts        map[string]int `json:"counts,omitempty"`
}

// Instance is what discovery learned about an instance that the engines
// read: where it runs and its driftd:* tags.
type Instance struct {
	ID string
	// AMI is the AMI the root volume runs.
	AMI string
	ASG string
	// LaunchTemplateAMI is the AMI the instance's group launches now ("" when
	// unknown or not in a group).
	LaunchTemplateAMI string
	// Tags holds only the driftd:* tags (drift.TagPrefix).
	Tags map[string]string
	// Managed is true when SSM reported the instance's agent status.
	Managed bool
}

// APICallStats summarises API calls made during a scan.
type APICallStats struct {
	Total int `json:"total"`
	// ByOperation counts attempts (retries included) per "service:Operation".
	ByOperation map[string]int `json:"by_operation"`
	// Errors counts failed attempts per "service:Operation:Code".
	Errors map[string]int `json:"errors,omitempty"`
}

// Cost is a scan's API calls next to the lower bound for the same fleet
// facts (see internal/apicost).
type Cost struct {
	Mode string `json:"mode"`
	// Calls are the attempts made per "service:Operation" (retries included).
	Calls map[string]int `json:"calls"`
	// LowerBound is the minimum per "service:Operation".
	LowerBound      map[string]int `json:"lower_bound"`
	CallsTotal      int            `json:"calls_total"`
	LowerBoundTotal int            `json:"lower_bound_total"`
	// Ratio is CallsTotal / LowerBoundTotal.
	Ratio float64 `json:"ratio"`
	// DataSync holds the S3 listing/download counters (data sync mode).
	DataSync *DataSyncStats `json:"data_sync,omitempty"`
}

// DataSyncStats describe one scan's S3 work reading Resource Data Sync
// objects.
type DataSyncStats struct {
	// Keys is the number of keys listed, per type.
	Keys map[string]int `json:"keys"`
	// ListPages is the number of ListObjectsV2 pages read successfully, per type.
	ListPages map[string]int `json:"list_pages"`
	// Gets is the number of objects downloaded (changed or new).
	Gets int `json:"gets"`
	// NotModified counts conditional GETs answered 304 (restricted scans).
	NotModified int `json:"not_modified"`
	// Skipped counts objects not downloaded because their ETag was unchanged.
	Skipped int `json:"skipped"`
	// Bytes is the total of bytes decoded.
	Bytes int64 `json:"bytes"`
	// Listed is false for restricted scans, which address objects directly.
	Listed bool `json:"listed"`
	// ListFailed lists the types whose listing failed; their objects were
	// asked for directly (conditional GETs), one per instance.
	ListFailed []string `json:"list_failed,omitempty"`
}
