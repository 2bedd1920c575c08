package drift_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

func TestParseRunningState(t *testing.T) {
	boot := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		entry map[string]string
		want  drift.RunningState
	}{
		{"everything known", map[string]string{"Kernel": " 6.1.112-122.189.amzn2023.x86_64 ", "BootTime": "2026-11-20T08:00:00Z",
			"RebootRequired": "true", "RebootRequiredSource": "needs-restarting", "RebootRequiredPackages": "glibc, kernel,,",
			"LivePatchState": "applied", "LivePatchSource": "kpatch", "LivePatches": "livepatch_a,livepatch_b"},
			drift.RunningState{Kernel: "6.1.112-122.189.amzn2023.x86_64", BootTime: boot, RebootKnown: true, RebootRequired: true,
				RebootSource: "needs-restarting", RebootPackages: []string{"glibc", "kernel"}, LivePatchKnown: true, LivePatchSource: "kpatch",
				LivePatches: []string{"livepatch_a", "livepatch_b"}}},
		{"nothing pending", map[string]string{"Kernel": "6.1.0-18-amd64", "RebootRequired": "FALSE", "LivePatchState": "none"},
			drift.RunningState{Kernel: "6.1.0-18-amd64", RebootKnown: true, LivePatchKnown: true}},
		{"unknowns", map[string]string{"Kernel": "unknown", "BootTime": "unknown", "RebootRequired": "unknown", "LivePatchState": "unknown", "LivePatches": "x"},
			drift.RunningState{}},
		{"missing attributes", map[string]string{}, drift.RunningState{}},
		{"applied without identifiers contradicts itself", map[string]string{"LivePatchState": "applied", "LivePatches": " , "},
			drift.RunningState{}},
		{"none with identifiers contradicts itself", map[string]string{"LivePatchState": "none", "LivePatches": "livepatch_a"},
			drift.RunningState{}},
		{"a kernel with a space is not a release", map[string]string{"Kernel": "6.1 evil", "RebootRequired": "yes"},
			drift.RunningState{}},
		{"boot time not RFC 3339", map[string]string{"BootTime": "2026-11-20 08:00:00"}, drift.RunningState{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := drift.ParseRunningState(tc.entry)
			if got.Kernel != tc.want.Kernel || !got.BootTime.Equal(tc.want.BootTime) || got.RebootKnown != tc.want.RebootKnown ||
				got.RebootRequired != tc.want.RebootRequired || got.RebootSource != tc.want.RebootSource ||
				!slices.Equal(got.RebootPackages, tc.want.RebootPackages) || got.LivePatchKnown != tc.want.LivePatchKnown ||
				got.LivePatchSource != tc.want.LivePatchSource || !slices.Equal(got.LivePatches, tc.want.LivePatches) {
				t.Errorf("ParseRunningState(%v)\n got %+v\nwant %+v", tc.entry, got, tc.want)
			}
		})
	}
}

