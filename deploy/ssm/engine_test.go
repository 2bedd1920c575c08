package ssm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

const fakeSysctl = `#!/bin/sh
[ "$1" = -n ] || exit 1
case "$2" in
net.ipv4.ip_forward) echo "${FAKE_IP_FORWARD:-0}" ;;
kernel.randomize_va_space) printf '2\n' ;;
*) exit 1 ;;
esac
`

// collect runs the collector with fake systemctl/sysctl (so the test is the
// same with or without systemd) and returns the three custom types.
func collect(t *testing.T, files string, env ...string) map[string]*customInventory {
	t.Helper()
	bin := t.TempDir()
	for name, body := range map[string]string{"systemctl": fakeSystemctl, "sysctl": fakeSysctl} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	types, _, stderr := runScript(t, scriptFile, runOpts{
		files: files, sysctls: "kernel.randomize_va_space net.ipv4.ip_forward",
		path: bin + ":" + os.Getenv("PATH"),
		env:  append([]string{"DRIFTD_INVENTORY_ASSUME_SYSTEMD=1"}, env...),
	})
	for _, typ := range []string{drift.TypeFileDigest, drift.TypeSystemdUnit, "Custom:Sysctl"} {
		if types[typ] == nil {
			t.Fatalf("%s not collected; stderr:\n%s", typ, stderr)
		}
	}
	return types
}

