package alerting

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

// truncatedReport is a report listing 3 of its 5,000 findings.
func truncatedReport(total int) drift.Report {
	r := drift.Report{InstanceID: "i-1", ASG: "web", AMI: "ami-1", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh,
		FindingsTotal: total, Truncated: true, Counts: map[string]int{"package/high": 3, "package/low": total - 10, "file/low": 7}}
	for i := range 3 {
		r.Findings = append(r.Findings, drift.Finding{Category: drift.CategoryPackage, Name: fmt.Sprintf("p%d", i), Change: drift.ChangeAdded,
			Observed: "1", Severity: drift.SeverityHigh})
	}
	return r
}

// TestTruncatedReportNotifiesExactCounts: a report that lists only its most
// severe findings is announced with its exact total and category counts,
// and a change of the total alone is a drift.changed.
func TestTruncatedReportNotifiesExactCounts(t *testing.T) {
	st := FromReport(truncatedReport(5000))
	if st.FindingsTotal != 5000 || st.Summary != "5000 findings (4993 package, 7 file), max severity high" {
		t.Fatalf("state: total %d summary %q", st.FindingsTotal, st.Summary)
	}
	evs, next := Decide(NotifyState{}, []InstanceState{st}, t0, DedupConfig{})
	if len(evs) != 1 || evs[0].Type != EventDriftDetected || evs[0].FindingsTotal != 5000 || evs[0].Summary != st.Summary {
		t.Fatalf("events %+v", evs)
	}
	b := BuildBatch("b", t0, evs, Limits{MaxFindingsPerInstance: 2})
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		Groups []struct {
			Events []struct {
				Findings          []json.RawMessage `json:"findings"`
				FindingsTotal     int               `json:"findings_total"`
				FindingsTruncated int               `json:"findings_truncated"`
			} `json:"events"`
		} `json:"groups"`
	}
	must(t, json.Unmarshal(body, &payload))
	ev := payload.Groups[0].Events[0]
	if len(ev.Findings) != 2 || ev.FindingsTotal != 5000 || ev.FindingsTruncated != 4998 {
		t.Errorf("payload event: %d listed, total %d, truncated %d", len(ev.Findings), ev.FindingsTotal, ev.FindingsTruncated)
	}
	if err := validatePayload(t, loadSchema(t), body); err != nil {
		t.Errorf("payload does not match docs/webhook.schema.json: %v", err)
	}

	// Same listed findings, same total: nothing new.
	evs, next = Decide(next, []InstanceState{FromReport(truncatedReport(5000))}, t0.Add(time.Minute), DedupConfig{})
	if len(evs) != 0 {
		t.Fatalf("unchanged truncated report re-announced: %+v", evs)
	}
	// Same listed findings, more unlisted ones: drift.changed.
	evs, _ = Decide(next, []InstanceState{FromReport(truncatedReport(6000))}, t0.Add(2*time.Minute), DedupConfig{})
	if len(evs) != 1 || evs[0].Type != EventDriftChanged || evs[0].FindingsTotal != 6000 {
		t.Fatalf("grown truncated report: %+v", evs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