func TestBaselineKernel(t *testing.T) {
	rpm := func(name, v, r, arch string) drift.Package {
		return drift.Package{Name: name, Version: v, Release: r, Arch: arch}
	}
	deb := func(name, v string) drift.Package { return drift.Package{Name: name, Version: v, Arch: "amd64"} }
	tests := []struct {
		name       string
		m          drift.Manifest
		want, from string
	}{
		{"al2023 kernel", drift.Manifest{PackageFormat: drift.FormatRPM, Packages: []drift.Package{
			rpm("bash", "5.2.15", "1.amzn2023.0.2", "x86_64"), rpm("kernel", "6.1.112", "122.189.amzn2023", "x86_64")}},
			"6.1.112-122.189.amzn2023.x86_64", "package kernel"},
		{"graviton arch spelt arm64", drift.Manifest{PackageFormat: drift.FormatRPM, Packages: []drift.Package{
			rpm("kernel", "6.1.112", "122.189.amzn2023", "arm64")}},
			"6.1.112-122.189.amzn2023.aarch64", "package kernel"},
		{"newest of several kernels", drift.Manifest{PackageFormat: drift.FormatRPM, Packages: []drift.Package{
			rpm("kernel", "6.1.112", "122.189.amzn2023", "x86_64"), rpm("kernel", "6.1.79", "99.167.amzn2023", "x86_64"),
			rpm("kernel-devel", "6.1.200", "1.amzn2023", "x86_64"), rpm("kernel-livepatch-6.1.112-122.189", "1.0", "3.amzn2023", "x86_64")}},
			"6.1.112-122.189.amzn2023.x86_64", "package kernel"},
		{"al2023 kernel6.12 beside kernel", drift.Manifest{PackageFormat: drift.FormatRPM, Packages: []drift.Package{
			rpm("kernel", "6.1.112", "122.189.amzn2023", "x86_64"), rpm("kernel6.12", "6.12.13", "37.199.amzn2023", "x86_64")}},
			"6.12.13-37.199.amzn2023.x86_64", "package kernel6.12"},
		{"rhel kernel-core", drift.Manifest{PackageFormat: drift.FormatRPM, Packages: []drift.Package{
			rpm("kernel-core", "5.14.0", "427.13.1.el9_4", "x86_64"), rpm("kernel-headers", "5.14.0", "427.20.1.el9_4", "x86_64")}},
			"5.14.0-427.13.1.el9_4.x86_64", "package kernel-core"},
		{"image builder list: no release, no arch", drift.Manifest{PackageFormat: drift.FormatRPM, NameVersionOnly: true, Packages: []drift.Package{
			{Name: "kernel", Version: "6.1.112"}}}, "", ""},
		{"debian linux-image", drift.Manifest{PackageFormat: drift.FormatDeb, Packages: []drift.Package{
			deb("linux-image-amd64", "6.1.90-1"), deb("linux-image-6.1.0-18-amd64", "6.1.76-1"), deb("linux-image-6.1.0-21-amd64", "6.1.90-1"),
			deb("linux-image-6.1.0-21-amd64-dbg", "6.1.90-1"), deb("linux-headers-6.1.0-22-amd64", "6.1.94-1")}},
			"6.1.0-21-amd64", "package linux-image-6.1.0-21-amd64"},
		{"ubuntu unsigned", drift.Manifest{PackageFormat: drift.FormatDeb, Packages: []drift.Package{
			deb("linux-image-aws", "6.8.0.1015.16"), deb("linux-image-unsigned-6.8.0-1015-aws", "6.8.0-1015.16")}},
			"6.8.0-1015-aws", "package linux-image-unsigned-6.8.0-1015-aws"},
		{"only the meta package", drift.Manifest{PackageFormat: drift.FormatDeb, Packages: []drift.Package{deb("linux-image-cloud-amd64", "6.1.90-1")}}, "", ""},
		{"stated running_kernel wins", drift.Manifest{PackageFormat: drift.FormatRPM, RunningKernel: "6.1.79-99.167.amzn2023.x86_64",
			Packages: []drift.Package{rpm("kernel", "6.1.112", "122.189.amzn2023", "x86_64")}}, "6.1.79-99.167.amzn2023.x86_64", "running_kernel"},
		{"captured running state", drift.Manifest{PackageFormat: drift.FormatRPM,
			Custom:   map[string]*drift.CustomType{drift.TypeRunningState: {Entries: []map[string]string{{"Name": "host", "Kernel": "6.1.79-99.167.amzn2023.x86_64"}}}},
			Packages: []drift.Package{rpm("kernel", "6.1.112", "122.189.amzn2023", "x86_64")}}, "6.1.79-99.167.amzn2023.x86_64", drift.TypeRunningState},
		{"windows", drift.Manifest{Packages: []drift.Package{{Name: "Amazon SSM Agent", Version: "3.3.40.0"}}}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, normalised := range []bool{false, true} {
				m := tc.m
				m.Packages = slices.Clone(tc.m.Packages)
				if normalised {
					if err := m.Normalize(); err != nil {
						t.Fatal(err)
					}
				}
				got, from := m.BaselineKernel()
				if got != tc.want || from != tc.from {
					t.Errorf("normalised=%v: BaselineKernel() = %q from %q, want %q from %q", normalised, got, from, tc.want, tc.from)
				}
			}
		})
	}
	// The choice does not depend on the order of the packages.
	m := drift.Manifest{PackageFormat: drift.FormatDeb, Packages: []drift.Package{
		deb("linux-image-6.1.0-21-amd64", "6.1.90-1"), deb("linux-image-6.1.0-21-cloud-amd64", "6.1.90-1")}}
	a, _ := m.BaselineKernel()
	slices.Reverse(m.Packages)
	if b, _ := m.BaselineKernel(); a != b {
		t.Errorf("order changes the baseline kernel: %q vs %q", a, b)
	}
}

