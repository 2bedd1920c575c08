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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/remediation"
)

// TestPlanCommandAgainstAWSSim runs `driftd plan` end to end: the daemon's
// real scan of the simulated demo region, then the remediation plan in
// dry-run, and checks that nothing was mutated.
func TestPlanCommandAgainstAWSSim(t *testing.T) {
	clock, sim, awsCfg := planRegion(t)

	// Baselines: the demo publishes each AMI's manifest through Parameter
	// Store (an s3:// pointer when too large for a parameter); read them
	// through that source.
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "driftd.yaml")
	cfg := `aws: {region: us-east-1}
inventory: {rate_limits: {ssm: 1000}}
baselines:
  - ssm_parameter: {name: "/driftd/baselines/{ami_id}"}
remediation:
  debounce_scans: 1
  min_severity: info
  kill_switch: {file: "", ssm_parameter: /driftd/kill-switch}
  groups:
    - {match: worker, mode: replace, budget: "1"}
    - {match: api, mode: approve}
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sim.ResetCalls()
	var out bytes.Buffer
	cmd := &planCmd{Config: cfgFile, Output: "table", out: &out, opt: func(o *daemon.Options) { o.AWS = &awsCfg; o.Now = clock.Now }}
	err := cmd.Run(&Globals{})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("want exit 1 (actions planned), got %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	for _, want := range []string{
		"Kill switch: released",
		"Would act (1):",
		"set_instance_health  worker",
		"awaiting_approval",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	for k, n := range sim.CallCounts() {
		op := k[strings.Index(k, ":")+1:]
		switch op {
		case "SetInstanceHealth", "TerminateInstanceInAutoScalingGroup", "StartInstanceRefresh", "CreateOrUpdateTags", "DeleteTags", "CreateTags":
			t.Errorf("driftd plan mutated: %s x%d", k, n)
		}
	}
}

// TestPlanCommandShowsUnreadableGroup: with DescribeInstanceRefreshes of the
// api group denied by IAM, `driftd plan` still plans the worker group, and
// shows api's candidates as group_state_unknown with the AWS error.
func TestPlanCommandShowsUnreadableGroup(t *testing.T) {
	clock, sim, awsCfg := planRegion(t)
	if _, err := sim.AddFault(awssim.Fault{Service: "autoscaling", Operation: "DescribeInstanceRefreshes", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403,
		Params: map[string]string{"AutoScalingGroupName": "api"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "driftd.yaml")
	cfg := `aws: {region: us-east-1}
inventory: {rate_limits: {ssm: 1000}}
baselines:
  - ssm_parameter: {name: "/driftd/baselines/{ami_id}"}
remediation:
  debounce_scans: 1
  min_severity: info
  kill_switch: {file: "", ssm_parameter: /driftd/kill-switch}
  groups:
    - {match: worker, mode: replace, budget: "1"}
    - {match: api, mode: replace, budget: "1"}
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json"} {
		var out bytes.Buffer
		cmd := &planCmd{Config: cfgFile, Output: format, out: &out, opt: func(o *daemon.Options) { o.AWS = &awsCfg; o.Now = clock.Now }}
		err := cmd.Run(&Globals{})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 1 {
			t.Fatalf("want exit 1 (worker's action planned), got %v\n%s", err, out.String())
		}
		text := out.String()
		if format == "table" {
			t.Log("\n" + text)
			for _, want := range []string{
				"Would act (1):",
				"set_instance_health  worker",
				"DescribeInstanceRefreshes failed with AccessDenied for api:",
				"api error AccessDenied",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("plan output lacks %q", want)
				}
			}
			n := 0
			for _, line := range strings.Split(text, "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[1] == "api" && f[2] == "group_state_unknown" {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%d api candidates shown as group_state_unknown, want 2", n)
			}
			continue
		}
		var p remediation.PlanResult
		if err := json.Unmarshal(out.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.ReadFailures) != 1 || p.ReadFailures[0].Group != "api" || p.ReadFailures[0].Code != "AccessDenied" {
			t.Errorf("read failures: %+v", p.ReadFailures)
		}
	}
}

// TestPlanCommandReadsStoredApprovals: `driftd plan` starts from the
// decisions the daemon keeps next to state.file: an instance an operator
// approved through the running daemon is planned as an approved action,
// and the plan writes nothing back.
func TestPlanCommandReadsStoredApprovals(t *testing.T) {
	clock, _, awsCfg := planRegion(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "driftd.yaml")
	cfg := `aws: {region: us-east-1}
inventory: {rate_limits: {ssm: 1000}}
state: {file: "` + filepath.Join(dir, "state.json") + `"}
baselines:
  - ssm_parameter: {name: "/driftd/baselines/{ami_id}"}
remediation:
  debounce_scans: 1
  min_severity: info
  kill_switch: {file: "", ssm_parameter: /driftd/kill-switch}
  groups:
    - {match: api, mode: approve}
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := func() remediation.PlanResult {
		t.Helper()
		var out bytes.Buffer
		cmd := &planCmd{Config: cfgFile, Output: "json", out: &out, opt: func(o *daemon.Options) { o.AWS = &awsCfg; o.Now = clock.Now }}
		if err := cmd.Run(&Globals{}); err != nil {
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != 1 {
				t.Fatalf("plan: %v\n%s", err, out.String())
			}
		}
		var p remediation.PlanResult
		if err := json.Unmarshal(out.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var waiting string
	for _, s := range plan().Skipped {
		if s.Group == "api" && s.Reason == remediation.SkipAwaitingApproval {
			waiting = s.InstanceID
		}
	}
	if waiting == "" {
		t.Fatal("no api instance awaiting approval")
	}

	// The running daemon takes an approval (stored in the decisions file).
	d, err := daemon.New(t.Context(), daemon.Options{ConfigFile: cfgFile, AWS: &awsCfg, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := d.AttachEngines(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(t.Context())
	if _, err := eng.Remediation.Approve(waiting, "alice", time.Hour); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "state.json.decisions.json"))
	if err != nil {
		t.Fatal(err)
	}

	p := plan()
	approved := false
	for _, a := range p.Actions {
		approved = approved || (a.InstanceID == waiting && a.Approved)
	}
	if !approved {
		t.Errorf("plan after the approval: actions %+v, want an approved action on %s", p.Actions, waiting)
	}
	after, err := os.ReadFile(filepath.Join(dir, "state.json.decisions.json"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("driftd plan changed the decisions file (%v)", err)
	}
}

// planRegion starts the demo region on a manual clock for a plan test and
// returns the clock, the simulator and an SDK configuration pointing at it.
func planRegion(t *testing.T) (*awssim.ManualClock, *awssim.Sim, aws.Config) {
	t.Helper()
	clock := awssim.NewManualClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	sim := awssim.New(awssim.Options{Clock: clock})
	if err := sim.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return clock, sim, aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}
}
