package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/app"
)

// TestPlanCommandAgainstAWSSim runs `driftd plan` end to end: the daemon's
// real scan of the simulated demo region, then the remediation plan in
// dry-run, and checks that nothing was mutated.
func TestPlanCommandAgainstAWSSim(t *testing.T) {
	clock := awssim.NewManualClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	sim := awssim.New(awssim.Options{Clock: clock})
	if err := sim.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}

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
  kill_switch: {file: "", ssm_parameter: /driftd/killswitch}
  groups:
    - {match: worker, mode: replace, budget: "1"}
    - {match: api, mode: approve}
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sim.ResetCalls()
	var out bytes.Buffer
	cmd := &planCmd{Config: cfgFile, Output: "table", out: &out, opt: func(o *app.Options) { o.AWS = &awsCfg; o.Now = clock.Now }}
	err = cmd.Run(&Globals{})
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
