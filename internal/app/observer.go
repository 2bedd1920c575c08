package app

import (
	"context"
	"time"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
)

// ScanObserver is how other engines (alerting, remediation) plug into the
// daemon: after every scan — successful or not — each observer's OnScan is
// called, in registration order, with the scan's result. Observers run on
// the scan goroutine before the next scan can start, under the same context
// (cancelled on shutdown); they must not modify the result and should bound
// their own work. A panicking observer is recovered and logged.
type ScanObserver interface {
	OnScan(ctx context.Context, r *ScanResult)
}

// ObserverFunc adapts a function to ScanObserver.
type ObserverFunc func(ctx context.Context, r *ScanResult)

// OnScan implements ScanObserver.
func (f ObserverFunc) OnScan(ctx context.Context, r *ScanResult) { f(ctx, r) }

// ScanResult is one scan's outcome.
type ScanResult struct {
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
	// for (App.Scan with a non-empty list): observers must not treat absent
	// instances as gone, nor fleet shares computed from it as the fleet's.
	Partial bool `json:"partial,omitempty"`
	// Summary counts instances per verdict.
	Summary map[drift.Verdict]int `json:"summary"`
	// Instances holds every scanned instance, sorted by id.
	Instances []InstanceResult `json:"instances"`
	// Reused counts instances whose inventory was unchanged (CaptureTime)
	// and whose previous verdict was reused.
	Reused   int          `json:"reused"`
	APICalls APICallStats `json:"api_calls"`
	// Cost is the scan's API calls next to their lower bound (datasync.go).
	Cost *ScanCost `json:"api_cost,omitempty"`
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

// TypeNote is an inventory type not collected in a scan, with why.
type TypeNote struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// InstanceResult is one instance in a scan.
type InstanceResult struct {
	// Report is the comparison outcome. Its Findings list at most
	// drift.MaxFindings (the most severe); FindingsTotal and Counts are
	// exact. For reused verdicts its Findings are the retained top findings
	// (at most state.MaxFindings).
	Report *drift.Report `json:"report"`
	// Previous is the verdict of the previous scan ("" for a new instance).
	Previous drift.Verdict `json:"previous,omitempty"`
	// Transition is true when the verdict changed (or the instance is new
	// and not in_sync).
	Transition bool `json:"transition"`
	// Reused is true when the verdict was reused (inventory unchanged).
	Reused bool `json:"reused,omitempty"`
	// State is the instance's history after this scan (first drifted,
	// consecutive drifted scans for debounce).
	State state.Entry `json:"state"`
	// Instance carries the discovery facts (launch AMI, driftd:* tags,
	// agent status).
	Instance collectors.Instance `json:"-"`
}

// Drifted returns the drifted instances of the scan.
func (r *ScanResult) Drifted() []InstanceResult {
	var out []InstanceResult
	for _, in := range r.Instances {
		if in.Report.Verdict == drift.VerdictDrifted {
			out = append(out, in)
		}
	}
	return out
}

// Count returns the number of instances with verdict v.
func (r *ScanResult) Count(v drift.Verdict) int { return r.Summary[v] }