// runtimeCase compares an AL2023 baseline with a snapshot that collected
// AWS:Application (equal to the baseline) and the given running state.
func runtimeCompare(t *testing.T, entries []map[string]string, captured time.Time, p *drift.Policy) drift.Report {
	t.Helper()
	m := &drift.Manifest{AMI: "ami-1", PackageFormat: drift.FormatRPM, Packages: []drift.Package{
		{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023"}}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	s := &drift.Snapshot{InstanceID: "i-1", AMI: "ami-1",
		CaptureTimes: map[string]time.Time{drift.TypeApplication: p.Now, drift.TypeRunningState: captured},
		Packages:     []drift.Package{{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023", Format: drift.FormatRPM}},
		Custom:       map[string]*drift.CustomType{drift.TypeRunningState: {TypeName: drift.TypeRunningState, Entries: entries}},
	}
	s.Normalize()
	return drift.Compare(m, s, p)
}

func TestCompareRuntime(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := &drift.Policy{Now: now, MaxInventoryAge: 26 * time.Hour, DefaultSeverity: map[drift.Category]drift.Severity{drift.CategoryRuntime: drift.SeverityHigh}}
	ok := map[string]string{"Name": "host", "Kernel": "6.1.112-122.189.amzn2023.x86_64", "RebootRequired": "false", "LivePatchState": "none"}
	with := func(k, v string) map[string]string {
		e := map[string]string{}
		for a, b := range ok {
			e[a] = b
		}
		e[k] = v
		return e
	}
	tests := []struct {
		name     string
		entries  []map[string]string
		captured time.Time
		verdict  drift.Verdict
		findings []string
		reason   string
	}{
		{"as the baseline", []map[string]string{ok}, now, drift.VerdictInSync, nil, ""},
		{"reboot pending", []map[string]string{with("RebootRequired", "true")}, now, drift.VerdictDrifted,
			[]string{"runtime system reboot_required changed false->true high"}, "runtime system reboot_required changed"},
		{"other kernel, older", []map[string]string{with("Kernel", "6.1.79-99.167.amzn2023.x86_64")}, now, drift.VerdictDrifted,
			[]string{"runtime kernel running_kernel changed 6.1.112-122.189.amzn2023.x86_64->6.1.79-99.167.amzn2023.x86_64 high"}, "runtime kernel running_kernel changed (downgrade)"},
		{"live patches", []map[string]string{with("LivePatchState", "applied")}, now, drift.VerdictInSync, nil, "live patches not compared: unknown on the instance"},
		{"live patches listed", []map[string]string{with("LivePatches", "b,a")}, now, drift.VerdictInSync, nil, "live patches not compared"},
		{"stale", []map[string]string{with("RebootRequired", "true")}, now.Add(-27 * time.Hour), drift.VerdictInSync, nil,
			"running state not compared: Custom:RunningState captured 2026-11-24T09:00:00Z, older than 26h0m0s"},
		{"two entries", []map[string]string{ok, with("RebootRequired", "true")}, now, drift.VerdictInSync, nil,
			"running state not compared: Custom:RunningState has 2 entries, want 1"},
		{"no entry", nil, now, drift.VerdictInSync, nil, "running state not compared: Custom:RunningState has 0 entries, want 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runtimeCompare(t, tc.entries, tc.captured, p)
			var got []string
			for _, f := range r.Findings {
				got = append(got, strings.Join([]string{string(f.Category), f.Name, f.Attribute, string(f.Change), f.Expected + "->" + f.Observed, f.Severity.String()}, " "))
			}
			if r.Verdict != tc.verdict || !slices.Equal(got, tc.findings) {
				t.Errorf("verdict %s findings %q, want %s %q", r.Verdict, got, tc.verdict, tc.findings)
			}
			if tc.reason != "" && !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, tc.reason) }) {
				t.Errorf("reasons %q lack %q", r.Reasons, tc.reason)
			}
		})
	}
	// Live patch findings are named by source and identifier.
	e := with("LivePatchState", "applied")
	e["LivePatchSource"], e["LivePatches"] = "canonical-livepatch", "98.1"
	r := runtimeCompare(t, []map[string]string{e}, now, p)
	if len(r.Findings) != 1 || r.Findings[0].Name != "canonical-livepatch:98.1" || r.Findings[0].Attribute != drift.RuntimeLivePatch ||
		r.Findings[0].Change != drift.ChangeAdded || r.Counts["runtime/high"] != 1 {
		t.Errorf("canonical live patch: %+v counts %v", r.Findings, r.Counts)
	}
}

