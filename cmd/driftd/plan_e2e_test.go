package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

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

	// Baselines: the demo publishes each AMI's manifest to Parameter Store;
	// copy them into a baseline directory.
	dir := t.TempDir()
	base := filepath.Join(dir, "baselines")
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	sc := ssm.NewFromConfig(awsCfg)
	for _, ami := range []string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002"} {
		out, err := sc.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/driftd/baselines/" + ami)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, ami+".json"), []byte(aws.ToString(out.Parameter.Value)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(dir, "driftd.yaml")
	cfg := `aws: {region: us-east-1}
inventory: {rate_limits: {ssm: 1000}}
baselines:
  - dir: {path: ` + base + `}
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