// manifestFrom builds a baseline the way an image pipeline would: run the
// collector on the freshly built image and keep its output.
func manifestFrom(t *testing.T, types map[string]*customInventory) *drift.Manifest {
	m := &drift.Manifest{
		SchemaVersion: 1,
		AMI:           "ami-0123456789abcdef0",
		Files:         drift.FilesFromInventory(drift.TypeFileDigest, types[drift.TypeFileDigest].Content),
		Services:      drift.ServicesFromInventory(drift.TypeSystemdUnit, types[drift.TypeSystemdUnit].Content),
		Custom: map[string]*drift.CustomType{
			"Custom:Sysctl": {TypeName: "Custom:Sysctl", Entries: types["Custom:Sysctl"].Content},
		},
	}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshotFrom builds an instance snapshot the way driftd's SSM collector
// does: custom types converted with the drift helpers, capture times set.
func snapshotFrom(types map[string]*customInventory, now time.Time) *drift.Snapshot {
	s := &drift.Snapshot{
		InstanceID: "i-0123456789abcdef0",
		AMI:        "ami-0123456789abcdef0",
		ASG:        "web",
		CaptureTimes: map[string]time.Time{
			drift.TypeFileDigest: now, drift.TypeSystemdUnit: now, "Custom:Sysctl": now,
		},
		Files:    drift.FilesFromInventory(drift.TypeFileDigest, types[drift.TypeFileDigest].Content),
		Services: drift.ServicesFromInventory(drift.TypeSystemdUnit, types[drift.TypeSystemdUnit].Content),
		Custom: map[string]*drift.CustomType{
			"Custom:Sysctl": {TypeName: "Custom:Sysctl", Entries: types["Custom:Sysctl"].Content},
		},
	}
	s.Normalize()
	return s
}

// TestEngineComparesCustomInventory shows the collector's output feeding
// drift.Compare: unchanged → in_sync; an edited file with the same size and
// mtime (invisible to AWS:File, which has no hash) → a file sha256 finding;
// a stopped unit → a service finding; a changed sysctl → a custom finding.
func TestEngineComparesCustomInventory(t *testing.T) {
	dir := t.TempDir()
	sshd := filepath.Join(dir, "sshd_config")
	sudoers := filepath.Join(dir, "sudoers")
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(p, content string) {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write(sshd, "PermitRootLogin no\nPasswordAuthentication no\n")
	write(sudoers, "root ALL=(ALL) ALL\n")
	files := sshd + " " + sudoers

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	policy := &drift.Policy{Now: now, MaxInventoryAge: time.Hour, Custom: map[string]drift.CustomSpec{"Custom:Sysctl": {Key: "Name"}}}
	baseline := manifestFrom(t, collect(t, files))
	if len(baseline.Files) != 2 || len(baseline.Services) != 4 {
		t.Fatalf("baseline: %d files, %d services; want 2 and 4", len(baseline.Files), len(baseline.Services))
	}
	oldSum := baseline.Files[0].SHA256

	// 1. Nothing changed.
	r := drift.Compare(baseline, snapshotFrom(collect(t, files), now), policy)
	if r.Verdict != drift.VerdictInSync || len(r.Findings) != 0 {
		t.Fatalf("unchanged instance: verdict %s, findings %+v", r.Verdict, r.Findings)
	}

	// 2. Same size, same mtime, different content.
	write(sshd, "PermitRootLogin on\nPasswordAuthentication no\n")
	r = drift.Compare(baseline, snapshotFrom(collect(t, files), now), policy)
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 {
		t.Fatalf("edited sshd_config: verdict %s, findings %+v; want drifted with one finding", r.Verdict, r.Findings)
	}
	f := r.Findings[0]
	if f.Category != drift.CategoryFile || f.Type != drift.TypeFileDigest || f.Name != sshd || f.Attribute != "sha256" ||
		f.Change != drift.ChangeChanged || f.Expected != oldSum || f.Observed == oldSum || len(f.Observed) != 64 {
		t.Errorf("finding %+v, want file %s sha256 changed from %s", f, sshd, oldSum)
	}

	// 3. File restored; a unit stopped and a sysctl changed.
	write(sshd, "PermitRootLogin no\nPasswordAuthentication no\n")
	r = drift.Compare(baseline, snapshotFrom(collect(t, files, "FAKE_SSHD_STATE=inactive", "FAKE_IP_FORWARD=1"), now), policy)
	var got []string
	for _, f := range r.Findings {
		got = append(got, string(f.Category)+" "+f.Name+" "+f.Attribute+" "+f.Expected+"->"+f.Observed)
	}
	want := []string{
		"service sshd.service state active->inactive",
		"custom net.ipv4.ip_forward Value 0->1",
	}
	if r.Verdict != drift.VerdictDrifted || !sameSet(got, want) {
		t.Errorf("verdict %s findings:\n%s\nwant:\n%s", r.Verdict, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// 4. A file removed from the instance.
	if err := os.Remove(sudoers); err != nil {
		t.Fatal(err)
	}
	r = drift.Compare(baseline, snapshotFrom(collect(t, files), now), policy)
	if len(r.Findings) != 1 || r.Findings[0].Name != sudoers || r.Findings[0].Change != drift.ChangeRemoved {
		t.Errorf("removed sudoers: findings %+v", r.Findings)
	}
}

// TestEngineSystemdOmitted: when the collector omits Custom:SystemdUnit (no
// systemd), the services category is not compared: missing data is never
// drift.
func TestEngineSystemdOmitted(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.conf")
	if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	baseline := manifestFrom(t, collect(t, p))
	types, _, _ := runScript(t, scriptFile, runOpts{files: p, sysctls: "kernel.randomize_va_space",
		env: []string{"DRIFTD_INVENTORY_UNITS=none"}})
	if _, ok := types[drift.TypeSystemdUnit]; ok {
		t.Fatal("units=none still wrote Custom:SystemdUnit")
	}
	s := &drift.Snapshot{InstanceID: "i-1", AMI: baseline.AMI,
		CaptureTimes: map[string]time.Time{drift.TypeFileDigest: now},
		Files:        drift.FilesFromInventory(drift.TypeFileDigest, types[drift.TypeFileDigest].Content)}
	s.Normalize()
	r := drift.Compare(baseline, s, &drift.Policy{Now: now})
	if r.Verdict != drift.VerdictInSync {
		t.Errorf("verdict %s findings %+v, want in_sync (services not collected, so not compared)", r.Verdict, r.Findings)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
