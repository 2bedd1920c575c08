package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

var updatePlanGolden = flag.Bool("update-plan", false, "rewrite cmd/driftd/testdata/plan*.golden")

func fixedPlanInput() remediation.PlanInput {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	in := remediation.PlanInput{
		Now: now,
		Config: config.Remediation{Groups: []config.RemediationGroup{
			{Match: "web-*", Mode: "replace", Budget: "10%"},
			{Match: "db-*", Mode: "approve"},
			{Match: "batch-*", Mode: "replace", Windows: []config.RemediationWindow{{Schedule: "0 2 * * *", Duration: 3 * time.Hour, TimeZone: "Europe/Berlin"}}},
		}},
		Groups: map[string]remediation.GroupFacts{},
	}
	add := func(group string, n, drifted int, mut func(i int, s *remediation.InstanceState)) {
		g := remediation.GroupFacts{Name: group, Desired: n}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("i-%s%04d", map[string]string{"web-a": "0a", "db-main": "0d", "batch-x": "0b"}[group], i)
			g.Instances = append(g.Instances, remediation.GroupInstance{ID: id, LifecycleState: "InService", HealthStatus: "Healthy"})
			s := remediation.InstanceState{ID: id, ASG: group, Verdict: drift.VerdictInSync, ConsecutiveScans: 4, Since: now.Add(-72 * time.Hour)}
			if i < drifted {
				s.Verdict, s.Severity, s.ConsecutiveScans, s.Since = drift.VerdictDrifted, drift.SeverityCritical, 5, now.Add(-time.Duration(10-i)*time.Hour)
				s.Reason = "package openssl changed 3.0.8-1 -> 3.0.2-0"
			}
			if mut != nil {
				mut(i, &s)
			}
			in.Instances = append(in.Instances, s)
		}
		in.Groups[group] = g
	}
	add("web-a", 20, 3, func(i int, s *remediation.InstanceState) {
		if i == 2 {
			s.Tags = map[string]string{drift.TagProtect: "true"}
		}
	})
	add("db-main", 3, 1, nil)
	add("batch-x", 4, 1, func(i int, s *remediation.InstanceState) {
		if i == 0 {
			s.ConsecutiveScans = 1
		}
		if i == 1 {
			s.Verdict = drift.VerdictStale
		}
	})
	in.Instances = append(in.Instances, remediation.InstanceState{ID: "i-0e0000", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh, ConsecutiveScans: 3, Since: now.Add(-time.Hour), Reason: "file /etc/motd changed"})
	return in
}

func TestWritePlanGolden(t *testing.T) {
	p := remediation.Plan(fixedPlanInput())
	for _, format := range []string{"table", "json"} {
		var buf bytes.Buffer
		if err := writePlan(&buf, format, p); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "plan."+format+".golden")
		if *updatePlanGolden {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/driftd -run TestWritePlanGolden -update-plan)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s output differs from %s:\n%s", format, golden, buf.String())
		}
	}
	// The JSON is the PlanResult itself.
	var buf bytes.Buffer
	_ = writePlan(&buf, "json", p)
	var back remediation.PlanResult
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Actions) != len(p.Actions) || len(back.Skipped) != len(p.Skipped) {
		t.Errorf("JSON plan does not round-trip: %v", err)
	}
}

// TestWritePlanReadFailuresGolden: groups whose state could not be read
// show group_state_unknown with the error, the read failures are listed in
// full, and the other groups are planned as usual.
func TestWritePlanReadFailuresGolden(t *testing.T) {
	in := fixedPlanInput()
	in.ReadFailures = []remediation.ReadFailure{
		{Group: "db-main", Call: remediation.CallDescribeRefreshes, Code: "AccessDenied", Error: "autoscaling DescribeInstanceRefreshes db-main: operation error Auto Scaling: DescribeInstanceRefreshes, " +
			"https response error StatusCode: 403, RequestID: 0a1b, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/driftd/i-0 is not authorized to perform: autoscaling:DescribeInstanceRefreshes"},
		{Group: "batch-x", Call: remediation.CallDescribeGroups, Code: "Throttling", Error: "autoscaling DescribeAutoScalingGroups (1 groups from batch-x): operation error Auto Scaling: DescribeAutoScalingGroups, " +
			"exceeded maximum number of attempts, 3, https response error StatusCode: 400, RequestID: 0c2d, api error Throttling: Rate exceeded"},
		{Call: remediation.CallDescribeInstances, Instances: []string{"i-0e0000"}, Code: "Unavailable", Error: "ec2 DescribeInstances (1 instances from i-0e0000): operation error EC2: DescribeInstances, " +
			"exceeded maximum number of attempts, 3, https response error StatusCode: 503, RequestID: 0e3f, api error Unavailable: The service is unavailable. Please try again shortly."},
	}
	p := remediation.Plan(in)
	reasons := map[string]remediation.SkipReason{}
	for _, sk := range p.Skipped {
		reasons[sk.InstanceID] = sk.Reason
	}
	// The facts of batch-x and db-main are unknown; web-a still acts.
	if reasons["i-0d0000"] != remediation.SkipGroupStateUnknown || reasons["i-0b0000"] != remediation.SkipGroupStateUnknown ||
		len(p.Actions) != 1 || p.Actions[0].Group != "web-a" {
		t.Fatalf("plan: %+v", p)
	}
	for _, format := range []string{"table", "json"} {
		var buf bytes.Buffer
		if err := writePlan(&buf, format, p); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "plan_readfail."+format+".golden")
		if *updatePlanGolden {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/driftd -run TestWritePlanReadFailuresGolden -update-plan)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s output differs from %s:\n%s", format, golden, buf.String())
		}
		for _, want := range []string{"group_state_unknown", "AccessDenied", "Throttling", "Unavailable"} {
			if !bytes.Contains(buf.Bytes(), []byte(want)) {
				t.Errorf("%s output lacks %q", format, want)
			}
		}
	}
}

func TestPlanOnlyInstancesKeepsGroupsWhole(t *testing.T) {
	p := remediation.PlanResult{
		Actions: []remediation.Action{{InstanceID: "i-a", Group: "web"}, {InstanceID: "i-b", Group: "web"}},
		Skipped: []remediation.Skip{{InstanceID: "i-c", Group: "api"}, {InstanceID: "i-a", Group: "web"}},
		Tags:    []remediation.TagChange{{InstanceID: "i-b"}},
		Groups:  []remediation.GroupStatus{{}, {}},
	}
	got := onlyInstances(p, []string{"i-a"})
	if len(got.Actions) != 1 || got.Actions[0].InstanceID != "i-a" {
		t.Fatalf("actions = %+v", got.Actions)
	}
	if len(got.Skipped) != 1 || got.Skipped[0].InstanceID != "i-a" || len(got.Tags) != 0 {
		t.Fatalf("skipped = %+v tags = %+v", got.Skipped, got.Tags)
	}
	if len(got.Groups) != 2 {
		t.Fatalf("groups filtered: %+v", got.Groups)
	}
}
