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

// benchWindowsFleet is benchFleet for a Windows Server image: 1,000
// applications from 4 publishers (every third a 32-bit install), 200 KBs,
// 250 services and 300 roles and features (40 installed), read from entries
// shaped as the SSM agent reports them; 10 application differences (4
// upgrades, 2 downgrades, 2 removed, 2 added), the rest in sync.
func benchWindowsFleet(n int) (*Manifest, *Snapshot) {
	m := &Manifest{SchemaVersion: 1, AMI: "ami-0abc", OSFamily: OSFamilyWindows, PackageFormat: FormatWindows}
	pubs := []string{"Microsoft Corporation", "Amazon Web Services", "Contoso Ltd.", "Fabrikam, Inc."}
	for i := 0; i < n; i++ {
		m.Packages = append(m.Packages, Package{Name: fmt.Sprintf("Application %04d", i), Publisher: pubs[i%4],
			Arch: []string{"x64", "x64", "x86"}[i%3], Version: fmt.Sprintf("%d.%d.%d.%d", i%5+10, i%13, 19041+i%7, i%300)})
	}
	snap := &Snapshot{InstanceID: "i-0123456789abcdef0", AMI: "ami-0abc", ASG: "iis",
		CaptureTimes: map[string]time.Time{TypeApplication: benchNow.Add(-time.Hour), TypeWindowsUpdate: benchNow.Add(-time.Hour),
			TypeService: benchNow.Add(-time.Hour), TypeWindowsRole: benchNow.Add(-time.Hour)}}
	var apps, kbs, svcs, roles []map[string]string
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("KB50%05d", i*37)
		m.Updates = append(m.Updates, Update{HotFixID: id})
		kbs = append(kbs, map[string]string{"HotFixId": id, "Description": "Security Update", "InstalledBy": `NT AUTHORITY\SYSTEM`})
	}
	for i := 0; i < 250; i++ {
		name, status, start := fmt.Sprintf("Service%03d", i), []string{"Running", "Stopped"}[i%2], []string{"Automatic", "Manual", "Disabled"}[i%3]
		m.Services = append(m.Services, Service{Name: name, State: status, Enabled: start})
		svcs = append(svcs, map[string]string{"Name": name, "DisplayName": name, "Status": status, "StartType": start, "ServiceType": "Win32OwnProcess"})
	}
	for i := 0; i < 300; i++ {
		name, installed := fmt.Sprintf("Feature-%03d", i), i%8 == 0 && i < 320
		if installed {
			m.Roles = append(m.Roles, Role{Name: name, Installed: true})
		}
		roles = append(roles, map[string]string{"Name": name, "Installed": map[bool]string{true: "True", false: "False"}[installed], "InstalledState": "Available", "FeatureType": "Feature"})
	}
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	for i, p := range m.Packages {
		v := p.Version
		switch i {
		case 100, 300, 500, 700:
			v += ".1" // upgrade
		case 200, 400:
			v = "1." + v // downgrade
		case 600, 800:
			continue // removed
		}
		apps = append(apps, map[string]string{"Name": strings.Clone(p.Name), "Publisher": strings.Clone(p.Publisher), "Version": v,
			"Architecture": p.Arch, "PackageId": fmt.Sprintf("{%08X-0000-0000-0000-000000000000}", i), "InstalledTime": "2026-11-20T00:00:00Z"})
	}
	apps = append(apps,
		map[string]string{"Name": "zz added", "Publisher": "Contoso Ltd.", "Version": "1.0", "Architecture": "x86_64"},
		map[string]string{"Name": "aa added", "Publisher": "Contoso Ltd.", "Version": "2.0", "Architecture": "i386"})
	snap.Packages = PackagesFromInventory(apps, FormatWindows)
	snap.Updates, snap.Services, snap.Roles = UpdatesFromInventory(kbs), ServicesFromInventory(TypeService, svcs), RolesFromInventory(roles)
	snap.Normalize()
	return m, snap
}

// BenchmarkCompareWindows is BenchmarkCompare for a Windows fleet: the
// merge-join also keys on the publisher, and KBs, services and roles are
// compared too.
func BenchmarkCompareWindows(b *testing.B) {
	m, s := benchWindowsFleet(1000)
	cp, err := CompilePolicy(&Policy{Now: benchNow, MaxInventoryAge: 24 * time.Hour})
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
