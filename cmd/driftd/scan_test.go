package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
)

// simEnv starts a simulated region with one group of 3 instances and points
// the SDK's standard environment at it.
func simEnv(t *testing.T) (*awssim.Sim, []string, string) {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-base", Packages: []awssim.PackageSpec{
		{Name: "bash", Version: "5.2.15", Release: "1.amzn2023"}, {Name: "curl", Version: "8.5.0", Release: "1.amzn2023"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddLaunchTemplate("web-lt", "t3.micro", ami); err != nil {
		t.Fatal(err)
	}
	ids, err := sim.AddGroup(awssim.GroupSpec{Name: "web", LaunchTemplateName: "web-lt", Max: 5, Desired: 3}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, _ := sim.Manifest(ami)
	if err := os.WriteFile(filepath.Join(dir, ami+".json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "driftd.yaml")
	os.WriteFile(cfg, []byte("baselines:\n  - dir: {path: "+dir+"}\nschedule: {timeout: 20s}\naws: {max_backoff: 10ms}\n"), 0o644)
	t.Setenv("AWS_ENDPOINT_URL", "http://"+srv.Addr())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return sim, ids, cfg
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}

func TestScanExitCodes(t *testing.T) {
	sim, ids, cfg := simEnv(t)
	var out bytes.Buffer
	cmd := &scanCmd{Config: cfg, Output: "json", out: &out}
	if err := cmd.Run(&Globals{}); exitCode(err) != 0 {
		t.Fatalf("clean fleet: exit %d (%v)\n%s", exitCode(err), err, out.String())
	}
	var rep ScanReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, out.String())
	}
	if rep.Summary["in_sync"] != 3 || len(rep.Instances) != 3 || rep.APICalls.ByOperation["ssm:ListInventoryEntries"] == 0 {
		t.Errorf("report %+v", rep)
	}

	if err := sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	cmd = &scanCmd{Config: cfg, Output: "json", out: &out}
	if err := cmd.Run(&Globals{}); exitCode(err) != 1 {
		t.Fatalf("drifted fleet: exit %d (%v)", exitCode(err), err)
	}
	rep = ScanReport{}
	json.Unmarshal(out.Bytes(), &rep)
	found := false
	for _, in := range rep.Instances {
		if in.InstanceID == ids[1] {
			found = in.Verdict == "drifted" && len(in.Findings) == 1 && in.Findings[0].Name == "curl" && string(in.Findings[0].Change) == "removed"
		}
	}
	if !found || rep.Summary["drifted"] != 1 {
		t.Errorf("drifted instance not reported: %s", out.String())
	}

	// --instance restricts the scan; table output.
	out.Reset()
	cmd = &scanCmd{Config: cfg, Output: "table", Instance: []string{ids[0]}, out: &out}
	if err := cmd.Run(&Globals{}); exitCode(err) != 0 {
		t.Fatalf("--instance %s: exit %d (%v)", ids[0], exitCode(err), err)
	}
	if !strings.Contains(out.String(), ids[0]) || strings.Contains(out.String(), ids[1]) || !strings.Contains(out.String(), "1 instances: in_sync=1") {
		t.Errorf("table output:\n%s", out.String())
	}

	// Errors: invalid configuration, unreachable endpoint.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("nope: 1\n"), 0o644)
	if err := (&scanCmd{Config: bad, Output: "json", out: &out}).Run(&Globals{}); exitCode(err) != 2 {
		t.Errorf("invalid config: exit %d", exitCode(err))
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	if err := (&scanCmd{Config: cfg, Output: "json", out: &out}).Run(&Globals{}); exitCode(err) != 2 {
		t.Errorf("unreachable endpoint: exit %d (%v)", exitCode(err), err)
	}
}

func TestValidateCommand(t *testing.T) {
	var out bytes.Buffer
	if err := (&validateCmd{Config: "../../internal/config/testdata/invalid/policy.yaml"}).run(&out); exitCode(err) != 1 {
		t.Errorf("invalid: exit %d", exitCode(err))
	}
	if !strings.Contains(out.String(), "INVALID (10 errors)") || !strings.Contains(out.String(), "policy.rules[2].id: required") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := (&validateCmd{Config: "../../examples/driftd.yaml"}).run(&out); err != nil {
		t.Errorf("valid: %v\n%s", err, out.String())
	}
}
