package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	simsh "github.com/driftd/driftd/awssim/securityhub"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

const shAccount = "123456789012"

// shEnv is the simulated Security Hub with a real SDK client pointed at
// it; stamps records when each BatchImportFindings call arrived.
type shEnv struct {
	svc    *simsh.Service
	client *securityhub.Client
	mu     sync.Mutex
	stamps []time.Time
	sizes  []int
}

func newSHEnv(t *testing.T, o simsh.Options) *shEnv {
	t.Helper()
	o.AccountID = shAccount
	e := &shEnv{svc: simsh.New(o)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if simsh.Route(r.Method, r.URL.Path) == "BatchImportFindings" {
			e.mu.Lock()
			e.stamps = append(e.stamps, time.Now())
			e.mu.Unlock()
		}
		e.svc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.client = securityhub.NewFromConfig(awsClientConfig(t, srv.URL))
	return e
}

func (e *shEnv) finding(t *testing.T, id string) map[string]any {
	t.Helper()
	f := e.svc.Finding("driftd/us-east-1/" + shAccount + "/" + id)
	if f == nil {
		t.Fatalf("no finding for %s", id)
	}
	return f
}

func str(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, _ := cur.(map[string]any)
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func newSHSink(e *shEnv, m *NotifyMetrics) *SecurityHubSink {
	return NewSecurityHubSink(e.client, SecurityHubOptions{Name: "hub", AccountID: shAccount, Region: "us-east-1", Metrics: m,
		Limiter: rate.NewLimiter(rate.Inf, 1), Backoff: fastBackoff})
}

// TestSecurityHubLifecycle drives the notifier end to end: 30 drifted
// instances in one group (more than max_instances_per_group) each get a
// finding; one heals, one is terminated: both are archived and resolved;
// the others are imported exactly once.
func TestSecurityHubLifecycle(t *testing.T) {
	env := newSHEnv(t, simsh.Options{})
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{MaxInstancesPerGroup: 20, Sinks: []config.AlertSink{{Name: "hub", Type: config.SinkSecurityHub, AccountID: shAccount}}},
		Options{Metrics: m, SecurityHub: env.client, Region: "us-east-1", Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	cur := fleetScan(30, "web")
	n.Scan(t0, cur)
	healed, gone := cur[0].InstanceID, cur[1].InstanceID
	next := append([]InstanceState{withVerdict(healed, "web", drift.VerdictInSync)}, cur[2:]...)
	n.Scan(t0.Add(time.Hour), next)
	n.Scan(t0.Add(2*time.Hour), next) // nothing changed: no event, no import
	if err := n.Close(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for i, st := range cur {
		f := env.finding(t, st.InstanceID)
		id := str(f, "Id")
		if got := env.svc.Imports(id); (i < 2 && got != 2) || (i >= 2 && got != 1) {
			t.Errorf("%s imported %d times", st.InstanceID, got)
		}
		switch {
		case i < 2:
			if str(f, "RecordState") != "ARCHIVED" || str(f, "Workflow", "Status") != "RESOLVED" || str(f, "Compliance", "Status") != "PASSED" {
				t.Errorf("%s after resolution: record %s workflow %s compliance %s", st.InstanceID, str(f, "RecordState"), str(f, "Workflow", "Status"), str(f, "Compliance", "Status"))
			}
		default:
			if str(f, "RecordState") != "ACTIVE" || str(f, "Workflow", "Status") != "NEW" || str(f, "Severity", "Label") != "HIGH" {
				t.Errorf("%s: record %s workflow %s severity %s", st.InstanceID, str(f, "RecordState"), str(f, "Workflow", "Status"), str(f, "Severity", "Label"))
			}
		}
	}
	if r := str(env.finding(t, gone), "ProductFields", "driftd/Resolution"); r != "instance no longer present" {
		t.Errorf("terminated instance resolution = %q", r)
	}
	if c := env.svc.Calls("BatchImportFindings"); c != 2 {
		t.Errorf("BatchImportFindings calls = %d, want 2 (one per scan with transitions)", c)
	}
	if c := env.svc.Calls("BatchUpdateFindings"); c != 1 {
		t.Errorf("BatchUpdateFindings calls = %d, want 1", c)
	}
	if v := testutil.ToFloat64(m.SecurityHubFindings.WithLabelValues("hub", "imported")); v != 32 {
		t.Errorf("imported = %v, want 32", v)
	}
}

// TestSecurityHubBatchesOf100 splits 250 findings into calls of ≤ 100.
func TestSecurityHubBatchesOf100(t *testing.T) {
	env := newSHEnv(t, simsh.Options{})
	s := newSHSink(env, nil)
	var evs []Event
	for i := range 250 {
		evs = append(evs, Event{Type: EventDriftDetected, Time: t0, ASG: "web", AMI: "ami-1", InstanceID: fmt.Sprintf("i-%04d", i), Severity: drift.SeverityLow, Summary: "1 finding"})
	}
	if _, err := s.Notify(context.Background(), BuildBatch("b1", t0, evs, Limits{})); err != nil {
		t.Fatal(err)
	}
	if c := env.svc.Calls("BatchImportFindings"); c != 3 {
		t.Fatalf("calls = %d, want 3", c)
	}
}

// TestSecurityHubPartialFailure: a finding Security Hub throttles is
// imported again (bounded), the accepted ones are never resent, and the
// failures are counted.
func TestSecurityHubPartialFailure(t *testing.T) {
	var throttles atomic.Int32
	env := newSHEnv(t, simsh.Options{Reject: func(id string) string {
		switch {
		case strings.HasSuffix(id, "/i-slow") && throttles.Add(1) <= 2:
			return "ThrottlingException"
		case strings.HasSuffix(id, "/i-bad"):
			return "InvalidInput"
		case strings.HasSuffix(id, "/i-never"):
			return "InternalException"
		}
		return ""
	}})
	m := NewNotifyMetrics(nil)
	s := newSHSink(env, m)
	var evs []Event
	for _, id := range []string{"i-ok1", "i-slow", "i-ok2", "i-bad", "i-never"} {
		evs = append(evs, Event{Type: EventDriftDetected, Time: t0, AMI: "ami-1", InstanceID: id, Severity: drift.SeverityCritical})
	}
	b := BuildBatch("b1", t0, evs, Limits{})
	retry, err := s.Notify(context.Background(), b)
	if err == nil || !retry {
		t.Fatalf("retry=%v err=%v, want a retryable error (i-never)", retry, err)
	}
	for id, want := range map[string]int{"i-ok1": 1, "i-ok2": 1, "i-slow": 1, "i-bad": 0, "i-never": 0} {
		if got := env.svc.Imports(s.FindingID(id)); got != want {
			t.Errorf("%s imported %d times, want %d", id, got, want)
		}
	}
	if c := env.svc.Calls("BatchImportFindings"); c != SecurityHubImportAttempts {
		t.Errorf("calls = %d, want %d", c, SecurityHubImportAttempts)
	}
	// failed: i-slow 2, i-bad 1, i-never 3.
	if v := testutil.ToFloat64(m.SecurityHubFindings.WithLabelValues("hub", "failed")); v != 6 {
		t.Errorf("failed = %v, want 6", v)
	}
	// The delivery policy's retry sends only i-never again.
	before := env.svc.Calls("BatchImportFindings")
	if _, err := s.Notify(context.Background(), b); err == nil {
		t.Fatal("i-never still fails: want an error")
	}
	if got := env.svc.Calls("BatchImportFindings") - before; got != SecurityHubImportAttempts {
		t.Errorf("retry made %d calls", got)
	}
	for _, id := range []string{"i-ok1", "i-slow"} {
		if got := env.svc.Imports(s.FindingID(id)); got != 1 {
			t.Errorf("%s resent by the retry: %d imports", id, got)
		}
	}
}

// TestSecurityHubRateLimit: calls are paced by the limiter. The shared
// limiter is Security Hub's documented 10/s, burst 30; a scaled one is
// timed here (burst 3, 50/s: 8 calls take ≥ 100ms).
func TestSecurityHubRateLimit(t *testing.T) {
	if l := SharedSecurityHubLimiter("111111111111", "eu-west-1"); l.Limit() != 10 || l.Burst() != 30 {
		t.Fatalf("shared limiter %v/%d", l.Limit(), l.Burst())
	}
	if SharedSecurityHubLimiter("111111111111", "eu-west-1") != SharedSecurityHubLimiter("111111111111", "eu-west-1") {
		t.Fatal("the limiter of an account and Region is not shared")
	}
	env := newSHEnv(t, simsh.Options{})
	s := NewSecurityHubSink(env.client, SecurityHubOptions{Name: "hub", AccountID: shAccount, Region: "us-east-1", Limiter: rate.NewLimiter(50, 3)})
	var evs []Event
	for i := range 800 {
		evs = append(evs, Event{Type: EventDriftDetected, Time: t0, AMI: "ami-1", InstanceID: fmt.Sprintf("i-%04d", i), Severity: drift.SeverityLow})
	}
	start := time.Now()
	if _, err := s.Notify(context.Background(), BuildBatch("b", t0, evs, Limits{})); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 95*time.Millisecond {
		t.Fatalf("8 calls took %s with burst 3 at 50/s", el)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if len(env.stamps) != 8 {
		t.Fatalf("%d calls", len(env.stamps))
	}
	// In any window the calls never exceed burst + rate·window.
	for i := range env.stamps {
		for j := i + 1; j < len(env.stamps); j++ {
			window := env.stamps[j].Sub(env.stamps[i]).Seconds()
			if float64(j-i+1) > 3+50*window+1 {
				t.Fatalf("calls %d..%d within %.3fs", i, j, window)
			}
		}
	}
}

// TestSecurityHubFindingGolden pins the ASFF finding as it reaches
// Security Hub (the wire JSON the SDK sends, as the simulator stored it):
// detected, then resolved.
func TestSecurityHubFindingGolden(t *testing.T) {
	env := newSHEnv(t, simsh.Options{Region: "eu-central-1", Clock: func() time.Time { return t0.Add(3 * time.Hour) }})
	s := NewSecurityHubSink(env.client, SecurityHubOptions{Name: "hub", AccountID: shAccount, Region: "eu-central-1", Limiter: rate.NewLimiter(rate.Inf, 1)})
	sshd := drift.Finding{Category: drift.CategoryFile, Type: drift.TypeFileDigest, Name: "/etc/ssh/sshd_config", Attribute: "sha256",
		Change: drift.ChangeChanged, Expected: "9f86d08", Observed: "60303ae", Severity: drift.SeverityCritical}
	det := Event{Type: EventDriftDetected, Time: t0.Add(time.Hour), Since: t0, ASG: "web", AMI: "ami-0abc", InstanceID: "i-0123",
		Severity: drift.SeverityCritical, Summary: "2 findings (1 file, 1 package), max severity critical", Findings: []drift.Finding{sshd, fA}, FindingsTotal: 2}
	res := Event{Type: EventDriftResolved, Time: t0.Add(2 * time.Hour), Since: t0, ASG: "web", AMI: "ami-0abc", InstanceID: "i-0123",
		Severity: drift.SeverityCritical, Summary: "drift resolved: in sync with the baseline", Reason: "in sync with the baseline"}
	var stored []map[string]any
	for i, ev := range []Event{det, res} {
		if _, err := s.Notify(context.Background(), BuildBatch(fmt.Sprint("b", i), ev.Time, []Event{ev}, Limits{})); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, env.svc.Finding(s.FindingID("i-0123")))
	}
	got, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "securityhub_findings.golden.json", append(got, '\n'))
	if p := str(stored[0], "ProductArn"); p != "arn:aws:securityhub:eu-central-1:123456789012:product/123456789012/default" {
		t.Errorf("product ARN %s", p)
	}
}

// TestSecurityHubBounds: ASFF string limits hold for huge inventories.
func TestSecurityHubBounds(t *testing.T) {
	s := NewSecurityHubSink(nil, SecurityHubOptions{Name: "hub", AccountID: shAccount, Region: "cn-north-1", Limiter: rate.NewLimiter(rate.Inf, 1)})
	var fs []drift.Finding
	for i := range 200 {
		fs = append(fs, pkgFinding(strings.Repeat("p", 300)+itoa(i), "1", "2", drift.SeverityHigh))
	}
	f := s.Finding(Event{Type: EventDriftDetected, Time: t0, AMI: "ami-1", InstanceID: "i-" + strings.Repeat("9", 300), Severity: drift.SeverityHigh,
		Summary: strings.Repeat("s", 5000), Findings: fs, FindingsTotal: 200})
	if n := len([]rune(aws.ToString(f.Title))); n > 256 {
		t.Errorf("title %d runes", n)
	}
	if n := len([]rune(aws.ToString(f.Description))); n > 1024 {
		t.Errorf("description %d runes", n)
	}
	for k, v := range f.ProductFields {
		if len([]rune(v)) > 2048 {
			t.Errorf("product field %s: %d runes", k, len([]rune(v)))
		}
	}
	if p := f.Resources[0].Partition; p != "aws-cn" || !strings.HasPrefix(aws.ToString(f.Resources[0].Id), "arn:aws-cn:ec2:cn-north-1:") {
		t.Errorf("partition %s id %s", p, aws.ToString(f.Resources[0].Id))
	}
}

// TestSecurityHubRepeatRefreshes: a repeat_interval re-announcement
// updates the same finding (LastObservedAt), one import per event.
func TestSecurityHubRepeatRefreshes(t *testing.T) {
	env := newSHEnv(t, simsh.Options{})
	s := newSHSink(env, nil)
	ev := Event{Type: EventDriftDetected, Time: t0, Since: t0, AMI: "ami-1", InstanceID: "i-1", Severity: drift.SeverityLow, Summary: "x"}
	rep := ev
	rep.Time, rep.Repeat = t0.Add(4*time.Hour), true
	for i, e := range []Event{ev, rep} {
		if _, err := s.Notify(context.Background(), BuildBatch(fmt.Sprint("b", i), e.Time, []Event{e}, Limits{})); err != nil {
			t.Fatal(err)
		}
	}
	f := env.finding(t, "i-1")
	if env.svc.Imports(str(f, "Id")) != 2 || str(f, "LastObservedAt") != "2026-11-25T16:00:00Z" || str(f, "CreatedAt") != "2026-11-25T12:00:00Z" {
		t.Fatalf("imports %d, last observed %s, created %s", env.svc.Imports(str(f, "Id")), str(f, "LastObservedAt"), str(f, "CreatedAt"))
	}
}

// TestSecurityHubSinkNeedsClientAndRegion: a configured sink without its
// client or Region is an error naming the sink.
func TestSecurityHubSinkNeedsClientAndRegion(t *testing.T) {
	cfg := config.Alerting{Sinks: []config.AlertSink{{Name: "hub", Type: config.SinkSecurityHub, AccountID: shAccount}}}
	env := newSHEnv(t, simsh.Options{})
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{Region: "us-east-1"}, "alerting.sinks[0] (hub): no Security Hub client"},
		{Options{SecurityHub: env.client}, "alerting.sinks[0] (hub): no AWS Region for the Security Hub findings"},
	} {
		if _, err := New(cfg, tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
}
