package collectors

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

func TestInventoryTypesFor(t *testing.T) {
	all := []string{drift.TypeApplication, drift.TypeFileDigest, drift.TypeSystemdUnit, drift.TypeWindowsUpdate, drift.TypeService, drift.TypeWindowsRole, "Custom:Sysctl"}
	for _, tc := range []struct {
		agent *Agent
		want  string
	}{
		{&Agent{PlatformType: "Linux"}, "AWS:Application,Custom:FileDigest,Custom:SystemdUnit,Custom:Sysctl"},
		{&Agent{PlatformType: "Windows"}, "AWS:Application,Custom:FileDigest,AWS:WindowsUpdate,AWS:Service,AWS:WindowsRole,Custom:Sysctl"},
		{&Agent{PlatformType: "MacOS"}, "AWS:Application,Custom:FileDigest,Custom:SystemdUnit,Custom:Sysctl"},
		{&Agent{}, strings.Join(all, ",")}, // platform unknown: every type
		{nil, strings.Join(all, ",")},
	} {
		if got := strings.Join(InventoryTypesFor(Instance{ID: "i-1", Agent: tc.agent}, all), ","); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.agent, got, tc.want)
		}
	}
}

// A Windows instance's AWS:Application entries are Windows applications
// (publisher kept, version whole), its KBs and roles are read too.
func TestBuildSnapshotWindows(t *testing.T) {
	now := time.Date(2026, 11, 25, 11, 30, 0, 0, time.UTC)
	td := func(typ string, entries ...map[string]string) *TypeData {
		return &TypeData{TypeName: typ, Present: true, Complete: true, CaptureTime: now, Entries: entries}
	}
	types := []*TypeData{
		td(drift.TypeApplication, map[string]string{"Name": "Contoso Agent", "Publisher": "Contoso Ltd.", "Version": "10.0.19041.1", "Architecture": "i386", "PackageId": "{7D6E5F4A-3B2C-4D1E-9F8A-7B6C5D4E3F2A}"}),
		td(drift.TypeWindowsUpdate, map[string]string{"HotFixId": "KB5034439", "Description": "Security Update"}),
		td(drift.TypeWindowsRole, map[string]string{"Name": "Web-Server", "Installed": "True", "InstalledState": "Installed"}),
		td(drift.TypeService, map[string]string{"Name": "W3SVC", "Status": "Running", "StartType": "Automatic"}),
	}
	win := BuildSnapshot(Instance{ID: "i-1", AMI: "ami-0c1d2e3f4a5b6c7d8", Agent: &Agent{PlatformType: "Windows"}}, types, drift.FormatRPM)
	if p := win.Packages[0]; p.Format != drift.FormatWindows || p.Publisher != "Contoso Ltd." || p.EVR != "10.0.19041.1" {
		t.Errorf("windows package %+v", p)
	}
	if len(win.Updates) != 1 || len(win.Roles) != 1 || !win.Roles[0].Installed || len(win.Services) != 1 || len(win.CaptureTimes) != 4 {
		t.Errorf("windows snapshot %+v", win)
	}
	lin := BuildSnapshot(Instance{ID: "i-2", Agent: &Agent{PlatformType: "Linux"}}, types[:1], drift.FormatRPM)
	if p := lin.Packages[0]; p.Format != drift.FormatRPM || p.Publisher != "" {
		t.Errorf("linux package %+v", p)
	}
}
