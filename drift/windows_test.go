package drift

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestWindowsVerCmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"10.0.19041.1", "10.0.19041.10", -1}, // numeric, not lexical
		{"10.0.19041.10", "10.0.19041.9", 1},
		{"10.0.19041.100", "10.0.19041.99", 1},
		{"1.2", "1.2.0", 0}, // a missing component is 0
		{"1.2", "1.2.0.0", 0},
		{"2.0.1924", "2.0.1924.0", 0},
		{"1.2", "1.2.1", -1},
		{"1.02", "1.2", 0}, // leading zeros
		{"1.010", "1.9", 1},
		{"99999999999999999999999.1", "99999999999999999999998.9", 1}, // no overflow
		{"2.0", "2.0a", -1},                                           // a suffix sorts after the bare number
		{"2.0a", "2.0b", -1},
		{"2.0B", "2.0b", -1}, // folded equal, then exact bytes
		{"2.0b", "2.1", -1},
		{"8.6.0", "8.6.0-beta", -1},
		{"beta", "0", -1}, // no leading digits sorts before any number
		{"1.beta", "1.0", -1},
		{"", "0", 0},
		{" 1.2 ", "1.2", 0},
		{"3.3.1142.0", "3.3.987.0", 1},
		{"14.38.33135.0", "14.38.33130.0", 1},
	} {
		if got := WindowsVerCmp(tc.a, tc.b); got != tc.want {
			t.Errorf("%q vs %q = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := WindowsVerCmp(tc.b, tc.a); got != -tc.want {
			t.Errorf("%q vs %q = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
		if got := CompareVersions(FormatWindows, tc.a, tc.b); got != tc.want && tc.a != tc.b {
			t.Errorf("CompareVersions(windows, %q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	// rpm's ordering would call 2.0.1924 a downgrade from 2.0.1924.0.
	if CompareVersions(FormatRPM, "2.0.1924", "2.0.1924.0") != -1 {
		t.Error("rpm ordering changed; the case above no longer shows why Windows needs its own")
	}
}

func TestWindowsVerCmpAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		WindowsVerCmp("10.0.19041.1", "10.0.19041.10")
		WindowsVerCmp("8.6.0-beta", "8.6.0b")
	})
	if n != 0 {
		t.Errorf("WindowsVerCmp allocates %.0f times, want 0", n)
	}
}

// numericRef orders purely numeric dotted versions with big integers,
// padding the shorter with zeros: the reference for WindowsVerCmp on them.
func numericRef(a, b string) (int, bool) {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for len(pa) < len(pb) {
		pa = append(pa, "0")
	}
	for len(pb) < len(pa) {
		pb = append(pb, "0")
	}
	for i := range pa {
		if !allDigits(pa[i]) || !allDigits(pb[i]) {
			return 0, false
		}
		x, _ := new(big.Int).SetString(pa[i], 10)
		y, _ := new(big.Int).SetString(pb[i], 10)
		if c := x.Cmp(y); c != 0 {
			return c, true
		}
	}
	return 0, true
}

func FuzzWindowsVerCmp(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.19041.1", "10.0.19041.10", "10.0.19041.9"}, {"1.2", "1.2.0", "1.2.0.1"}, {"2.0a", "2.0B", "2.0b"},
		{"8.6.0-beta", "8.6.0", "8.6"}, {"", ".", ".."}, {"beta", "0", "a.0"}, {"1..2", "1.0.2", "1.2"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := WindowsVerCmp(a, b), WindowsVerCmp(b, a)
		if ab != -ba {
			t.Fatalf("not antisymmetric: %q vs %q = %d, reverse %d", a, b, ab, ba)
		}
		if WindowsVerCmp(a, a) != 0 {
			t.Fatalf("%q is not equal to itself", a)
		}
		bc, ac := WindowsVerCmp(b, c), WindowsVerCmp(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if ab == 0 && ac != bc {
			t.Fatalf("%q == %q but they order differently against %q (%d, %d)", a, b, c, ac, bc)
		}
		if want, ok := numericRef(a, b); ok && want != ab {
			t.Fatalf("%q vs %q = %d, numeric reference says %d", a, b, ab, want)
		}
	})
}

func TestCanonicalArchWindows(t *testing.T) {
	for in, want := range map[string]string{"x64": "x86_64", "X64": "x86_64", "x86": "i386", " x86 ": "i386", "AMD64": "x86_64", "i386": "i386", "x86_64": "x86_64"} {
		if got := CanonicalArch(in); got != want {
			t.Errorf("CanonicalArch(%q) = %q, want %q", in, got, want)
		}
	}
	if got := DisplayArch(FormatWindows, "i386"); got != "i386" {
		t.Errorf("DisplayArch(windows, i386) = %q", got)
	}
}

// The Windows registry provider's entry becomes a Windows application:
// publisher kept, version whole (no epoch or release split out of it).
func TestPackageFromInventoryWindows(t *testing.T) {
	e := map[string]string{"Name": " Contoso Agent ", "PackageId": "{7D6E5F4A-3B2C-4D1E-9F8A-7B6C5D4E3F2A}", "Version": "1:2-3",
		"Publisher": " Contoso Ltd. ", "InstalledTime": "2026-11-20T00:00:00Z", "Architecture": "i386"}
	p := PackageFromInventory(e, FormatWindows)
	want := Package{Name: "Contoso Agent", Publisher: "Contoso Ltd.", Arch: "i386", Version: "1:2-3", EVR: "1:2-3", Format: FormatWindows}
	if p != want {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	// rpm and deb entries carry a Publisher (vendor, maintainer) that is
	// not part of their identity.
	r := PackageFromInventory(map[string]string{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023", "Publisher": "Amazon Linux", "Architecture": "x86_64"}, "")
	if r.Publisher != "" || r.Format != FormatRPM {
		t.Errorf("rpm entry: %+v", r)
	}
}

func TestUpdatesAndRolesFromInventory(t *testing.T) {
	us := UpdatesFromInventory([]map[string]string{
		{"HotFixId": "KB5034439", "Description": "Security Update", "InstalledTime": "Friday, November 20, 2026 12:00:00 AM", "InstalledBy": `NT AUTHORITY\SYSTEM`},
		{"HotFixId": " ", "Description": "Update"},
	})
	if len(us) != 1 || us[0].HotFixID != "KB5034439" || us[0].InstalledBy != `NT AUTHORITY\SYSTEM` {
		t.Errorf("updates: %+v", us)
	}
	rs := RolesFromInventory([]map[string]string{
		{"Name": "Web-Server", "Installed": "True", "InstalledState": "Installed", "FeatureType": "Role"},
		{"Name": "FS-SMB1", "Installed": "False", "InstalledState": "Removed", "FeatureType": "Feature"},
		{"Name": "Telnet-Client", "InstalledState": "Installed"}, // no Installed attribute: the state decides
		{"Name": "", "Installed": "True"},
	})
	if len(rs) != 3 || !rs[0].Installed || rs[1].Installed || rs[1].InstallState != "Removed" || !rs[2].Installed {
		t.Errorf("roles: %+v", rs)
	}
}

func TestTypeApplies(t *testing.T) {
	for _, tc := range []struct {
		typ, platform string
		want          bool
	}{
		{TypeApplication, PlatformLinux, true},
		{TypeApplication, PlatformWindows, true},
		{TypeWindowsUpdate, PlatformLinux, false},
		{TypeWindowsRole, PlatformMacOS, false},
		{TypeService, PlatformLinux, false},
		{TypeWindowsRegistry, PlatformLinux, false},
		{TypeWindowsUpdate, PlatformWindows, true},
		{TypeService, "windows", true},
		{TypeSystemdUnit, PlatformWindows, false},
		{TypeSystemdUnit, PlatformLinux, true},
		{TypeFileDigest, PlatformWindows, true},
		{"Custom:Sysctl", PlatformWindows, true},
		{TypeWindowsUpdate, "", true}, // unknown platform: asked for everything
		{TypeSystemdUnit, "", true},
	} {
		if got := TypeApplies(tc.typ, tc.platform); got != tc.want {
			t.Errorf("TypeApplies(%s, %q) = %v, want %v", tc.typ, tc.platform, got, tc.want)
		}
	}
}

func TestWindowsManifestErrors(t *testing.T) {
	win := func(m Manifest) Manifest { m.PackageFormat = FormatWindows; m.OSFamily = OSFamilyWindows; return m }
	for _, tc := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"epoch", win(Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "1"}}}), "packages[0].epoch: a Windows application has no epoch"},
		{"release", win(Manifest{Packages: []Package{{Name: "a", Version: "1", Release: "2"}}}), "packages[0].release: a Windows application has no release"},
		{"publisher control", win(Manifest{Packages: []Package{{Name: "a", Publisher: "x\x00", Version: "1"}}}), "packages[0].publisher: contains control character U+0000"},
		{"update id", win(Manifest{Updates: []Update{{HotFixID: " "}}}), "updates[0].hotfix_id: required"},
		{"update twice", win(Manifest{Updates: []Update{{HotFixID: "KB1"}, {HotFixID: "kb1"}}}), "updates: KB1 is listed twice"},
		{"role name", win(Manifest{Roles: []Role{{Installed: true}}}), "roles[0].name: required"},
		{"role not installed", win(Manifest{Roles: []Role{{Name: "Web-Server"}}}), "roles[0] (Web-Server): a baseline lists the roles that must be installed; installed is false"},
		{"role twice", win(Manifest{Roles: []Role{{Name: "A", Installed: true}, {Name: "A", Installed: true}}}), "roles: A is listed twice"},
		{"role control", win(Manifest{Roles: []Role{{Name: "A", Installed: true, DisplayName: "\x1b[2J"}}}), "roles[0].display_name: contains control character U+001B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Normalize()
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// Side-by-side installs of one application are not an error.
	m := win(Manifest{Packages: []Package{{Name: "a", Publisher: "p", Arch: "x64", Version: "1"}, {Name: "a", Publisher: "p", Arch: "x86_64", Version: "2"}}})
	if err := m.Normalize(); err != nil {
		t.Errorf("side-by-side versions: %v", err)
	}
}

func winSnapshot(now time.Time, ps ...Package) *Snapshot {
	for i := range ps {
		ps[i].Format = FormatWindows
	}
	s := &Snapshot{InstanceID: "i-1", AMI: "ami-0c1d2e3f4a5b6c7d8", CaptureTimes: map[string]time.Time{TypeApplication: now}, Packages: ps}
	s.Normalize()
	return s
}

// Publishers: an application of one name from two publishers is two
// applications; a manifest entry without publisher takes any publisher the
// manifest does not list for that name.
func TestComparePublishers(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := &Policy{Now: now}
	type fnd struct {
		pub, arch string
		change    Change
		dir       Direction
	}
	for _, tc := range []struct {
		name     string
		manifest []Package
		observed []Package
		want     []fnd
	}{
		{"same", []Package{{Name: "A", Publisher: "P", Arch: "x64", Version: "1.0"}}, []Package{{Name: "A", Publisher: "P", Arch: "x86_64", Version: "1.0.0"}}, nil},
		{"other publisher", []Package{{Name: "A", Publisher: "P", Arch: "x64", Version: "1.0"}}, []Package{{Name: "A", Publisher: "Q", Arch: "x86_64", Version: "1.0"}},
			[]fnd{{"P", "x86_64", ChangeRemoved, ""}, {"Q", "x86_64", ChangeAdded, ""}}},
		{"any publisher matches", []Package{{Name: "A", Arch: "x64", Version: "1.0"}}, []Package{{Name: "A", Publisher: "Q", Arch: "x86_64", Version: "1.0"}}, nil},
		{"any publisher changes", []Package{{Name: "A", Arch: "x64", Version: "1.0"}}, []Package{{Name: "A", Publisher: "Q", Arch: "x86_64", Version: "1.2"}},
			[]fnd{{"Q", "x86_64", ChangeChanged, DirectionUpgrade}}},
		{"listed publisher stays apart from any", []Package{{Name: "A", Arch: "x64", Version: "1.0"}, {Name: "A", Publisher: "P", Arch: "x64", Version: "2.0"}},
			[]Package{{Name: "A", Publisher: "Q", Arch: "x86_64", Version: "1.0"}, {Name: "A", Publisher: "P", Arch: "x86_64", Version: "1.9"}},
			[]fnd{{"P", "x86_64", ChangeChanged, DirectionDowngrade}}},
		{"two publishers fall to any", []Package{{Name: "A", Arch: "x64", Version: "1.0"}},
			[]Package{{Name: "A", Publisher: "Q", Arch: "x86_64", Version: "1.0"}, {Name: "A", Publisher: "R", Arch: "i386", Version: "1.0"}},
			[]fnd{{"R", "i386", ChangeAdded, DirectionNone}}},
		{"x86 beside x64", []Package{{Name: "A", Publisher: "P", Arch: "x64", Version: "1.0"}},
			[]Package{{Name: "A", Publisher: "P", Arch: "x86_64", Version: "1.0"}, {Name: "A", Publisher: "P", Arch: "i386", Version: "1.0"}},
			[]fnd{{"P", "i386", ChangeAdded, DirectionNone}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manifest{AMI: "ami-0c1d2e3f4a5b6c7d8", PackageFormat: FormatWindows, OSFamily: OSFamilyWindows, Packages: tc.manifest}
			if err := m.Normalize(); err != nil {
				t.Fatal(err)
			}
			r := Compare(m, winSnapshot(now, tc.observed...), p)
			var got []fnd
			for _, f := range r.Findings {
				got = append(got, fnd{f.Publisher, f.Arch, f.Change, f.Direction})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %+v, want %+v", r.Findings, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("finding %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// A Windows manifest compared with a perfect instance of itself is in sync,
// and SnapshotFromManifest reads its services as AWS:Service.
func TestWindowsSelfCompare(t *testing.T) {
	m := &Manifest{AMI: "ami-0c1d2e3f4a5b6c7d8", PackageFormat: FormatWindows, OSFamily: OSFamilyWindows,
		Packages: []Package{{Name: "A", Publisher: "P", Arch: "x64", Version: "1.0"}},
		Updates:  []Update{{HotFixID: "KB5034439"}},
		Services: []Service{{Name: "W3SVC", State: "Running", Enabled: "Automatic"}},
		Roles:    []Role{{Name: "Web-Server", Installed: true}},
	}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	s := SnapshotFromManifest(m)
	if _, ok := s.CaptureTimes[TypeService]; !ok {
		t.Errorf("capture types %v", s.CaptureTimes)
	}
	if r := Compare(m, s, &Policy{}); r.Verdict != VerdictInSync {
		t.Errorf("%s %+v", r.Verdict, r.Findings)
	}
	s.Services[0].State = "Stopped"
	s.Roles[0].Installed = false
	r := Compare(m, s, &Policy{})
	if r.Verdict != VerdictDrifted || len(r.Findings) != 2 || r.Findings[0].Attribute != "status" || r.Findings[1].Category != CategoryRole {
		t.Errorf("%s %+v", r.Verdict, r.Findings)
	}
}

// parseWindowsFuzz reads a fuzzed Windows manifest: one item per line,
// "app name|publisher|arch|version", "kb id", "svc name|status|start",
// "role name".
func parseWindowsFuzz(s string) *Manifest {
	m := &Manifest{AMI: "ami-0c1d2e3f4a5b6c7d8", PackageFormat: FormatWindows, OSFamily: OSFamilyWindows}
	for _, line := range strings.Split(s, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		f := strings.Split(rest, "|")
		at := func(i int) string {
			if i < len(f) {
				return f[i]
			}
			return ""
		}
		switch kind {
		case "app":
			m.Packages = append(m.Packages, Package{Name: at(0), Publisher: at(1), Arch: at(2), Version: at(3)})
		case "kb":
			m.Updates = append(m.Updates, Update{HotFixID: at(0)})
		case "svc":
			m.Services = append(m.Services, Service{Name: at(0), State: at(1), Enabled: at(2)})
		case "role":
			m.Roles = append(m.Roles, Role{Name: at(0), Installed: true})
		}
	}
	return m
}

// FuzzCompareWindows: comparisons of Windows baselines are deterministic
// and sorted, a baseline is in sync with a perfect instance of itself, and
// with explicit publishers and arches A→B mirrors B→A.
func FuzzCompareWindows(f *testing.F) {
	f.Add("app Amazon SSM Agent|Amazon Web Services|x64|3.3.1142.0\napp Contoso|Contoso Ltd.|x86|10.0.19041.1\nkb KB5034439\nsvc W3SVC|Running|Automatic\nrole Web-Server",
		"app Amazon SSM Agent|Amazon Web Services|x86_64|3.3.1142.10\napp Contoso|Contoso Ltd.|x64|10.0.19041.1\nkb KB5035857\nsvc W3SVC|Stopped|Disabled\nrole Telnet-Client")
	f.Add("app A||x64|1.0\napp A|P|x64|2.0", "app A|Q|x64|1.0\napp A|R|x86|1.0\napp A|P|x64|1.9")
	f.Add("app A|P||1.2\nsvc wuauserv|Stopped|Manual", "app A|P|i386|1.2.0\napp A|P|x86_64|1.2\nsvc wuauserv|Running|Manual")
	f.Fuzz(func(t *testing.T, a, b string) {
		p := &Policy{}
		ma, mb := parseWindowsFuzz(a), parseWindowsFuzz(b)
		if ma.Normalize() != nil || mb.Normalize() != nil {
			return
		}
		sb := SnapshotFromManifest(mb)
		r1 := Compare(ma, sb, p)
		j1, _ := EncodeReport(r1)
		j2, _ := EncodeReport(Compare(ma, sb, p))
		if string(j1) != string(j2) {
			t.Fatalf("not deterministic:\n%s\n%s", j1, j2)
		}
		for i := 1; i < len(r1.Findings); i++ {
			if compareFindings(r1.Findings[i-1], r1.Findings[i]) > 0 {
				t.Fatalf("findings not sorted: %+v", r1.Findings)
			}
		}
		if r := Compare(ma, SnapshotFromManifest(ma), p); r.Verdict != VerdictInSync && r.Verdict != VerdictUnknown {
			t.Fatalf("self-compare %s: %+v", r.Verdict, r.Findings)
		}
		for _, q := range append(append([]Package(nil), ma.Packages...), mb.Packages...) {
			if q.Arch == "" || q.Publisher == "" {
				return
			}
		}
		if len(ma.Packages) == 0 || len(mb.Packages) == 0 {
			return
		}
		r3 := Compare(mb, SnapshotFromManifest(ma), p)
		count := func(r Report) (add, rem, chg, up int) {
			for _, f := range r.Findings {
				switch {
				case f.Change == ChangeAdded:
					add++
				case f.Change == ChangeRemoved:
					rem++
				case f.Category == CategoryPackage:
					chg++
					if f.Direction == DirectionUpgrade {
						up++
					}
				}
			}
			return
		}
		a1, rm1, c1, u1 := count(r1)
		a3, rm3, c3, u3 := count(r3)
		if a1 != rm3 || rm1 != a3 || c1 != c3 || u1 != c3-u3 {
			t.Fatalf("A→B (+%d -%d ~%d ↑%d) does not mirror B→A (+%d -%d ~%d ↑%d)\nA→B %+v\nB→A %+v", a1, rm1, c1, u1, a3, rm3, c3, u3, r1.Findings, r3.Findings)
		}
	})
}
