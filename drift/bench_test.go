package drift

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var benchNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// benchFleet builds a 1,000-package rpm manifest and a snapshot of the same
// packages with 10 differences (4 upgrades, 2 downgrades, 2 added, 2
// removed). Snapshot strings are separate copies, as they would be after
// decoding inventory.
func benchFleet(n int) (*Manifest, *Snapshot) {
	m := &Manifest{SchemaVersion: 1, AMI: "ami-0abc", PackageFormat: FormatRPM}
	for i := 0; i < n; i++ {
		m.Packages = append(m.Packages, Package{
			Name: fmt.Sprintf("pkg-%04d-lib", i), Arch: "x86_64", Epoch: []string{"", "1"}[i%7/6],
			Version: fmt.Sprintf("%d.%d.%d", i%5+1, i%13, i%3), Release: fmt.Sprintf("%d.amzn2023.0.%d", i%4+1, i%9),
			Format: FormatRPM,
		})
	}
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	s := &Snapshot{InstanceID: "i-0123456789abcdef0", AMI: "ami-0abc", ASG: "web",
		CaptureTimes: map[string]time.Time{TypeApplication: benchNow.Add(-time.Hour)}}
	for i, p := range m.Packages {
		q := Package{Name: strings.Clone(p.Name), Arch: strings.Clone(p.Arch), Epoch: strings.Clone(p.Epoch),
			Version: strings.Clone(p.Version), Release: strings.Clone(p.Release), Format: FormatRPM}
		switch i {
		case 100, 300, 500, 700:
			q.Release += ".1" // upgrade
		case 200, 400:
			q.Version = "0." + q.Version // downgrade
		case 600, 800:
			continue // removed
		}
		s.Packages = append(s.Packages, q)
	}
	s.Packages = append(s.Packages,
		Package{Name: "zz-added-1", Arch: "x86_64", Version: "1.0", Release: "1", Format: FormatRPM},
		Package{Name: "aa-added-2", Arch: "noarch", Version: "2.0", Release: "1", Format: FormatRPM})
	s.Normalize()
	return m, s
}

// benchDebFleet is benchFleet for a Debian image: the manifest spells the
// architecture amd64 (as dpkg and SBOMs do), the snapshot x86_64 (as the SSM
// agent reports it), and the 10 findings are displayed as amd64.
func benchDebFleet(n int) (*Manifest, *Snapshot) {
	m := &Manifest{SchemaVersion: 1, AMI: "ami-0abc", PackageFormat: FormatDeb}
	for i := 0; i < n; i++ {
		arch := "amd64"
		if i%11 == 0 {
			arch = "all"
		}
		m.Packages = append(m.Packages, Package{
			Name: fmt.Sprintf("pkg-%04d-lib", i), Arch: arch, Epoch: []string{"", "1"}[i%7/6],
			Version: fmt.Sprintf("%d.%d.%d", i%5+1, i%13, i%3), Release: fmt.Sprintf("%d+deb12u%d", i%4+1, i%9),
			Format: FormatDeb,
		})
	}
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	s := &Snapshot{InstanceID: "i-0123456789abcdef0", AMI: "ami-0abc", ASG: "api",
		CaptureTimes: map[string]time.Time{TypeApplication: benchNow.Add(-time.Hour)}}
	var entries []map[string]string
	for i, p := range m.Packages {
		v := CanonicalEVR(p.Epoch, p.Version, p.Release)
		switch i {
		case 100, 300, 500, 700:
			v += ".1" // upgrade
		case 200, 400:
			v = "0." + v // downgrade
		case 600, 800:
			continue // removed
		}
		arch := "x86_64"
		if p.Arch == "noarch" {
			arch = "all"
		}
		entries = append(entries, map[string]string{"Name": strings.Clone(p.Name), "Version": v, "Architecture": arch,
			"PackageId": p.Name + "_" + v + "_" + DisplayArch(FormatDeb, p.Arch) + ".deb"})
	}
	entries = append(entries,
		map[string]string{"Name": "zz-added-1", "Version": "1.0-1", "Architecture": "x86_64", "PackageId": "zz-added-1_1.0-1_amd64.deb"},
		map[string]string{"Name": "aa-added-2", "Version": "2.0-1", "Architecture": "all", "PackageId": "aa-added-2_2.0-1_all.deb"})
	s.Packages = PackagesFromInventory(entries, FormatDeb)
	s.Normalize()
	return m, s
}

func BenchmarkCompare(b *testing.B) {
	m, s := benchFleet(1000)
	cp, err := CompilePolicy(&Policy{Now: benchNow, MaxInventoryAge: 24 * time.Hour, Rules: []Rule{
		{ID: "ssm-agent", Name: "amazon-ssm-agent", Category: CategoryPackage, Action: ActionAllowUpgrade},
		{ID: "web-kernel", Scope: Scope{ASG: "web-*"}, Name: "kernel*", Action: ActionSeverity, Severity: SeverityHigh},
	}})
	if err != nil {
		b.Fatal(err)
	}
	r := cp.Compare(m, s)
	if len(r.Findings) != 10 {
		b.Fatalf("got %d findings, want 10: %+v", len(r.Findings), r.Findings)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r = cp.Compare(m, s)
	}
	_ = r
}

// BenchmarkCompareFleet compares 10,000 instances (each a distinct snapshot)
// against one shared manifest on one goroutine; ns/op is per fleet.
func BenchmarkCompareFleet(b *testing.B) {
	m, s0 := benchFleet(1000)
	const fleet = 10000
	snaps := make([]*Snapshot, 16) // distinct copies cycled over the fleet
	for i := range snaps {
		_, snaps[i] = benchFleet(1000)
		snaps[i].InstanceID = fmt.Sprintf("i-%017d", i)
	}
	_ = s0
	cp, err := CompilePolicy(&Policy{Now: benchNow, MaxInventoryAge: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < fleet; i++ {
			r := cp.Compare(m, snaps[i%len(snaps)])
			if r.Verdict != VerdictDrifted {
				b.Fatal(r.Verdict)
			}
		}
	}
}

// BenchmarkCompareDeb is BenchmarkCompare for a Debian fleet whose baseline
// says amd64 and whose agent says x86_64.
func BenchmarkCompareDeb(b *testing.B) {
	m, s := benchDebFleet(1000)
	cp, err := CompilePolicy(&Policy{Now: benchNow, MaxInventoryAge: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	r := cp.Compare(m, s)
	if len(r.Findings) != 10 {
		b.Fatalf("got %d findings, want 10: %+v", len(r.Findings), r.Findings)
	}
	for _, f := range r.Findings {
		if f.Arch != "amd64" && f.Arch != "all" {
			b.Fatalf("finding %s arch %q, want amd64 or all", f.Name, f.Arch)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r = cp.Compare(m, s)
	}
	_ = r
}
