package ssm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
)

const typeRunningState = "Custom:RunningState"

// runningStateAttrs are the attributes of the one Custom:RunningState entry.
var runningStateAttrs = []string{"Name", "Kernel", "BootTime", "RebootRequired", "RebootRequiredSource", "RebootRequiredPackages",
	"LivePatchState", "LivePatchSource", "LivePatches"}

// sandboxTools are the utilities the collector runs; sandboxBin links them
// (and nothing else from this machine) beside the fakes, so that whatever
// package or live patch tools this machine has cannot leak into a case.
var sandboxTools = []string{"cat", "chmod", "cut", "date", "grep", "head", "mkdir", "mktemp", "mv", "rm", "sed", "sha256sum", "sort", "stat", "timeout", "tr"}

func sandboxBin(t *testing.T, fakes map[string]string) string {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range sandboxTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s not found on this machine: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// fakeRoot creates the files of a fake / (DRIFTD_INVENTORY_ROOT): path →
// content.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runningState runs the collector and returns its one Custom:RunningState
// entry, after checking the entry's shape.
func runningState(t *testing.T, o runOpts) (map[string]string, string) {
	t.Helper()
	o.files, o.sysctls = "/nonexistent", "kernel.ostype"
	o.env = append(o.env, "DRIFTD_INVENTORY_UNITS=none")
	types, _, stderr := runScript(t, scriptFile, o)
	rs := types[typeRunningState]
	if rs == nil {
		t.Fatalf("no %s written; stderr:\n%s", typeRunningState, stderr)
	}
	if len(rs.Content) != 1 {
		t.Fatalf("%s has %d entries, want 1: %v", typeRunningState, len(rs.Content), rs.Content)
	}
	e := rs.Content[0]
	if len(e) != len(runningStateAttrs) {
		t.Errorf("entry has attributes %v, want %v", e, runningStateAttrs)
	}
	for _, a := range runningStateAttrs {
		if _, ok := e[a]; !ok {
			t.Errorf("entry lacks %s: %v", a, e)
		}
	}
	if e["Name"] != "host" {
		t.Errorf("Name = %q, want host", e["Name"])
	}
	return e, stderr
}

// TestScriptRunningStateOnThisMachine runs the collector as it is: the
// kernel is this machine's, the boot time its btime, and every fact is
// one of its documented values.
func TestScriptRunningStateOnThisMachine(t *testing.T) {
	e, _ := runningState(t, runOpts{})
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); e["Kernel"] != want {
		t.Errorf("Kernel = %q, want %q (uname -r)", e["Kernel"], want)
	}
	if stat, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(stat), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				sec, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				if want := time.Unix(sec, 0).UTC().Format(time.RFC3339); e["BootTime"] != want {
					t.Errorf("BootTime = %q, want %q (btime %d)", e["BootTime"], want, sec)
				}
			}
		}
	} else if !rfc3339Z.MatchString(e["BootTime"]) && e["BootTime"] != "unknown" {
		t.Errorf("BootTime = %q", e["BootTime"])
	}
	oneOf := func(attr string, vals ...string) {
		for _, v := range vals {
			if e[attr] == v {
				return
			}
		}
		t.Errorf("%s = %q, want one of %v", attr, e[attr], vals)
	}
	oneOf("RebootRequired", "true", "false", "unknown")
	oneOf("RebootRequiredSource", "reboot-required-file", "needs-restarting", "dnf", "none")
	oneOf("LivePatchState", "applied", "none", "unknown")
	oneOf("LivePatchSource", "kpatch", "canonical-livepatch", "sysfs", "none")
}

const (
	procStat  = "cpu  1 2 3 4\nbtime 1767225600\nprocesses 4242\n" // 2026-01-01T00:00:00Z
	fakeUname = `[ "$1" = -r ] || exit 1
echo "${FAKE_KERNEL:-6.1.112-122.189.amzn2023.x86_64}"
`
	dnfRebootRequired = `Core libraries or services have been updated since boot-up:
  * glibc
  * kernel
  * kernel-core

Reboot is required to fully utilize these updates.
More information: https://access.redhat.com/solutions/27943
`
	dnfNoReboot = `No core libraries or services have been updated since boot-up.
Reboot should not be necessary.
`
	yumRebootRequired = `Core libraries or services have been updated:
  kernel -> 4.14.355-275.570.amzn2
  glibc -> 2.26-64.amzn2.0.3

Reboot is required to ensure that your system benefits from these updates.

More information:
https://access.redhat.com/solutions/27943
`
	kpatchListApplied = "Loaded patch modules:\nlivepatch_CVE_2023_4623 [enabled]\nlivepatch_CVE_2023_52340 [enabled]\nlivepatch_old [disabled]\n\t\nInstalled patch modules:\nlivepatch_CVE_2023_4623 (6.1.112-122.189.amzn2023.x86_64)\nlivepatch_CVE_2023_52340 (6.1.112-122.189.amzn2023.x86_64)\n"
	kpatchListEmpty   = "Loaded patch modules:\n\nInstalled patch modules:\n\n"
	livepatchApplied  = "last check: 52 seconds ago\nkernel: 6.8.0-1015.16-aws\nserver check-in: succeeded\nkernel state: ✓ kernel series 6.8 is covered by Livepatch\npatch state: ✓ all applicable livepatch modules inserted\npatch version: 98.1\ntier: updates (Free usage; This machine beta tests new patches.)\n"
	livepatchNone     = "last check: 49 minutes ago\nkernel: 6.8.0-1015.16-aws\nserver check-in: succeeded\npatch state: ✓ no livepatches needed for this kernel yet\n"
)

