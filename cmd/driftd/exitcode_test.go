package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
)

func TestScanExitCodeDecision(t *testing.T) {
	for _, tc := range []struct {
		name    string
		summary map[drift.Verdict]int
		code    int
		msg     string
	}{
		{"empty selection", map[drift.Verdict]int{}, 0, ""},
		{"all in sync", map[drift.Verdict]int{drift.VerdictInSync: 5}, 0, ""},
		{"in sync and exempt", map[drift.Verdict]int{drift.VerdictInSync: 5, drift.VerdictExempt: 2}, 0, ""},
		{"all exempt", map[drift.Verdict]int{drift.VerdictExempt: 2}, 0, ""},
		{"drift", map[drift.Verdict]int{drift.VerdictInSync: 5, drift.VerdictDrifted: 1}, 1, ""},
		{"drift wins over not checked", map[drift.Verdict]int{drift.VerdictDrifted: 1, drift.VerdictUnknown: 3, drift.VerdictNoBaseline: 3}, 1, ""},
		{"all no_baseline", map[drift.Verdict]int{drift.VerdictNoBaseline: 7}, 3, "7 of 7 instances not checked (no_baseline=7)"},
		{"all unknown", map[drift.Verdict]int{drift.VerdictUnknown: 7}, 3, "7 of 7 instances not checked (unknown=7)"},
		{"one stale", map[drift.Verdict]int{drift.VerdictInSync: 6, drift.VerdictStale: 1}, 3, "1 of 7 instances not checked (stale=1)"},
		{"mixed", map[drift.Verdict]int{drift.VerdictInSync: 1, drift.VerdictUnknown: 1, drift.VerdictStale: 2, drift.VerdictNoBaseline: 3, drift.VerdictExempt: 1}, 3,
			"6 of 8 instances not checked (unknown=1 stale=2 no_baseline=3)"},
	} {
		code, err := scanExitCode(tc.summary)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if code != tc.code || !strings.HasPrefix(msg, tc.msg) || (tc.msg == "") != (err == nil) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
}

// TestScanExitsThreeWhenNotChecked reproduces the probe: every instance
// no_baseline (or unknown) made driftd scan exit 0, so CI could not tell
// "in sync" from "not checked".
func TestScanExitsThreeWhenNotChecked(t *testing.T) {
	sim, ids, cfg := simEnv(t)
	run := func() (int, string, error) {
		var out bytes.Buffer
		err := (&scanCmd{Config: cfg, Output: "json", out: &out}).Run(&Globals{})
		return exitCode(err), out.String(), err
	}
	// One agent offline: no drift, one instance unknown.
	if err := sim.Inject(ids[0], awssim.Drift{Action: awssim.DriftAgentOff}); err != nil {
		t.Fatal(err)
	}
	if code, out, err := run(); code != 3 || !strings.Contains(err.Error(), "1 of 3 instances not checked (unknown=1)") || !strings.Contains(out, `"unknown": 1`) {
		t.Fatalf("one unknown: exit %d (%v)\n%s", code, err, out)
	}
	// Drift elsewhere wins.
	if err := sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}); err != nil {
		t.Fatal(err)
	}
	if code, out, err := run(); code != 1 {
		t.Fatalf("drift and unknown: exit %d (%v)\n%s", code, err, out)
	}
	// No baseline at all: every instance no_baseline (or unknown).
	dir := filepath.Dir(cfg)
	matches, _ := filepath.Glob(filepath.Join(dir, "ami-*.json"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, err := run(); code != 3 || !strings.Contains(err.Error(), "3 of 3 instances not checked (no_baseline=3)") {
		t.Fatalf("no baselines: exit %d (%v)\n%s", code, err, out)
	}
}
