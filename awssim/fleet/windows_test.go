package fleet

import (
	"strings"
	"testing"
	"time"
)

func testFleet() *Fleet {
	return New(Options{Clock: NewManualClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)), AccountID: "123456789012", Region: "us-east-1",
		TerminatedRetention: time.Hour, Seed: 1}, nil)
}

// A Windows AMI takes Windows content only, and other AMIs none of it.
func TestWindowsSpecValidation(t *testing.T) {
	app := []PackageSpec{{Name: "Amazon SSM Agent", Publisher: "Amazon Web Services", Version: "3.3.1142.0"}}
	for _, tc := range []struct {
		spec AMISpec
		want string
	}{
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, Services: []ServiceSpec{{Name: "sshd.service"}}}, "services are systemd units; a Windows AMI lists windowsServices"},
		{AMISpec{Name: "w", Format: FormatWindows, Generate: &GenerateSpec{Count: 3}}, "generate makes rpm or deb packages"},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, Architecture: "arm64"}, "a Windows AMI is x86_64, not arm64"},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: []PackageSpec{{Name: "A", Version: "1", Arch: "arm64"}}}, `packages[0] (A): architecture "arm64" is not x64 (x86_64) or x86 (i386)`},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, Updates: []UpdateSpec{{HotFixID: "5034439"}}}, `updates[0]: hotFixId "5034439" is not KB and digits`},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, Updates: []UpdateSpec{{HotFixID: "KB1"}, {HotFixID: "kb1"}}}, "updates[1]: KB1 is listed twice"},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, WindowsServices: []WindowsServiceSpec{{DisplayName: "x"}}}, "windowsServices[0]: name is required"},
		{AMISpec{Name: "w", Format: FormatWindows, Packages: app, Roles: []RoleSpec{{}}}, "roles[0]: name is required"},
		{AMISpec{Name: "l", Packages: []PackageSpec{{Name: "bash", Version: "5"}}, Updates: []UpdateSpec{{HotFixID: "KB1"}}}, "updates, windowsServices and roles need format windows"},
		{AMISpec{Name: "l", Platform: "windows", Packages: []PackageSpec{{Name: "bash", Version: "5"}}}, "platform windows needs format windows"},
	} {
		_, err := testFleet().AddAMI(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// Drifts of a Windows instance change what the agent would report next,
// and refuse what it could not.
func TestWindowsDrifts(t *testing.T) {
	f := testFleet()
	win, err := f.AddAMI(AMISpec{Name: "w", Format: FormatWindows, Packages: demoWindowsApps, Updates: demoWindowsUpdates,
		WindowsServices: demoWindowsServices, Roles: demoWindowsRoles})
	if err != nil {
		t.Fatal(err)
	}
	lin, err := f.AddAMI(AMISpec{Name: "l", Packages: []PackageSpec{{Name: "bash", Version: "5.2.15", Release: "1.amzn2023"}}, Services: []ServiceSpec{{Name: "sshd.service"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.AddInstances(win, "m7i.large", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lids, err := f.AddInstances(lin, "m7i.large", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w, l := ids[0], lids[0]
	entries := func(id, typ string) []Entry {
		f.mu.RLock()
		defer f.mu.RUnlock()
		if td := f.instances[id].Effective(typ); td != nil {
			return td.Entries
		}
		return nil
	}
	find := func(id, typ, key, val string) []Entry {
		var out []Entry
		for _, e := range entries(id, typ) {
			if e[key] == val {
				out = append(out, e)
			}
		}
		return out
	}
	for _, tc := range []struct {
		id   string
		d    Drift
		want string // error, "" = accepted
	}{
		{w, Drift{Action: DriftInstallUpdate, Update: &UpdateSpec{HotFixID: "kb5035857"}}, ""},
		{w, Drift{Action: DriftRemoveUpdate, Update: &UpdateSpec{HotFixID: "KB5012170"}}, ""},
		{w, Drift{Action: DriftRemoveUpdate, Update: &UpdateSpec{HotFixID: "KB1"}}, "update KB1 is not installed"},
		{w, Drift{Action: DriftInstallUpdate, Update: &UpdateSpec{HotFixID: "Q123"}}, `update.hotFixId "Q123" is not KB and digits`},
		{w, Drift{Action: DriftInstallUpdate}, "install-update needs update.hotFixId"},
		{l, Drift{Action: DriftInstallUpdate, Update: &UpdateSpec{HotFixID: "KB1"}}, "install-update applies to Windows instances"},
		{w, Drift{Action: DriftUpgrade, Package: &PackageSpec{Name: "Contoso Line-of-Business Agent", Version: "10.0.19041.3", Arch: "x86"}}, ""},
		{w, Drift{Action: DriftUpgrade, Package: &PackageSpec{Name: "Amazon SSM Agent", Version: "3.3.1345.0", Arch: "x86"}}, "package Amazon SSM Agent is not installed"},
		{w, Drift{Action: DriftInstall, Package: &PackageSpec{Name: "7-Zip", Version: "23.01", Arch: "arm64"}}, `package 7-Zip: architecture "arm64" is not x64`},
		{w, Drift{Action: DriftRemove, Package: &PackageSpec{Name: "Microsoft Edge"}}, ""},
		{w, Drift{Action: DriftStopService, Service: &ServiceSpec{Name: "W32Time"}}, ""},
		{w, Drift{Action: DriftDisableService, Service: &ServiceSpec{Name: "WinRM"}}, ""},
		{w, Drift{Action: DriftDisableService, Service: &ServiceSpec{Name: "sshd.service"}}, "service sshd.service is not installed"},
		{l, Drift{Action: DriftDisableService, Service: &ServiceSpec{Name: "sshd.service"}}, ""},
	} {
		err := f.Inject(tc.id, tc.d)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: %v, want %q", tc.d.Action, tc.d, err, tc.want)
		}
	}
	if kb := find(w, TypeWindowsUpdate, "HotFixId", "KB5035857"); len(kb) != 1 || kb[0]["InstalledTime"] != "Friday, November 20, 2026 12:00:00 AM" {
		t.Errorf("installed KB: %v", kb)
	}
	if kb := find(w, TypeWindowsUpdate, "HotFixId", "KB5012170"); len(kb) != 0 || len(entries(w, TypeWindowsUpdate)) != 5 {
		t.Errorf("removed KB still there: %v", entries(w, TypeWindowsUpdate))
	}
	var contoso []string
	for _, e := range find(w, TypeApplication, "Name", "Contoso Line-of-Business Agent") {
		contoso = append(contoso, e["Architecture"]+" "+e["Version"]+" "+e["Publisher"])
	}
	if strings.Join(contoso, "; ") != "i386 10.0.19041.3 Contoso Ltd.; x86_64 10.0.19041.1 Contoso Ltd." {
		t.Errorf("32-bit upgrade: %v", contoso)
	}
	if len(find(w, TypeApplication, "Name", "Microsoft Edge")) != 0 {
		t.Error("Microsoft Edge not removed")
	}
	if s := find(w, TypeService, "Name", "W32Time"); len(s) != 1 || s[0]["Status"] != "Stopped" || s[0]["StartType"] != "Automatic" {
		t.Errorf("stopped: %v", s)
	}
	if s := find(w, TypeService, "Name", "WinRM"); len(s) != 1 || s[0]["Status"] != "Stopped" || s[0]["StartType"] != "Disabled" {
		t.Errorf("disabled: %v", s)
	}
	if u := find(l, TypeSystemdUnit, "Name", "sshd.service"); len(u) != 1 || u[0]["ActiveState"] != "inactive" || u[0]["UnitFileState"] != "disabled" {
		t.Errorf("disabled unit: %v", u)
	}
	// The published baseline lists the installed roles only.
	b, err := f.Manifest(win)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "Telnet-Client") || !strings.Contains(s, `"name": "Web-WebServer"`) || !strings.Contains(s, `"os_family": "windows"`) {
		t.Errorf("manifest:\n%s", s)
	}
}

// A scenario file describes a Windows AMI and its drifts with the same keys.
func TestWindowsScenarioFile(t *testing.T) {
	sc, err := ParseScenario([]byte(`amis:
  - name: windows-2022-iis
    format: windows
    packages:
      - {name: Amazon SSM Agent, publisher: Amazon Web Services, version: 3.3.1142.0}
      - {name: AWS Tools for Windows, publisher: Amazon Web Services Developer Relations, version: 4.1.588.0, arch: x86}
    updates: [{hotFixId: KB5034439, description: Security Update}]
    windowsServices: [{name: W3SVC, displayName: World Wide Web Publishing Service}, {name: Spooler, status: Stopped, startType: Disabled}]
    roles: [{name: Web-Server, displayName: Web Server (IIS), featureType: Role}, {name: Telnet-Client, available: true}]
launchTemplates: [{name: iis, versions: [windows-2022-iis]}]
groups: [{name: iis, launchTemplate: iis, min: 1, max: 4, desired: 2}]
drifts:
  - {group: iis, index: 1, action: install-update, update: {hotFixId: KB5035857}}
  - {group: iis, index: 1, action: disable-service, service: {name: W3SVC}}
`))
	if err != nil {
		t.Fatal(err)
	}
	f := testFleet()
	if err := f.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	ids := f.GroupMembers("iis")
	f.mu.RLock()
	defer f.mu.RUnlock()
	in := f.instances[ids[1]]
	if a := in.AMI(); a.Platform != "windows" || a.PlatformName != WindowsPlatformName {
		t.Errorf("platform %q %q", a.Platform, a.PlatformName)
	}
	if n := len(in.Effective(TypeWindowsUpdate).Entries); n != 2 {
		t.Errorf("%d updates, want 2", n)
	}
	if n := len(in.Effective(TypeWindowsRole).Entries); n != 2 {
		t.Errorf("%d roles, want 2", n)
	}
}