// printOut is a fake tool printing $1 (shell-quoted here) and exiting with rc.
func printOut(out string, rc int) string {
	return "cat <<'EOF_OUT'\n" + out + "EOF_OUT\nexit " + strconv.Itoa(rc) + "\n"
}

// TestScriptRunningStateParsing drives every branch of the running state
// with fake tools (PATH) and a fake root (DRIFTD_INVENTORY_ROOT).
func TestScriptRunningStateParsing(t *testing.T) {
	debian := map[string]string{"proc/stat": procStat, "etc/debian_version": "12.8\n"}
	with := func(base map[string]string, extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	rpm := map[string]string{"proc/stat": procStat}
	long := strings.Repeat("livepatch_CVE_2024_", 3)
	var many strings.Builder
	many.WriteString("Loaded patch modules:\n")
	for i := 0; i < 100; i++ {
		many.WriteString(long + strconv.Itoa(i) + " [enabled]\n")
	}
	tests := []struct {
		name  string
		fakes map[string]string
		root  map[string]string
		env   []string
		want  map[string]string
		warn  string
	}{
		{"rpm reboot required (dnf needs-restarting)", map[string]string{"needs-restarting": printOut(dnfRebootRequired, 1)}, rpm, nil,
			map[string]string{"Kernel": "6.1.112-122.189.amzn2023.x86_64", "BootTime": "2026-01-01T00:00:00Z", "RebootRequired": "true",
				"RebootRequiredSource": "needs-restarting", "RebootRequiredPackages": "glibc,kernel,kernel-core", "LivePatchState": "none", "LivePatchSource": "none", "LivePatches": ""}, ""},
		{"rpm no reboot", map[string]string{"needs-restarting": printOut(dnfNoReboot, 0)}, rpm, nil,
			map[string]string{"RebootRequired": "false", "RebootRequiredSource": "needs-restarting", "RebootRequiredPackages": ""}, ""},
		{"rpm no reboot (yum-utils)", map[string]string{"needs-restarting": printOut("No core libraries or services have been updated.\nReboot is probably not necessary.\n", 0)}, rpm, nil,
			map[string]string{"RebootRequired": "false"}, ""},
		{"rpm reboot required (yum-utils, Amazon Linux 2)", map[string]string{"needs-restarting": printOut(yumRebootRequired, 1)}, rpm, nil,
			map[string]string{"RebootRequired": "true", "RebootRequiredPackages": "glibc,kernel"}, ""},
		{"exit 1 without the sentence is unknown", map[string]string{"needs-restarting": printOut("Error: rpmdb open failed\n", 1)}, rpm, nil,
			map[string]string{"RebootRequired": "unknown", "RebootRequiredSource": "needs-restarting"}, ""},
		{"exit 0 without the sentence is unknown", map[string]string{"needs-restarting": printOut("", 0)}, rpm, nil,
			map[string]string{"RebootRequired": "unknown"}, ""},
		{"dnf without the plugin is unknown", map[string]string{"dnf": printOut("No such command: needs-restarting. Please use /usr/bin/dnf --help\n", 1)}, rpm, nil,
			map[string]string{"RebootRequired": "unknown", "RebootRequiredSource": "dnf"}, ""},
		{"dnf plugin", map[string]string{"dnf": `[ "$1 $2 $3 $4" = "-C --disablerepo=* needs-restarting -r" ] || exit 2
` + printOut(dnfRebootRequired, 1)}, rpm, nil,
			map[string]string{"RebootRequired": "true", "RebootRequiredSource": "dnf", "RebootRequiredPackages": "glibc,kernel,kernel-core"}, ""},
		{"hung needs-restarting times out: unknown", map[string]string{"needs-restarting": "sleep 30\n" + printOut(dnfNoReboot, 0), "sleep": "exec " + mustLookPath(t, "sleep") + " \"$@\"\n"}, rpm,
			[]string{"DRIFTD_INVENTORY_CMD_TIMEOUT=1"}, map[string]string{"RebootRequired": "unknown"}, ""},
		{"no tool, not Debian: unknown", nil, rpm, nil,
			map[string]string{"RebootRequired": "unknown", "RebootRequiredSource": "none"}, ""},
		{"debian reboot-required with packages", nil, with(debian, map[string]string{
			"var/run/reboot-required": "*** System restart required ***\n", "var/run/reboot-required.pkgs": "linux-image-6.1.0-21-amd64\nlibc6\nlinux-image-6.1.0-21-amd64\n"}), nil,
			map[string]string{"RebootRequired": "true", "RebootRequiredSource": "reboot-required-file", "RebootRequiredPackages": "libc6,linux-image-6.1.0-21-amd64"}, ""},
		{"debian reboot-required without .pkgs", nil, with(debian, map[string]string{"var/run/reboot-required": ""}), nil,
			map[string]string{"RebootRequired": "true", "RebootRequiredPackages": ""}, ""},
		{"debian no flag, unattended-upgrades hook present: false", nil, with(debian, map[string]string{"etc/kernel/postinst.d/unattended-upgrades": "#!/bin/sh\n"}), nil,
			map[string]string{"RebootRequired": "false", "RebootRequiredSource": "reboot-required-file"}, ""},
		{"ubuntu no flag, update-notifier present: false", nil, with(debian, map[string]string{"usr/share/update-notifier/notify-reboot-required": "#!/bin/sh\n"}), nil,
			map[string]string{"RebootRequired": "false"}, ""},
		{"debian no flag and nothing that writes it: unknown", nil, debian, nil,
			map[string]string{"RebootRequired": "unknown", "RebootRequiredSource": "reboot-required-file"}, ""},
		{"debian wins over an installed dnf", map[string]string{"dnf": printOut(dnfRebootRequired, 1)}, with(debian, map[string]string{"etc/kernel/postinst.d/update-notifier": ""}), nil,
			map[string]string{"RebootRequired": "false", "RebootRequiredSource": "reboot-required-file"}, ""},
		{"kpatch applied", map[string]string{"kpatch": `[ "$1" = list ] || exit 2
` + printOut(kpatchListApplied, 0)}, rpm, nil,
			map[string]string{"LivePatchState": "applied", "LivePatchSource": "kpatch", "LivePatches": "livepatch_CVE_2023_4623,livepatch_CVE_2023_52340"}, ""},
		{"kpatch nothing loaded", map[string]string{"kpatch": printOut(kpatchListEmpty, 0)}, rpm, nil,
			map[string]string{"LivePatchState": "none", "LivePatchSource": "kpatch", "LivePatches": ""}, ""},
		{"kpatch fails: unknown", map[string]string{"kpatch": printOut("kpatch: permission denied\n", 1)}, rpm, nil,
			map[string]string{"LivePatchState": "unknown", "LivePatchSource": "kpatch", "LivePatches": ""}, "live patch state unknown (kpatch)"},
		{"kpatch list too long for one value: unknown", map[string]string{"kpatch": printOut(many.String(), 0)}, rpm, nil,
			map[string]string{"LivePatchState": "unknown", "LivePatchSource": "kpatch"}, "live patch state unknown"},
		{"canonical-livepatch applied", map[string]string{"canonical-livepatch": `[ "$1" = status ] || exit 2
` + printOut(livepatchApplied, 0)}, debian, []string{"FAKE_KERNEL=6.8.0-1015-aws"},
			map[string]string{"Kernel": "6.8.0-1015-aws", "LivePatchState": "applied", "LivePatchSource": "canonical-livepatch", "LivePatches": "98.1"}, ""},
		{"canonical-livepatch nothing needed", map[string]string{"canonical-livepatch": printOut(livepatchNone, 0)}, debian, nil,
			map[string]string{"LivePatchState": "none", "LivePatchSource": "canonical-livepatch", "LivePatches": ""}, ""},
		{"canonical-livepatch not running: unknown", map[string]string{"canonical-livepatch": printOut("", 1)}, debian, nil,
			map[string]string{"LivePatchState": "unknown", "LivePatchSource": "canonical-livepatch"}, ""},
		{"kernel livepatch sysfs", nil, with(rpm, map[string]string{"sys/kernel/livepatch/lkp_custom_fix/enabled": "1\n", "sys/kernel/livepatch/lkp_off/enabled": "0\n"}), nil,
			map[string]string{"LivePatchState": "applied", "LivePatchSource": "sysfs", "LivePatches": "lkp_custom_fix"}, ""},
		{"kernel livepatch sysfs, none loaded", nil, with(rpm, map[string]string{"sys/kernel/livepatch/.keep": ""}), nil,
			map[string]string{"LivePatchState": "none", "LivePatchSource": "sysfs", "LivePatches": ""}, ""},
		{"boot time from uptime -s when btime is missing", map[string]string{"uptime": `[ "$1" = -s ] || exit 2
echo "2026-01-01 01:00:00"
`}, map[string]string{"proc/stat": "cpu 1 2 3\n"}, []string{"TZ=Europe/Berlin"},
			map[string]string{"BootTime": "2026-01-01T00:00:00Z"}, ""},
		{"no boot time at all: unknown", nil, map[string]string{"proc/stat": "cpu 1 2 3\n"}, nil,
			map[string]string{"BootTime": "unknown"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakes := map[string]string{"uname": fakeUname}
			for k, v := range tc.fakes {
				fakes[k] = v
			}
			env := append([]string{"DRIFTD_INVENTORY_ROOT=" + fakeRoot(t, tc.root)}, tc.env...)
			e, stderr := runningState(t, runOpts{path: sandboxBin(t, fakes), env: env})
			for k, v := range tc.want {
				if e[k] != v {
					t.Errorf("%s = %q, want %q", k, e[k], v)
				}
			}
			if tc.warn != "" && !strings.Contains(stderr, tc.warn) {
				t.Errorf("stderr lacks %q:\n%s", tc.warn, stderr)
			}
		})
	}
}

func mustLookPath(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEngineComparesRunningState feeds the collector's Custom:RunningState
// to drift.Compare the way driftd's SSM collector does (an unknown custom
// type lands in Snapshot.Custom): an AL2023 instance as launched is in
// sync; with kpatch live patches it stays in sync under the default
// policy; a pending reboot and another running kernel are runtime findings.
func TestEngineComparesRunningState(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := &drift.Manifest{SchemaVersion: 1, AMI: "ami-0123456789abcdef0", PackageFormat: drift.FormatRPM, Packages: []drift.Package{
		{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023"}}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	policy := &drift.Policy{Now: now, MaxInventoryAge: time.Hour, Rules: defaultpolicy.Rules()}
	judge := func(fakes map[string]string, env ...string) drift.Report {
		t.Helper()
		all := map[string]string{"uname": fakeUname}
		for k, v := range fakes {
			all[k] = v
		}
		e, _ := runningState(t, runOpts{path: sandboxBin(t, all), env: append([]string{"DRIFTD_INVENTORY_ROOT=" + fakeRoot(t, map[string]string{"proc/stat": procStat})}, env...)})
		s := &drift.Snapshot{InstanceID: "i-0123456789abcdef0", AMI: m.AMI,
			CaptureTimes: map[string]time.Time{drift.TypeApplication: now, typeRunningState: now},
			Packages:     []drift.Package{{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023", Format: drift.FormatRPM}},
			Custom:       map[string]*drift.CustomType{typeRunningState: {TypeName: typeRunningState, Entries: []map[string]string{e}}}}
		s.Normalize()
		return drift.Compare(m, s, policy)
	}
	findings := func(r drift.Report) string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, string(f.Category)+" "+f.Name+" "+f.Attribute+" "+f.Expected+"->"+f.Observed)
		}
		return strings.Join(out, "; ")
	}
	noReboot := map[string]string{"needs-restarting": printOut(dnfNoReboot, 0)}
	if r := judge(noReboot); r.Verdict != drift.VerdictInSync {
		t.Errorf("as launched: %s %s %q", r.Verdict, findings(r), r.Reasons)
	}
	if r := judge(map[string]string{"needs-restarting": printOut(dnfNoReboot, 0), "kpatch": printOut(kpatchListApplied, 0)}); r.Verdict != drift.VerdictInSync || r.Suppressed != 2 {
		t.Errorf("kpatch live patches under the default policy: %s %s suppressed %d", r.Verdict, findings(r), r.Suppressed)
	}
	if r := judge(map[string]string{"needs-restarting": printOut(dnfRebootRequired, 1)}); r.Verdict != drift.VerdictDrifted ||
		findings(r) != "runtime system reboot_required false->true" {
		t.Errorf("reboot pending: %s %s", r.Verdict, findings(r))
	}
	if r := judge(noReboot, "FAKE_KERNEL=6.1.115-126.197.amzn2023.x86_64"); r.Verdict != drift.VerdictDrifted ||
		findings(r) != "runtime kernel running_kernel 6.1.112-122.189.amzn2023.x86_64->6.1.115-126.197.amzn2023.x86_64" {
		t.Errorf("another kernel: %s %s", r.Verdict, findings(r))
	}
	if r := judge(map[string]string{"needs-restarting": printOut("", 1)}); r.Verdict != drift.VerdictInSync ||
		!strings.Contains(strings.Join(r.Reasons, ";"), "reboot_required not compared") {
		t.Errorf("unknown reboot state: %s %s %q", r.Verdict, findings(r), r.Reasons)
	}
}
