package defaultpolicy

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

func TestDefaultRulesParseAndCompile(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatal(err)
	}
	rs := Rules()
	if len(rs) < 5 {
		t.Fatalf("%d default rules", len(rs))
	}
	for _, r := range rs {
		if !strings.HasPrefix(r.ID, "default-") || r.Reason == "" {
			t.Errorf("rule %q: ids start with default- and every rule has a reason", r.ID)
		}
		if r.Scope != (drift.Scope{}) {
			t.Errorf("rule %q: default rules are global", r.ID)
		}
	}
	rs[0].ID = "mutated"
	if Rules()[0].ID == "mutated" {
		t.Error("Rules returns shared storage")
	}
	if _, err := parse([]byte("rules:\n  - {id: x, action: nope}\n")); err == nil {
		t.Error("invalid policy accepted")
	}
	if _, err := parse([]byte("rulez: []\n")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestDefaultRulesBehaviour(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := &drift.Manifest{AMI: "ami-0abc1234def567890", PackageFormat: drift.FormatRPM,
		Packages: []drift.Package{{Name: "amazon-ssm-agent", Arch: "x86_64", Version: "3.3.40.0", Release: "1.amzn2023"}, {Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2"}},
		Files:    []drift.File{{Path: "/etc/hostname", Size: 10, HasSize: true}, {Path: "/etc/ssh/sshd_config", Size: 3667, HasSize: true}},
		Services: []drift.Service{{Name: "sshd.service", State: "active"}},
	}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	snap := func(agent string) *drift.Snapshot {
		s := &drift.Snapshot{InstanceID: "i-1", AMI: m.AMI, CaptureTimes: map[string]time.Time{drift.TypeApplication: now, drift.TypeFileDigest: now, drift.TypeSystemdUnit: now},
			Packages: []drift.Package{{Name: "amazon-ssm-agent", Arch: "x86_64", Version: agent, Release: "1.amzn2023", Format: drift.FormatRPM}, {Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2", Format: drift.FormatRPM}},
			Files:    []drift.File{{Path: "/etc/hostname", Size: 14, HasSize: true}, {Path: "/etc/ssh/sshd_config", Size: 3667, HasSize: true}},
			Services: []drift.Service{{Name: "sshd.service", State: "active"}, {Name: "session-4.scope", State: "active"}, {Name: "user@1000.service", State: "active"}},
		}
		s.Normalize()
		return s
	}
	p := &drift.Policy{Now: now, Rules: Rules()}
	if r := drift.Compare(m, snap("3.3.987.0"), p); r.Verdict != drift.VerdictInSync || r.Suppressed != 4 {
		t.Errorf("agent upgrade + per-instance noise: %s suppressed=%d %+v", r.Verdict, r.Suppressed, r.Findings)
	}
	r := drift.Compare(m, snap("3.2.582.0"), p)
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Direction != drift.DirectionDowngrade {
		t.Errorf("agent downgrade must drift: %s %+v", r.Verdict, r.Findings)
	}
}

// Windows self-mutators: the agent and Edge updating themselves, Defender's
// own updates, per-user services and trigger-start services are not drift;
// a KB someone installed and a disabled service still are.
func TestDefaultRulesWindows(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := &drift.Manifest{AMI: "ami-0c1d2e3f4a5b6c7d8", OSFamily: drift.OSFamilyWindows, PackageFormat: drift.FormatWindows,
		Packages: []drift.Package{
			{Name: "Amazon SSM Agent", Publisher: "Amazon Web Services", Arch: "x86_64", Version: "3.3.1142.0"},
			{Name: "Microsoft Edge", Publisher: "Microsoft Corporation", Arch: "i386", Version: "130.0.2849.80"},
		},
		Updates:  []drift.Update{{HotFixID: "KB5034439"}},
		Services: []drift.Service{{Name: "W3SVC", State: "Running", Enabled: "Automatic"}, {Name: "sppsvc", State: "Stopped", Enabled: "Automatic"}},
	}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	snap := func(mutate func(*drift.Snapshot)) *drift.Snapshot {
		s := drift.SnapshotFromManifest(m)
		s.CaptureTimes = map[string]time.Time{drift.TypeApplication: now, drift.TypeWindowsUpdate: now, drift.TypeService: now}
		mutate(s)
		s.Normalize()
		return s
	}
	p := &drift.Policy{Now: now, Rules: Rules()}
	noise := snap(func(s *drift.Snapshot) {
		s.Packages[0].Version, s.Packages[0].EVR = "3.3.1345.0", ""
		s.Packages[1].Version, s.Packages[1].EVR = "131.0.2903.51", ""
		s.Updates = append(s.Updates, drift.Update{HotFixID: "KB2267602"}, drift.Update{HotFixID: "KB4052623"})
		s.Services = append(s.Services, drift.Service{Name: "CDPUserSvc_2a3f5", State: "Running", Enabled: "Automatic"},
			drift.Service{Name: "OneSyncSvc_2a3f5", State: "Running", Enabled: "Automatic"})
		s.Services[1].State = "Running" // sppsvc, trigger start
	})
	if r := drift.Compare(m, noise, p); r.Verdict != drift.VerdictInSync || r.Suppressed != 7 {
		t.Errorf("self-mutators: %s suppressed=%d %+v", r.Verdict, r.Suppressed, r.Findings)
	}
	real := snap(func(s *drift.Snapshot) {
		s.Updates = append(s.Updates, drift.Update{HotFixID: "KB5035857"})
		s.Services[0].Enabled = "Disabled"
		s.Packages[0].Version, s.Packages[0].EVR = "3.3.987.0", "" // agent downgrade
	})
	r := drift.Compare(m, real, p)
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 3 {
		t.Errorf("real drift: %s %+v", r.Verdict, r.Findings)
	}
}

// TestDefaultRulesLivePatch: on Amazon Linux, kernel-livepatch-* packages
// and the live patches kpatch applies from them are expected; a live patch
// from another source, a removed livepatch package, a pending reboot and a
// running kernel other than the baseline's are not.
func TestDefaultRulesLivePatch(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	const kernel = "6.1.112-122.189.amzn2023.x86_64"
	lp := drift.Package{Name: "kernel-livepatch-6.1.112-122.189", Arch: "x86_64", Version: "1.0", Release: "3.amzn2023"}
	m := &drift.Manifest{AMI: "ami-0abc1234def567890", PackageFormat: drift.FormatRPM, Packages: []drift.Package{
		{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023"},
		{Name: "kpatch-runtime", Arch: "noarch", Version: "0.9.7", Release: "2.amzn2023"}}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	snap := func(pkgs []drift.Package, rs map[string]string) *drift.Snapshot {
		s := &drift.Snapshot{InstanceID: "i-1", AMI: m.AMI,
			CaptureTimes: map[string]time.Time{drift.TypeApplication: now, drift.TypeRunningState: now},
			Custom:       map[string]*drift.CustomType{drift.TypeRunningState: {Entries: []map[string]string{rs}}}}
		for _, p := range append(append([]drift.Package{}, m.Packages...), pkgs...) {
			p.Format, p.EVR = drift.FormatRPM, ""
			s.Packages = append(s.Packages, p)
		}
		s.Normalize()
		return s
	}
	state := func(kv ...string) map[string]string {
		e := map[string]string{"Name": "host", "Kernel": kernel, "RebootRequired": "false", "LivePatchState": "applied",
			"LivePatchSource": "kpatch", "LivePatches": "livepatch_CVE_2023_4623,livepatch_CVE_2023_52340"}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	p := &drift.Policy{Now: now, Rules: Rules()}
	tests := []struct {
		name     string
		pkgs     []drift.Package
		rs       map[string]string
		verdict  drift.Verdict
		findings []string // category/name/attribute
	}{
		{"kpatch live patches from kernel-livepatch packages", []drift.Package{lp}, state(), drift.VerdictInSync, nil},
		{"a newer livepatch package (upgrade)", []drift.Package{{Name: lp.Name, Arch: "x86_64", Version: "1.0", Release: "4.amzn2023"}}, state(), drift.VerdictInSync, nil},
		{"canonical-livepatch is not Amazon Linux's", nil, state("LivePatchSource", "canonical-livepatch", "LivePatches", "98.1"), drift.VerdictDrifted,
			[]string{"runtime/canonical-livepatch:98.1/livepatch"}},
		{"a module in /sys/kernel/livepatch", nil, state("LivePatchSource", "sysfs", "LivePatches", "rootkit"), drift.VerdictDrifted,
			[]string{"runtime/sysfs:rootkit/livepatch"}},
		{"reboot pending", []drift.Package{lp}, state("RebootRequired", "true"), drift.VerdictDrifted, []string{"runtime/system/reboot_required"}},
		{"another running kernel", []drift.Package{lp}, state("Kernel", "6.1.115-126.197.amzn2023.x86_64"), drift.VerdictDrifted, []string{"runtime/kernel/running_kernel"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := drift.Compare(m, snap(tc.pkgs, tc.rs), p)
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Category)+"/"+f.Name+"/"+f.Attribute)
			}
			if r.Verdict != tc.verdict || strings.Join(got, " ") != strings.Join(tc.findings, " ") {
				t.Errorf("verdict %s findings %v, want %s %v", r.Verdict, got, tc.verdict, tc.findings)
			}
		})
	}
	// A livepatch package removed from a baseline that has one is drift.
	withLP := &drift.Manifest{AMI: m.AMI, PackageFormat: drift.FormatRPM, Packages: append(append([]drift.Package{}, m.Packages...), lp)}
	if err := withLP.Normalize(); err != nil {
		t.Fatal(err)
	}
	if r := drift.Compare(withLP, snap(nil, state("LivePatchState", "none", "LivePatches", "")), p); r.Verdict != drift.VerdictDrifted ||
		len(r.Findings) != 1 || r.Findings[0].Change != drift.ChangeRemoved {
		t.Errorf("removed livepatch package: %s %+v", r.Verdict, r.Findings)
	}
}
