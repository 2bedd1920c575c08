package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

func ocsfScan() *scan.Result {
	sshd := drift.Finding{Category: drift.CategoryFile, Type: drift.TypeFileDigest, Name: "/etc/ssh/sshd_config", Attribute: "sha256",
		Change: drift.ChangeChanged, Expected: "9f86d08", Observed: "60303ae", Severity: drift.SeverityCritical}
	pkg := drift.Finding{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: "openssl", Attribute: "version",
		Change: drift.ChangeChanged, Expected: "3.0.8-1", Observed: "3.0.9-1", Direction: drift.DirectionUpgrade, Severity: drift.SeverityHigh}
	return &scan.Result{Finished: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Instances: []scan.InstanceResult{
		{Report: &drift.Report{InstanceID: "i-0a", AMI: "ami-1", ASG: "web", Verdict: drift.VerdictDrifted, Severity: drift.SeverityCritical,
			Findings: []drift.Finding{pkg, sshd}, FindingsTotal: 2, Counts: map[string]int{"file/critical": 1, "package/high": 1}}},
		{Report: &drift.Report{InstanceID: "i-0b", AMI: "ami-1", ASG: "web", Verdict: drift.VerdictInSync}},
		{Report: &drift.Report{InstanceID: "i-0c", AMI: "ami-2", Verdict: drift.VerdictStale, Reasons: []string{"inventory captured 49h ago (max 24h)"}}},
		{Report: &drift.Report{InstanceID: "i-0d", AMI: "ami-3", Verdict: drift.VerdictNoBaseline, Reasons: []string{"no baseline manifest for ami-3"}}},
		{Report: &drift.Report{InstanceID: "i-0e", AMI: "ami-1", Verdict: drift.VerdictExempt, Reasons: []string{"group exempt by policy"}}},
		{Report: nil},
	}}
}

// TestRenderOCSFGolden pins the OCSF Compliance Finding events of a scan.
func TestRenderOCSFGolden(t *testing.T) {
	var b bytes.Buffer
	if err := renderOCSF(&b, ocsfScan(), "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	golden(t, "scan_ocsf.golden.jsonl", b.Bytes())
}

// TestRenderOCSFRequiredAttributes: every event carries the attributes the
// OCSF 1.3.0 Compliance Finding class requires, with consistent ids.
func TestRenderOCSFRequiredAttributes(t *testing.T) {
	var b bytes.Buffer
	if err := renderOCSF(&b, ocsfScan(), "cn-north-1"); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	n := 0
	status := map[string]string{}
	for sc.Scan() {
		n++
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		for _, k := range []string{"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time", "metadata", "finding_info", "compliance", "cloud"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("line %d: no %s", n, k)
			}
		}
		if ev["class_uid"].(float64) != 2003 || ev["category_uid"].(float64) != 2 || ev["type_uid"].(float64) != 2003*100+ev["activity_id"].(float64) {
			t.Errorf("line %d: class %v category %v type %v", n, ev["class_uid"], ev["category_uid"], ev["type_uid"])
		}
		md := ev["metadata"].(map[string]any)
		fi := ev["finding_info"].(map[string]any)
		co := ev["compliance"].(map[string]any)
		if md["version"] != "1.3.0" || md["product"] == nil || fi["uid"] == "" || fi["title"] == "" || len(co["standards"].([]any)) == 0 {
			t.Errorf("line %d: metadata %v finding_info %v compliance %v", n, md, fi, co)
		}
		res := ev["resources"].([]any)[0].(map[string]any)
		if res["cloud_partition"] != "aws-cn" {
			t.Errorf("line %d: partition %v", n, res["cloud_partition"])
		}
		status[res["uid"].(string)] = co["status"].(string)
	}
	if n != 5 {
		t.Fatalf("%d events, want 5 (an instance without report is left out)", n)
	}
	want := map[string]string{"i-0a": "Fail", "i-0b": "Pass", "i-0c": "Warning", "i-0d": "Warning", "i-0e": "Exempt"}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("%s: compliance %q, want %q", id, status[id], st)
		}
	}
}

// TestScanOutputFlagAcceptsOCSF: the command's output flag lists ocsf.
func TestScanOutputFlagAcceptsOCSF(t *testing.T) {
	f, _ := reflect.TypeOf(scanCmd{}).FieldByName("Output")
	if !strings.Contains(f.Tag.Get("enum"), "ocsf") {
		t.Fatalf("--output enum %q does not accept ocsf", f.Tag.Get("enum"))
	}
}

// TestScanCommandOCSF: driftd scan --output ocsf against the simulated
// region: one event per instance, the drifted one failing, exit code 1.
func TestScanCommandOCSF(t *testing.T) {
	sim, ids, cfg := simEnv(t)
	if err := sim.Inject(ids[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := (&scanCmd{Config: cfg, Output: "ocsf", out: &out}).Run(&Globals{})
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v)", exitCode(err), err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d events:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		var ev OCSFEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		want := "Pass"
		if ev.Resources[0].UID == ids[0] {
			want = "Fail"
		}
		if ev.Compliance.Status != want || ev.Cloud.Region != "us-east-1" {
			t.Errorf("%s: %s in %s, want %s", ev.Resources[0].UID, ev.Compliance.Status, ev.Cloud.Region, want)
		}
	}
}
