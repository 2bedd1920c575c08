package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

// encoded is the report as json.Encoder writes it whole (the shape
// writeJSON must reproduce byte for byte).
func encoded(t testing.TB, rep ScanReport) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func streamed(t testing.TB, rep ScanReport) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeJSON(&b, rep, slices.Values(rep.Instances)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteJSONMatchesEncoder: the streamed report is the document
// json.Encoder writes for the whole report, for empty, small and awkward
// reports.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	golden := goldenReport()
	awkward := golden
	awkward.Instances = []ScanInstance{{InstanceID: `i-<script>&"\u2028'`, AMI: "ami-\u00e9\n\t", Verdict: drift.VerdictUnknown,
		Reasons:  []string{"", "instances", `"instances": []`, "\n  \"instances\": []"},
		Findings: []drift.Finding{{Category: drift.CategoryFile, Name: "/etc/<x>&", Expected: "a\x00b", Observed: "\U0001F600"}}}}
	awkward.APICost = &scan.Cost{Mode: "ssm_api", CallsTotal: 3, LowerBoundTotal: 3, Ratio: 1, Calls: map[string]int{"b": 2, "a": 1}}
	empty := golden
	empty.Instances = nil
	zeroSummary := ScanReport{Summary: map[drift.Verdict]int{}, Instances: []ScanInstance{{InstanceID: "i-1", AMI: "ami-1", Verdict: drift.VerdictInSync}}}
	for name, rep := range map[string]ScanReport{"golden": golden, "awkward": awkward, "no instances": empty, "empty summary": zeroSummary} {
		want := rep
		if want.Instances == nil {
			want.Instances = []ScanInstance{}
		}
		if got, exp := streamed(t, rep), encoded(t, want); !bytes.Equal(got, exp) {
			t.Errorf("%s: streamed report differs from json.Encoder's:\n%s\nwant:\n%s", name, got, exp)
		}
	}
}

// FuzzWriteJSON checks the equivalence for arbitrary strings.
func FuzzWriteJSON(f *testing.F) {
	f.Add("i-0123456789abcdef0", "package openssl-libs changed", "1.0", 2)
	f.Add(`"instances": []`, "\n  \"instances\": [", "<&>", 0)
	f.Fuzz(func(t *testing.T, id, reason, value string, n int) {
		rep := goldenReport()
		rep.Instances = nil
		for i := range n % 5 {
			rep.Instances = append(rep.Instances, ScanInstance{InstanceID: id, AMI: value, ASG: reason[:min(i, len(reason))],
				Verdict: drift.VerdictDrifted, Reasons: []string{reason},
				Findings: []drift.Finding{{Category: drift.CategoryPackage, Name: id, Expected: value, Observed: reason}}})
		}
		want := rep
		if want.Instances == nil {
			want.Instances = []ScanInstance{}
		}
		if got, exp := streamed(t, rep), encoded(t, want); !bytes.Equal(got, exp) {
			t.Fatalf("streamed report differs from json.Encoder's:\n%q\nwant:\n%q", got, exp)
		}
	})
}

// TestRenderScanJSON: the command's JSON output of a scan result decodes to
// the same report as the one built whole.
func TestRenderScanJSON(t *testing.T) {
	res := &scan.Result{Summary: map[drift.Verdict]int{drift.VerdictDrifted: 1, drift.VerdictInSync: 1},
		Instances: []scan.InstanceResult{
			{Report: &drift.Report{InstanceID: "i-1", AMI: "ami-1", ASG: "web", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh,
				Reasons: []string{"package x added"}, Findings: []drift.Finding{{Category: drift.CategoryPackage, Name: "x", Change: drift.ChangeAdded}}}},
			{Report: &drift.Report{InstanceID: "i-2", AMI: "ami-1", Verdict: drift.VerdictInSync}},
		},
		APICalls: scan.APICallStats{Total: 4, ByOperation: map[string]int{"ssm:ListInventoryEntries": 4}}}
	var b bytes.Buffer
	if err := renderScan(&b, "json", res); err != nil {
		t.Fatal(err)
	}
	want := reportHead(res)
	want.Instances = []ScanInstance{
		{InstanceID: "i-1", AMI: "ami-1", ASG: "web", Verdict: drift.VerdictDrifted, Severity: "high", Reasons: []string{"package x added"},
			Findings: []drift.Finding{{Category: drift.CategoryPackage, Name: "x", Change: drift.ChangeAdded}}},
		{InstanceID: "i-2", AMI: "ami-1", Verdict: drift.VerdictInSync},
	}
	if !bytes.Equal(b.Bytes(), encoded(t, want)) {
		t.Fatalf("renderScan json:\n%s\nwant:\n%s", b.Bytes(), encoded(t, want))
	}
	if want.Summary[drift.VerdictUnknown] != 0 || len(want.Summary) != len(drift.Verdicts) {
		t.Fatalf("summary lacks verdicts: %v", want.Summary)
	}
}
