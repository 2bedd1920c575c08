package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
)

// windowsAMI is a Windows Server 2022 IIS image as the SSM agent reports it:
// 64- and 32-bit applications, installed KBs, services, and every role and
// feature the server offers (a few installed).
var windowsAMI = awssim.AMISpec{
	Name: "windows-2022-iis-2026.11.1", Format: awssim.FormatWindows,
	Packages: []awssim.PackageSpec{
		{Name: "Amazon SSM Agent", Publisher: "Amazon Web Services", Version: "3.3.1142.0"},
		{Name: "AWS PV Drivers", Publisher: "Amazon Web Services", Version: "8.4.3"},
		{Name: "AWS Tools for Windows", Publisher: "Amazon Web Services Developer Relations", Version: "4.1.588.0", Arch: "x86"},
		{Name: "Contoso Line-of-Business Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1"},
		{Name: "Contoso Line-of-Business Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1", Arch: "x86"},
	},
	Updates: []awssim.UpdateSpec{{HotFixID: "KB5034439", Description: "Security Update"}, {HotFixID: "KB5034129"}, {HotFixID: "KB5033914"}},
	WindowsServices: []awssim.WindowsServiceSpec{
		{Name: "AmazonSSMAgent", DisplayName: "Amazon SSM Agent"},
		{Name: "W3SVC", DisplayName: "World Wide Web Publishing Service", ServiceType: "Win32ShareProcess", ServicesDependedOn: []string{"WAS", "HTTP"}},
		{Name: "WAS", DisplayName: "Windows Process Activation Service", ServiceType: "Win32ShareProcess", DependentServices: []string{"W3SVC"}},
		{Name: "Spooler", DisplayName: "Print Spooler", Status: "Stopped", StartType: "Disabled"},
		{Name: "wuauserv", DisplayName: "Windows Update", Status: "Stopped", StartType: "Manual", ServiceType: "Win32ShareProcess"},
	},
	Roles: []awssim.RoleSpec{
		{Name: "Web-Server", DisplayName: "Web Server (IIS)", FeatureType: "Role", SubFeatures: []string{"Web-WebServer"}},
		{Name: "Web-WebServer", DisplayName: "Web Server", FeatureType: "Role Service", Parent: "Web-Server", Path: `Web Server (IIS)\Web Server`},
		{Name: "NET-Framework-45-Core", DisplayName: ".NET Framework 4.8", FeatureType: "Feature"},
		{Name: "Web-Ftp-Server", DisplayName: "FTP Server", FeatureType: "Role Service", Parent: "Web-Server", Available: true},
		{Name: "Telnet-Client", DisplayName: "Telnet Client", Available: true},
	},
}

