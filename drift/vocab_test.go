package drift

import (
	"slices"
	"testing"
)

func TestFindingString(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want string
	}{
		{Finding{Category: CategoryPackage, Name: "openssl", Arch: "x86_64", Attribute: "version", Change: ChangeChanged, Direction: DirectionUpgrade,
			Expected: "3.0.8-1", Observed: "3.0.9-1", Severity: SeverityHigh}, "package openssl.x86_64 version changed: 3.0.8-1 → 3.0.9-1 (upgrade, high)"},
		{Finding{Category: CategoryPackage, Name: "curl", Arch: "x86_64", Attribute: "version", Change: ChangeRemoved, Expected: "8.5.0-1", Severity: SeverityLow},
			"package curl.x86_64 removed: was 8.5.0-1 (low)"},
		{Finding{Category: CategoryService, Name: "auditd", Attribute: "state", Change: ChangeChanged, Expected: "running", Observed: "stopped", Severity: SeverityHigh},
			"service auditd state changed: running → stopped (high)"},
		{Finding{Category: CategoryFile, Name: "/etc/motd", Change: ChangeAdded, Observed: "0644", Severity: SeverityInfo},
			"file /etc/motd added: 0644 (info)"},
		{Finding{Category: CategoryInstance, Name: "ami", Change: ChangeChanged}, "instance ami changed (none)"},
		// Inventory data is escaped: one line, whatever the instance reports.
		{Finding{Category: CategoryPackage, Name: "evil\x00pkg\x1b[2J", Arch: "x86_64", Change: ChangeAdded, Observed: "1\n2", Severity: SeverityLow},
			`package evil\x00pkg\x1b[2J.x86_64 added: 1\n2 (low)`},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestTopFindings(t *testing.T) {
	fs := []Finding{
		{Category: CategoryService, Name: "b", Severity: SeverityLow},
		{Category: CategoryFile, Name: "a", Severity: SeverityHigh},
		{Category: CategoryPackage, Name: "z", Severity: SeverityHigh},
		{Category: CategoryPackage, Name: "c", Severity: SeverityCritical},
		{Category: CategoryPackage, Name: "d", Severity: SeverityLow},
	}
	in := slices.Clone(fs)
	names := func(fs []Finding) (out []string) {
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	// Most severe first; ties in report order (packages, files, services, ...).
	if got, want := names(TopFindings(fs, -1)), []string{"c", "z", "a", "d", "b"}; !slices.Equal(got, want) {
		t.Errorf("all: %v, want %v", got, want)
	}
	top := TopFindings(fs, 2)
	if got, want := names(top), []string{"c", "z"}; !slices.Equal(got, want) {
		t.Errorf("top 2: %v, want %v", got, want)
	}
	// Its own slice, no longer than needed: it keeps neither fs nor the
	// findings beyond n alive, and writing to it does not touch fs.
	if cap(top) != 2 {
		t.Errorf("cap(top) = %d, want 2", cap(top))
	}
	top[0].Name = "changed"
	if !slices.EqualFunc(fs, in, func(a, b Finding) bool { return a == b }) {
		t.Errorf("input modified: %v", fs)
	}
	if got := TopFindings(nil, 3); len(got) != 0 {
		t.Errorf("nil input: %v", got)
	}
	if got := TopFindings(fs, 0); len(got) != 0 || cap(got) != 0 {
		t.Errorf("n=0: %v (cap %d)", got, cap(got))
	}
}
