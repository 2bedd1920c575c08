// Package systemd holds driftd's hardened systemd unit; the test checks the
// hardening keys and, where systemd-analyze exists, verifies the unit and its
// exposure score.
package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// parseUnit returns section -> key -> values (keys may repeat).
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not a key=value in a section: %q", path, n, line)
		}
		out[section][k] = append(out[section][k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnitHardening(t *testing.T) {
	u := parseUnit(t, "driftd.service")
	svc := u["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	want := map[string]string{
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet":   "",
		"StateDirectory":          "driftd",
		"ReadOnlyPaths":           "/etc/driftd",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		got, ok := svc[k]
		if !ok {
			t.Errorf("[Service] %s missing, want %q", k, v)
			continue
		}
		if len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want exactly %q", k, got, v)
		}
	}
	if f := svc["SystemCallFilter"]; len(f) == 0 || f[0] != "@system-service" {
		t.Errorf("SystemCallFilter = %q, want first @system-service", f)
	}
	if v, ok := svc["User"]; ok {
		t.Errorf("[Service] User=%q set: DynamicUser must provide the identity", v)
	}
	if v := svc["AmbientCapabilities"]; len(v) != 1 || v[0] != "" {
		t.Errorf("[Service] AmbientCapabilities = %q, want empty", v)
	}
	if exec := svc["ExecStart"]; len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/local/bin/driftd run ") {
		t.Errorf("ExecStart = %q, want /usr/local/bin/driftd run ...", exec)
	}
	if got := u["Install"]["WantedBy"]; len(got) != 1 || got[0] != "multi-user.target" {
		t.Errorf("[Install] WantedBy = %q", got)
	}
}

// verifiable returns a copy of the unit whose ExecStart points at an existing
// executable, since systemd-analyze verify checks the binary exists.
func verifiable(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "driftd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("driftd.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "driftd.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/driftd", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return unit
}

func systemdAnalyze(t *testing.T) string {
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIP: systemd-analyze not installed; unit not verified (install the systemd package)")
	}
	return p
}

func TestUnitVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	unit := verifiable(t)
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitExposure(t *testing.T) {
	sa := systemdAnalyze(t)
	unit := verifiable(t)
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in output:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd exposure level: %.1f (0 = most locked down, 10 = unprotected)", score)
	if score > 2.0 {
		t.Errorf("exposure level %.1f > 2.0: a hardening setting was lost\n%s", score, out)
	}
}
