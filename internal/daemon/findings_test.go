package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/config"
)

// TestFindingsReachSecurityHubAndConfig wires the daemon with a Security
// Hub sink and the config_rule section against the simulated region:
// drifted instances become Security Hub findings and NON_COMPLIANT
// evaluations; a healed and a terminated instance are archived and
// resolved, and the healed one becomes COMPLIANT.
func TestFindingsReachSecurityHubAndConfig(t *testing.T) {
	f := newFixture(t)
	healed, gone := f.web[0], f.web[1]
	must(t, f.sim.Inject(healed, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.93", Release: "1.amzn2023"}}))
	must(t, f.sim.Inject(gone, awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	t.Setenv("DRIFTD_TEST_RULE_TOKEN", f.sim.Config().IssueToken("driftd-drift"))
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
baselines:
  - dir: {path: %q}
inventory:
  rate_limits: {ssm: 2000, ec2: 2000, autoscaling: 2000}
alerting:
  sinks:
    - {name: hub, type: securityhub, account_id: "123456789012", timeout: 5s}
config_rule:
  result_token_env: DRIFTD_TEST_RULE_TOKEN
`, f.dir)))
	must(t, err)
	a, err := New(context.Background(), Options{Config: cfg, AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	eng, err := a.AttachEngines(zap.NewNop())
	must(t, err)
	ctx := context.Background()
	_, err = a.Scan(ctx, nil)
	must(t, err)

	time.Sleep(1100 * time.Millisecond) // a new capture time (second resolution): the verdict is not reused
	must(t, f.sim.Inject(healed, awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "nmap"}}))
	ec := ec2.NewFromConfig(*simAWS(f.url))
	_, err = ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{gone}})
	must(t, err)
	_, err = a.Scan(ctx, nil)
	must(t, err)
	must(t, eng.Close(ctx))

	hub := f.sim.SecurityHub()
	for _, id := range []string{healed, gone} {
		fd := hub.Finding("driftd/us-east-1/123456789012/" + id)
		if fd == nil {
			t.Fatalf("%s: no finding", id)
		}
		wf, _ := fd["Workflow"].(map[string]any)
		if fd["RecordState"] != "ARCHIVED" || wf["Status"] != "RESOLVED" {
			t.Errorf("%s: record %v workflow %v", id, fd["RecordState"], wf)
		}
	}
	if n := hub.Calls("BatchImportFindings"); n != 2 {
		t.Errorf("BatchImportFindings calls = %d, want 2", n)
	}
	evals := map[string]string{}
	for _, ev := range f.sim.Config().Evaluations("driftd-drift") {
		evals[ev.ResourceID] = ev.ComplianceType
	}
	if evals[healed] != "COMPLIANT" || evals[gone] != "NON_COMPLIANT" || evals[f.api[0]] != "COMPLIANT" {
		t.Errorf("evaluations %v", evals)
	}
	if len(evals) < 7 {
		t.Errorf("%d instances evaluated, want every instance", len(evals))
	}
	t.Logf("Security Hub: %d imports, %d workflow updates; AWS Config: %d PutEvaluations calls, %d resources evaluated",
		hub.Calls("BatchImportFindings"), hub.Calls("BatchUpdateFindings"), f.sim.Config().Calls("PutEvaluations"), len(evals))
}
