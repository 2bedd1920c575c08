package configrule

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	simcfg "github.com/driftd/driftd/awssim/configservice"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func simClient(t *testing.T, svc *simcfg.Service) *configservice.Client {
	t.Helper()
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")),
		awsconfig.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return configservice.NewFromConfig(cfg, func(o *configservice.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func inst(id string, v drift.Verdict, capture time.Time, fs ...drift.Finding) scan.InstanceResult {
	rep := &drift.Report{InstanceID: id, AMI: "ami-1", Verdict: v, Findings: fs, FindingsTotal: len(fs), OldestCapture: capture}
	for _, f := range fs {
		rep.Severity = max(rep.Severity, f.Severity)
	}
	if v == drift.VerdictStale || v == drift.VerdictUnknown || v == drift.VerdictNoBaseline {
		rep.Reasons = []string{"inventory " + string(v)}
	}
	return scan.InstanceResult{Report: rep}
}

var pkg = drift.Finding{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: "openssl", Attribute: "version",
	Change: drift.ChangeChanged, Expected: "3.0.8-1", Observed: "3.0.9-1", Severity: drift.SeverityHigh}

func result(finished time.Time, ins ...scan.InstanceResult) *scan.Result {
	return &scan.Result{Finished: finished, Instances: ins}
}

func TestComplianceOfEveryVerdict(t *testing.T) {
	for v, want := range map[drift.Verdict]cstypes.ComplianceType{
		drift.VerdictInSync: "COMPLIANT", drift.VerdictDrifted: "NON_COMPLIANT",
		drift.VerdictUnknown: "NOT_APPLICABLE", drift.VerdictStale: "NOT_APPLICABLE",
		drift.VerdictNoBaseline: "NOT_APPLICABLE", drift.VerdictExempt: "NOT_APPLICABLE",
	} {
		if got := Compliance(v); got != want {
			t.Errorf("%s → %s, want %s", v, got, want)
		}
	}
	if len(drift.Verdicts) != 6 {
		t.Errorf("drift has %d verdicts; map the new ones", len(drift.Verdicts))
	}
}

func TestAnnotationBounded(t *testing.T) {
	var fs []drift.Finding
	for i := range 50 {
		f := pkg
		f.Name = strings.Repeat("é", 100) + fmt.Sprint(i)
		fs = append(fs, f)
	}
	a := Annotation(&drift.Report{Verdict: drift.VerdictDrifted, AMI: "ami-1", Severity: drift.SeverityHigh, Findings: fs}, 50)
	if n := len([]rune(a)); n > MaxAnnotation || !strings.HasPrefix(a, "drifted from ami-1: 50 findings, max severity high; package ") {
		t.Fatalf("%d runes: %q", n, a)
	}
	a = Annotation(&drift.Report{Verdict: drift.VerdictUnknown, Reasons: []string{"agent \x1b[31m offline"}}, 0)
	if strings.ContainsRune(a, 0x1b) || !strings.HasPrefix(a, "unknown: agent") {
		t.Fatalf("unknown annotation %q", a)
	}
}

// TestEvaluatorRoundTrip: verdicts become evaluations in AWS Config; an
// unchanged verdict is not sent again until the refresh interval; a heal
// is.
func TestEvaluatorRoundTrip(t *testing.T) {
	svc := simcfg.New()
	tok := svc.IssueToken("driftd-drift")
	client := simClient(t, svc)
	now := t0
	m := NewMetrics(nil)
	e := New(&config.ConfigRule{ResultTokenEnv: "TOKEN", RefreshInterval: 24 * time.Hour}, client,
		Options{Metrics: m, Now: func() time.Time { return now }, Getenv: func(string) string { return tok }})
	cap1 := t0.Add(-10 * time.Minute)
	ctx := context.Background()
	e.OnScan(ctx, result(t0, inst("i-1", drift.VerdictDrifted, cap1, pkg), inst("i-2", drift.VerdictInSync, cap1), inst("i-3", drift.VerdictStale, t0.Add(-48*time.Hour)), inst("i-4", drift.VerdictUnknown, time.Time{})))
	got := svc.Evaluations("driftd-drift")
	want := map[string]string{"i-1": "NON_COMPLIANT", "i-2": "COMPLIANT", "i-3": "NOT_APPLICABLE", "i-4": "NOT_APPLICABLE"}
	if len(got) != 4 {
		t.Fatalf("evaluations: %+v", got)
	}
	for _, ev := range got {
		if want[ev.ResourceID] != ev.ComplianceType || ev.ResourceType != "AWS::EC2::Instance" {
			t.Errorf("%s: %s %s", ev.ResourceID, ev.ResourceType, ev.ComplianceType)
		}
	}
	if !got[0].OrderingTimestamp.Equal(cap1) || !got[3].OrderingTimestamp.Equal(t0) {
		t.Errorf("ordering timestamps %s, %s: want the capture time, the scan time without one", got[0].OrderingTimestamp, got[3].OrderingTimestamp)
	}
	if !strings.Contains(got[0].Annotation, "openssl") {
		t.Errorf("annotation %q", got[0].Annotation)
	}
	// Next scan: i-1 healed, the rest unchanged → one evaluation sent.
	now = t0.Add(time.Hour)
	cap2 := now.Add(-time.Minute)
	e.OnScan(ctx, result(now, inst("i-1", drift.VerdictInSync, cap2), inst("i-2", drift.VerdictInSync, cap1), inst("i-3", drift.VerdictStale, t0.Add(-48*time.Hour)), inst("i-4", drift.VerdictUnknown, time.Time{})))
	if c := svc.Calls("PutEvaluations"); c != 2 {
		t.Fatalf("calls = %d, want 2", c)
	}
	if v := testutil.ToFloat64(m.Evaluations.WithLabelValues("sent")); v != 5 {
		t.Fatalf("sent = %v, want 5 (4 then the healed one)", v)
	}
	if ev := svc.Evaluations("driftd-drift")[0]; ev.ComplianceType != "COMPLIANT" || !ev.OrderingTimestamp.Equal(cap2) {
		t.Fatalf("healed instance: %+v", ev)
	}
	// After the refresh interval every evaluation is sent again.
	now = t0.Add(25 * time.Hour)
	e.OnScan(ctx, result(now, inst("i-1", drift.VerdictInSync, cap2), inst("i-2", drift.VerdictInSync, cap1)))
	if v := testutil.ToFloat64(m.Evaluations.WithLabelValues("sent")); v != 7 {
		t.Fatalf("sent = %v after refresh, want 7", v)
	}
	// A failed or interrupted scan sends nothing.
	e.OnScan(ctx, &scan.Result{Err: fmt.Errorf("boom")})
	e.OnScan(ctx, &scan.Result{Interrupted: true})
	if c := svc.Calls("PutEvaluations"); c != 3 {
		t.Fatalf("calls = %d, want 3", c)
	}
}

// TestEvaluatorBatchesAndFailures: 250 instances go in 3 calls; a forged
// token fails every evaluation, which is sent again at the next scan.
func TestEvaluatorBatchesAndFailures(t *testing.T) {
	svc := simcfg.New()
	client := simClient(t, svc)
	m := NewMetrics(nil)
	token := "forged"
	e := New(&config.ConfigRule{ResultTokenEnv: "T", RefreshInterval: 24 * time.Hour}, client,
		Options{Metrics: m, Now: func() time.Time { return t0 }, Getenv: func(string) string { return token }})
	var ins []scan.InstanceResult
	for i := range 250 {
		ins = append(ins, inst(fmt.Sprintf("i-%04d", i), drift.VerdictInSync, t0))
	}
	e.OnScan(context.Background(), result(t0, ins...))
	if v := testutil.ToFloat64(m.Evaluations.WithLabelValues("failed")); v != 250 {
		t.Fatalf("failed = %v", v)
	}
	token = svc.IssueToken("r")
	e.OnScan(context.Background(), result(t0, ins...))
	if c := svc.Calls("PutEvaluations"); c != 6 {
		t.Fatalf("calls = %d, want 6 (3 rejected, 3 accepted)", c)
	}
	if n := len(svc.Evaluations("r")); n != 250 {
		t.Fatalf("%d evaluations recorded", n)
	}
	// An empty token source sends nothing and counts the evaluations failed.
	token = ""
	ins[0] = inst("i-0000", drift.VerdictDrifted, t0, pkg)
	e.OnScan(context.Background(), result(t0, ins...))
	if c := svc.Calls("PutEvaluations"); c != 6 {
		t.Fatalf("calls = %d after an empty token", c)
	}
}

// TestEvaluatorTestModeAndIdle: test mode is sent with TestMode (nothing
// recorded); without a section nothing is sent.
func TestEvaluatorTestModeAndIdle(t *testing.T) {
	svc := simcfg.New()
	client := simClient(t, svc)
	m := NewMetrics(nil)
	e := New(nil, client, Options{Metrics: m})
	r := result(t0, inst("i-1", drift.VerdictDrifted, t0, pkg))
	e.OnScan(context.Background(), r)
	if c := svc.Calls("PutEvaluations"); c != 0 {
		t.Fatalf("idle evaluator made %d calls", c)
	}
	e.SetConfig(&config.ConfigRule{ResultToken: "dry-run", TestMode: true, RefreshInterval: time.Hour}, client)
	e.OnScan(context.Background(), r)
	if c := svc.Calls("PutEvaluations"); c != 1 {
		t.Fatalf("test mode calls = %d", c)
	}
	// Accepted only because TestMode was set: the token was never issued.
	if v := testutil.ToFloat64(m.Evaluations.WithLabelValues("sent")); v != 1 || len(svc.Evaluations("dry-run")) != 0 {
		t.Fatalf("test mode: sent %v", v)
	}
}