// TestRuntimeCategoryInPolicy: runtime is a category rules and default
// severities accept, and a rule can ignore one live patch source.
func TestRuntimeCategoryInPolicy(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if !slices.Contains(drift.Categories, drift.CategoryRuntime) {
		t.Fatalf("Categories %v lack runtime", drift.Categories)
	}
	p := &drift.Policy{Now: now, Rules: []drift.Rule{{ID: "ubuntu-livepatch", Category: drift.CategoryRuntime, Name: "canonical-livepatch:*", Attribute: drift.RuntimeLivePatch, Action: drift.ActionIgnore}}}
	if _, err := drift.CompilePolicy(p); err != nil {
		t.Fatal(err)
	}
	e := map[string]string{"Kernel": "6.1.112-122.189.amzn2023.x86_64", "RebootRequired": "false", "LivePatchState": "applied", "LivePatchSource": "canonical-livepatch", "LivePatches": "98.1"}
	if r := runtimeCompare(t, []map[string]string{e}, now, p); r.Verdict != drift.VerdictInSync || r.Suppressed != 1 {
		t.Errorf("ignored live patch: %s suppressed %d %+v", r.Verdict, r.Suppressed, r.Findings)
	}
	e["LivePatchSource"] = "sysfs"
	if r := runtimeCompare(t, []map[string]string{e}, now, p); r.Verdict != drift.VerdictDrifted || r.Findings[0].Name != "sysfs:98.1" {
		t.Errorf("a live patch from another source: %s %+v", r.Verdict, r.Findings)
	}
}

