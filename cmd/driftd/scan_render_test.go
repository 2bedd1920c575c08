package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/driftd/driftd/drift"
)

// TestTableEscapesControlCharacters: reasons quoting inventory data with
// NUL, ESC or newlines print escaped, one row per instance.
func TestTableEscapesControlCharacters(t *testing.T) {
	rep := ScanReport{Summary: map[drift.Verdict]int{drift.VerdictDrifted: 1}, Instances: []ScanInstance{{
		InstanceID: "i-1", ASG: "web", AMI: "ami-1", Verdict: drift.VerdictDrifted, Severity: "low",
		Reasons: []string{"package evil\x00pkg\x1b[2J\nline.x86_64 added"},
	}}}
	var out bytes.Buffer
	writeTable(&out, rep)
	s := out.String()
	if !strings.Contains(s, `package evil\x00pkg\x1b[2J\nline.x86_64 added`) {
		t.Errorf("reason not escaped:\n%s", s)
	}
	if strings.ContainsAny(s, "\x00\x1b") || strings.Count(s, "\n") != 5 {
		t.Errorf("raw control characters or extra lines in:\n%q", s)
	}
}

// TestPlanCellsEscapeControlCharacters: remediation reasons quote report
// reasons, hence inventory data.
func TestPlanCellsEscapeControlCharacters(t *testing.T) {
	if got := trunc("package evil\x00pkg\x1b[2J added", 80); got != `package evil\x00pkg\x1b[2J added` {
		t.Errorf("trunc = %q", got)
	}
	if got := trunc(strings.Repeat("é", 50), 10); got != "ééé..." { // 7 bytes cut mid-rune
		t.Errorf("trunc cut a rune: %q", got)
	}
}
