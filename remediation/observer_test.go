package remediation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/scan"
)

func TestFromScan(t *testing.T) {
	start := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	first := start.Add(-3 * time.Hour)
	res := &scan.Result{Started: start, Instances: []scan.InstanceResult{
		{
			Report: &drift.Report{InstanceID: "i-0000000000000000a", ASG: "web", Verdict: drift.VerdictDrifted, Severity: drift.SeverityCritical,
				Reasons: []string{"package openssl downgraded"}, Findings: []drift.Finding{{Category: drift.CategoryPackage, Name: "openssl", Change: drift.ChangeChanged}}},
			History:  scan.History{ConsecutiveDrifted: 4, FirstDrifted: first, Counts: map[string]int{"package/critical": 1, "instance/high": 1}},
			Instance: scan.Instance{ID: "i-0000000000000000a", ASG: "web", Tags: map[string]string{drift.TagProtect: "true"}},
		},
		{
			Report: &drift.Report{InstanceID: "i-0000000000000000b", ASG: "web", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh,
				Findings: []drift.Finding{{Category: drift.CategoryInstance, Name: "ami", Change: drift.ChangeChanged}}},
			History: scan.History{ConsecutiveDrifted: 1, FirstDrifted: first, Counts: map[string]int{"instance/high": 1}},
		},
		{
			Report:   &drift.Report{InstanceID: "i-0000000000000000c", Verdict: drift.VerdictInSync},
			History:  scan.History{LastTransition: first},
			Instance: scan.Instance{ASG: "api"},
		},
		{Report: &drift.Report{InstanceID: "i-0000000000000000d", ASG: "web", Verdict: drift.VerdictUnknown}},
		{Report: nil},
	}}
	got := remediation.FromScan(res)
	if len(got) != 4 {
		t.Fatalf("got %d instances: %+v", len(got), got)
	}
	a, b, c, d := got[0], got[1], got[2], got[3]
	if a.ID != "i-0000000000000000a" || a.ASG != "web" || a.Verdict != drift.VerdictDrifted || a.Severity != drift.SeverityCritical ||
		a.ConsecutiveScans != 4 || !a.Since.Equal(first) || a.Reason != "package openssl downgraded" || a.AMIOnly || a.Tags[drift.TagProtect] != "true" {
		t.Errorf("drifted instance: %+v", a)
	}
	if !b.AMIOnly || b.ConsecutiveScans != 1 || b.Reason != "instance ami changed (none)" {
		t.Errorf("AMI-only instance: %+v", b)
	}
	if c.ASG != "api" || c.Verdict != drift.VerdictInSync || !c.Since.Equal(first) || c.AMIOnly {
		t.Errorf("in-sync instance: %+v", c)
	}
	if d.Verdict != drift.VerdictUnknown || !d.Since.Equal(start) {
		t.Errorf("unknown instance: %+v", d)
	}
	if remediation.FromScan(nil) != nil {
		t.Error("nil scan")
	}
}

func TestObserverSkipsFailedScans(t *testing.T) {
	// An engine without a reader would fail any cycle: a failed or nil scan
	// must not start one.
	o := remediation.Observer{Engine: remediation.NewEngine(remediation.Options{})}
	o.OnScan(t.Context(), nil)
	o.OnScan(t.Context(), &scan.Result{Err: errors.New("discovery failed")})
	// A partial scan (an event-driven refresh) never drives remediation.
	o.OnScan(t.Context(), &scan.Result{Partial: true})
	if o.Engine.Status().LastPlan != nil {
		t.Error("a cycle ran")
	}
}