// TestCapturedRunningStateIsNotACustomType: a baseline captured with
// Custom:RunningState keeps the reference instance's boot time and running
// state; they are never compared attribute by attribute (every instance
// boots at its own time), only through the running state rules.
func TestCapturedRunningStateIsNotACustomType(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ref := map[string]string{"Name": "host", "Kernel": "6.1.112-122.189.amzn2023.x86_64", "BootTime": "2026-11-01T00:00:00Z", "RebootRequired": "false", "LivePatchState": "none"}
	m := &drift.Manifest{AMI: "ami-1", PackageFormat: drift.FormatRPM,
		Packages: []drift.Package{{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2"}},
		Custom:   map[string]*drift.CustomType{drift.TypeRunningState: {TypeName: drift.TypeRunningState, Entries: []map[string]string{ref}}}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	inst := map[string]string{"Name": "host", "Kernel": "6.1.112-122.189.amzn2023.x86_64", "BootTime": "2026-11-24T10:00:00Z", "RebootRequired": "false", "LivePatchState": "none"}
	s := &drift.Snapshot{InstanceID: "i-1", AMI: "ami-1",
		CaptureTimes: map[string]time.Time{drift.TypeApplication: now, drift.TypeRunningState: now},
		Packages:     []drift.Package{{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2", Format: drift.FormatRPM}},
		Custom:       map[string]*drift.CustomType{drift.TypeRunningState: {TypeName: drift.TypeRunningState, Entries: []map[string]string{inst}}}}
	s.Normalize()
	if r := drift.Compare(m, s, &drift.Policy{Now: now}); r.Verdict != drift.VerdictInSync || len(r.Reasons) != 0 {
		t.Errorf("same kernel, other boot time: %s %q %+v", r.Verdict, r.Reasons, r.Findings)
	}
	inst["Kernel"] = "6.1.115-126.197.amzn2023.x86_64"
	r := drift.Compare(m, s, &drift.Policy{Now: now})
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Expected != ref["Kernel"] {
		t.Errorf("kernel other than the captured one: %s %+v", r.Verdict, r.Findings)
	}
	// Without the running state collected, the captured one is not listed
	// as "not compared" either (the manifest lists no category of it).
	delete(s.CaptureTimes, drift.TypeRunningState)
	if r := drift.Compare(m, s, &drift.Policy{Now: now}); r.Verdict != drift.VerdictInSync || len(r.Reasons) != 0 {
		t.Errorf("not collected: %s %q", r.Verdict, r.Reasons)
	}
}

// FuzzParseRunningState: any entry an instance reports parses, and compares
// without a panic; unknown facts never yield a finding.
func FuzzParseRunningState(f *testing.F) {
	f.Add("6.1.112-122.189.amzn2023.x86_64", "2026-11-20T08:00:00Z", "true", "kernel,glibc", "applied", "kpatch", "livepatch_a,livepatch_b")
	f.Add("unknown", "unknown", "unknown", "", "unknown", "none", "")
	f.Add("6.1.0-18-amd64", "", "false", "", "none", "canonical-livepatch", ",,")
	f.Add(" x y ", "2026-13-40T99:00:00Z", "TRUE", "\x00", "APPLIED", "sysfs", "a\x1b[2J")
	f.Fuzz(func(t *testing.T, kernel, boot, reboot, pkgs, lpState, lpSource, lps string) {
		e := map[string]string{"Kernel": kernel, "BootTime": boot, "RebootRequired": reboot, "RebootRequiredPackages": pkgs,
			"LivePatchState": lpState, "LivePatchSource": lpSource, "LivePatches": lps}
		rs := drift.ParseRunningState(e)
		if strings.ContainsAny(rs.Kernel, " \t") {
			t.Errorf("kernel %q has white space", rs.Kernel)
		}
		if !rs.LivePatchKnown && len(rs.LivePatches) > 0 {
			t.Errorf("unknown live patches listed: %q", rs.LivePatches)
		}
		if rs.RebootRequired && !rs.RebootKnown {
			t.Error("reboot required but unknown")
		}
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		r := runtimeCompare(t, []map[string]string{e}, now, &drift.Policy{Now: now})
		n := 0
		if rs.Kernel != "" && rs.Kernel != "6.1.112-122.189.amzn2023.x86_64" {
			n++
		}
		if rs.RebootRequired {
			n++
		}
		n += len(rs.LivePatches)
		if len(r.Findings) != n {
			t.Errorf("%d findings for %+v, want %d: %+v", len(r.Findings), rs, n, r.Findings)
		}
		for _, f := range r.Findings {
			if f.Category != drift.CategoryRuntime || f.Type != drift.TypeRunningState {
				t.Errorf("finding %+v", f)
			}
		}
	})
}
