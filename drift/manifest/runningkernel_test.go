package manifest

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/drift"
)

// TestRunningKernel: the native running_kernel field decodes (trimmed),
// survives Encode/Decode, names the baseline kernel, and rejects values
// that are not a uname -r release.
func TestRunningKernel(t *testing.T) {
	const head = "schema_version: 1\nami_id: ami-0abc1234def567890\npackage_format: rpm\n"
	m, err := Decode("k.yaml", []byte(head+"running_kernel: \" 6.1.112-122.189.amzn2023.x86_64 \"\npackages:\n  - {name: kernel, arch: x86_64, version: 6.1.79, release: 99.167.amzn2023}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k, from := m.BaselineKernel(); k != "6.1.112-122.189.amzn2023.x86_64" || from != "running_kernel" {
		t.Errorf("BaselineKernel() = %q from %q", k, from)
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "running_kernel: 6.1.112-122.189.amzn2023.x86_64\n") {
		t.Errorf("Encode lost running_kernel:\n%s", b)
	}
	again, err := Decode("k.yaml", b, Options{})
	if err != nil || again.RunningKernel != m.RunningKernel {
		t.Errorf("round trip: %v %q", err, again.RunningKernel)
	}
	js, err := Decode("k.json", []byte(`{"schema_version":1,"ami_id":"ami-0abc1234def567890","running_kernel":"6.1.0-18-amd64"}`), Options{})
	if err != nil || js.RunningKernel != "6.1.0-18-amd64" {
		t.Errorf("JSON: %v %q", err, js.RunningKernel)
	}
	for _, tc := range []struct{ doc, want string }{
		{head + "running_kernel: 6.1 112\n", `k.yaml: running_kernel: "6.1 112" is not a kernel release as uname -r prints it`},
		{head + "running_kernel: \"6.1\\x1b[2J\"\n", "k.yaml: running_kernel: contains control character U+001B"},
		{head + "running_kernel: " + strings.Repeat("6", MaxFieldBytes+1) + "\n", "k.yaml: running_kernel: longer than"},
		{head + "running_kernel: [6]\n", "k.yaml: line 4: cannot unmarshal"},
	} {
		if _, err := Decode("k.yaml", []byte(tc.doc), Options{}); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Decode(%q) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// TestCapturedRunningStateRoundTrip: a baseline captured with
// Custom:RunningState (driftd baseline capture --types ...) is written and
// read back, and names the reference instance's kernel.
func TestCapturedRunningStateRoundTrip(t *testing.T) {
	m := &drift.Manifest{SchemaVersion: 1, AMI: "ami-0abc1234def567890", PackageFormat: drift.FormatRPM,
		Packages: []drift.Package{{Name: "kernel", Arch: "x86_64", Version: "6.1.112", Release: "122.189.amzn2023"}},
		Custom: map[string]*drift.CustomType{drift.TypeRunningState: {TypeName: drift.TypeRunningState, Entries: []map[string]string{{
			"Name": "host", "Kernel": "6.1.79-99.167.amzn2023.x86_64", "BootTime": "2026-11-01T00:00:00Z", "RebootRequired": "false",
			"RebootRequiredSource": "needs-restarting", "RebootRequiredPackages": "", "LivePatchState": "none", "LivePatchSource": "kpatch", "LivePatches": ""}}}}}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode("captured.yaml", b, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if k, from := again.BaselineKernel(); k != "6.1.79-99.167.amzn2023.x86_64" || from != drift.TypeRunningState {
		t.Errorf("BaselineKernel() = %q from %q", k, from)
	}
}
