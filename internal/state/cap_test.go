package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

// TestRecordKeepsExactCountsOfATruncatedReport: a report listing only the
// most severe of its findings records its exact total and counts, and the
// entry keeps MaxFindings findings in an array of their own.
func TestRecordKeepsExactCountsOfATruncatedReport(t *testing.T) {
	r := drift.Report{InstanceID: "i-1", AMI: "ami-1", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh,
		FindingsTotal: 250_000, Truncated: true, Counts: map[string]int{"package/high": 10, "package/low": 249_990}}
	for i := range drift.MaxFindings {
		sev := drift.SeverityLow
		if i < 10 {
			sev = drift.SeverityHigh
		}
		r.Findings = append(r.Findings, drift.Finding{Category: drift.CategoryPackage, Name: fmt.Sprintf("p%04d", i), Change: drift.ChangeAdded, Severity: sev})
	}
	s := New()
	s.Record(&r, Inputs{}, time.Unix(0, 0))
	e, _ := s.Get("i-1")
	if e.FindingsTotal != 250_000 || e.Counts["package/low"] != 249_990 || e.Counts["package/high"] != 10 {
		t.Errorf("total %d counts %v", e.FindingsTotal, e.Counts)
	}
	if len(e.Findings) != MaxFindings || cap(e.Findings) != MaxFindings || e.Findings[9].Severity != drift.SeverityHigh || e.Findings[10].Severity != drift.SeverityLow {
		t.Errorf("kept %d findings (cap %d)", len(e.Findings), cap(e.Findings))
	}
	r.Counts["package/low"] = -1 // the entry owns its counts
	if e, _ := s.Get("i-1"); e.Counts["package/low"] != 249_990 {
		t.Error("entry shares the report's counts map")
	}
	// A report without counts (built by hand) is counted from its findings.
	s.Record(&drift.Report{InstanceID: "i-2", Verdict: drift.VerdictDrifted, Findings: r.Findings[:3]}, Inputs{}, time.Unix(0, 0))
	if e, _ := s.Get("i-2"); e.FindingsTotal != 3 || e.Counts["package/high"] != 3 {
		t.Errorf("hand-built report: total %d counts %v", e.FindingsTotal, e.Counts)
	}
}