// TestWindowsFleetVerdicts is the closing table of Windows support: a group
// of Windows instances in the simulated region, one pristine and one each
// with a KB added, an application upgraded and a service disabled, scanned
// by the daemon with the default configuration next to a Linux group.
func TestWindowsFleetVerdicts(t *testing.T) {
	f, _, iis := windowsGroup(t, awssim.ManifestNative)
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	reports := byID(res)
	want := []struct {
		what     string
		verdict  drift.Verdict
		findings []string
	}{
		{"pristine", drift.VerdictInSync, nil},
		{"KB added", drift.VerdictDrifted, []string{"update KB5035857 added absent->installed"}},
		{"application upgraded", drift.VerdictDrifted, []string{"package Contoso Line-of-Business Agent changed 10.0.19041.1->10.0.19041.2"}},
		{"service disabled", drift.VerdictDrifted, []string{"service W3SVC changed Automatic->Disabled", "service W3SVC changed Running->Stopped"}},
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "instance\tcase\tverdict\tfindings")
	for i, w := range want {
		r := reports[iis[i]]
		if r == nil {
			t.Fatalf("%s (%s): no report", iis[i], w.what)
		}
		got := findingKeys(r)
		if r.Verdict != w.verdict || strings.Join(got, "; ") != strings.Join(w.findings, "; ") {
			t.Errorf("%s (%s): %s %q, want %s %q (reasons %v)", iis[i], w.what, r.Verdict, got, w.verdict, w.findings, r.Reasons)
		}
		var fs []string
		for _, f := range r.Findings {
			fs = append(fs, f.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", iis[i], w.what, r.Verdict, strings.Join(fs, "; "))
	}
	tw.Flush()
	t.Logf("Windows group iis:\n%s", table.String())
	// Every Windows type was collected and compared on the pristine
	// instance: nothing is said about a category left out.
	if r := reports[iis[0]]; len(r.Reasons) != 0 {
		t.Errorf("pristine: reasons %v", r.Reasons)
	}
	// The Linux groups next to it are judged as before, in sync, and are
	// never asked for the Windows types; the Windows instances are asked
	// for each of them and never for Custom:SystemdUnit.
	calls := inventoryCalls(f.sim)
	windowsTypes := []string{drift.TypeApplication, drift.TypeWindowsUpdate, drift.TypeService, drift.TypeWindowsRole}
	for _, id := range append(append([]string{}, f.web...), f.api...) {
		if r := reports[id]; r == nil || r.Verdict != drift.VerdictInSync {
			t.Errorf("Linux instance %s: %+v", id, r)
		}
		for k := range calls {
			if strings.Contains(k, id) && (strings.Contains(k, "AWS:Windows") || strings.Contains(k, drift.TypeService)) {
				t.Errorf("Linux instance asked for a Windows type: %s", k)
			}
		}
	}
	for _, id := range iis {
		for _, typ := range windowsTypes {
			if !hasCall(calls, id, typ) {
				t.Errorf("%s: %s not collected (calls %v)", id, typ, calls)
			}
		}
		if hasCall(calls, id, drift.TypeSystemdUnit) {
			t.Errorf("%s: asked for %s", id, drift.TypeSystemdUnit)
		}
	}
}

func hasCall(calls map[string]int, id, typ string) bool {
	for k := range calls {
		if strings.Contains(k, id) && strings.Contains(k, typ) {
			return true
		}
	}
	return false
}

// windowsGroup adds the Windows AMI (its baseline in the given format in
// the fixture's directory) and a group iis of four members: pristine, a KB
// added, an application upgraded, a service disabled.
func windowsGroup(t *testing.T, format string) (*fixture, string, []string) {
	t.Helper()
	f := newFixture(t)
	spec := windowsAMI
	spec.ManifestFormat = format
	ami, err := f.sim.AddAMI(spec)
	must(t, err)
	name, doc, err := f.sim.BaselineDocument(ami)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(f.dir, name), doc, 0o644))
	_, err = f.sim.AddLaunchTemplate("iis-lt", "m6i.large", ami)
	must(t, err)
	iis, err := f.sim.AddGroup(awssim.GroupSpec{Name: "iis", LaunchTemplateName: "iis-lt", Min: 0, Max: 10, Desired: 4}, time.Hour)
	must(t, err)
	drifts := []awssim.Drift{
		{Action: awssim.DriftInstallUpdate, Update: &awssim.UpdateSpec{HotFixID: "KB5035857", Description: "Security Update"}},
		{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "Contoso Line-of-Business Agent", Version: "10.0.19041.2", Arch: "x64"}},
		{Action: awssim.DriftDisableService, Service: &awssim.ServiceSpec{Name: "W3SVC"}},
	}
	for i, d := range drifts {
		must(t, f.sim.Inject(iis[i+1], d))
	}
	return f, ami, iis
}

// The same group judged against the AMI's CycloneDX SBOM (pkg:generic
// applications and KBs): applications and KBs are compared as with the
// native baseline; an SBOM has no services, so the disabled service is not
// judged (missing data is never drift).
func TestWindowsFleetCycloneDXBaseline(t *testing.T) {
	f, ami, iis := windowsGroup(t, awssim.ManifestCycloneDX)
	if _, err := os.Stat(filepath.Join(f.dir, ami+".cdx.json")); err != nil {
		t.Fatal(err)
	}
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	reports := byID(res)
	for i, w := range []struct {
		verdict  drift.Verdict
		findings []string
	}{
		{drift.VerdictInSync, nil},
		{drift.VerdictDrifted, []string{"update KB5035857 added absent->installed"}},
		{drift.VerdictDrifted, []string{"package Contoso Line-of-Business Agent changed 10.0.19041.1->10.0.19041.2"}},
		{drift.VerdictInSync, nil},
	} {
		r := reports[iis[i]]
		if got := findingKeys(r); r.Verdict != w.verdict || strings.Join(got, "; ") != strings.Join(w.findings, "; ") {
			t.Errorf("iis[%d]: %s %q, want %s %q (reasons %v)", i, r.Verdict, got, w.verdict, w.findings, r.Reasons)
		}
	}
}
