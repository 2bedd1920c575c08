package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestScanReportsUnavailableTypes: in an account where no instance ever
// reported the default custom types, the scan still judges every instance
// from AWS:Application and says, in text and JSON, which types it could not
// collect and why.
func TestScanReportsUnavailableTypes(t *testing.T) {
	_, _, cfg := simEnv(t) // its AMI reports no Custom:* type
	var out bytes.Buffer
	cmd := &scanCmd{Config: cfg, Output: "json", out: &out}
	if err := cmd.Run(&Globals{}); exitCode(err) != 0 {
		t.Fatalf("exit %d (%v)\n%s", exitCode(err), err, out.String())
	}
	var rep ScanReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary["in_sync"] != 3 {
		t.Fatalf("summary %v", rep.Summary)
	}
	var types []string
	for _, n := range rep.InventoryTypesUnavailable {
		types = append(types, n.Type)
		if !strings.Contains(n.Reason, "not defined in this account") || !strings.Contains(n.Reason, n.Type) {
			t.Errorf("reason %q", n.Reason)
		}
	}
	if strings.Join(types, ",") != "Custom:FileDigest,Custom:SystemdUnit" {
		t.Fatalf("unavailable types %v\n%s", types, out.String())
	}
	// One failing call per unavailable type, not one per instance.
	if n := rep.APICalls.Errors["ssm:ListInventoryEntries:InvalidTypeNameException"]; n != 2 {
		t.Errorf("%d InvalidTypeNameException answers, want 2 (%v)", n, rep.APICalls.Errors)
	}

	out.Reset()
	cmd = &scanCmd{Config: cfg, Output: "table", out: &out}
	if err := cmd.Run(&Globals{}); exitCode(err) != 0 {
		t.Fatalf("table: exit %d (%v)", exitCode(err), err)
	}
	for _, typ := range types {
		if !strings.Contains(out.String(), "Not collected: inventory type "+typ+" is not defined in this account") {
			t.Errorf("table output lacks the note for %s:\n%s", typ, out.String())
		}
	}
}
