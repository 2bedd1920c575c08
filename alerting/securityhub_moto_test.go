package alerting

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"golang.org/x/time/rate"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/testenv/motoenv"
)

// countingTransport counts requests per method and path.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// TestSecurityHubSinkAgainstMoto: the sink's round trip against moto in a
// fresh account: five drifted instances imported in one call; one heals and
// one is terminated, both re-imported archived and passed in one call;
// GetFindings shows the states. moto 5.2.1 does not implement
// BatchUpdateFindings (no route), so the workflow step is expected to fail
// there and is covered against awssim only (TestSecurityHubLifecycle).
func TestSecurityHubSinkAgainstMoto(t *testing.T) {
	u := motoenv.URL(t)
	ctx := context.Background()
	cfg, account := motoenv.Account(t, ctx, u, "us-east-1")
	ct := &countingTransport{next: http.DefaultTransport, n: map[string]int{}}
	client := securityhub.NewFromConfig(cfg, func(o *securityhub.Options) {
		o.BaseEndpoint = aws.String(u)
		o.RetryMaxAttempts = 1
		o.HTTPClient = &http.Client{Transport: ct}
	})
	s := NewSecurityHubSink(client, SecurityHubOptions{Name: "hub", AccountID: account, Region: "us-east-1", Limiter: rate.NewLimiter(rate.Inf, 1), Backoff: fastBackoff})
	var det []Event
	for _, id := range []string{"i-a", "i-b", "i-c", "i-d", "i-e"} {
		det = append(det, Event{Type: EventDriftDetected, Time: t0, Since: t0, ASG: "web", AMI: "ami-1", InstanceID: id,
			Severity: drift.SeverityHigh, Summary: "1 finding (1 package), max severity high", Findings: []drift.Finding{fA}, FindingsTotal: 1})
	}
	if _, err := s.Notify(ctx, BuildBatch("b1", t0, det, Limits{})); err != nil {
		t.Fatalf("detect: %v", err)
	}
	res := []Event{
		{Type: EventDriftResolved, Time: t0.Add(1e9), Since: t0, ASG: "web", AMI: "ami-1", InstanceID: "i-a", Severity: drift.SeverityHigh, Summary: "drift resolved: in sync with the baseline", Reason: "in sync with the baseline"},
		{Type: EventDriftResolved, Time: t0.Add(1e9), Since: t0, ASG: "web", AMI: "ami-1", InstanceID: "i-b", Severity: drift.SeverityHigh, Summary: "drift resolved: instance no longer present", Reason: "instance no longer present"},
	}
	_, err := s.Notify(ctx, BuildBatch("b2", t0, res, Limits{}))
	if err != nil && !strings.Contains(err.Error(), "1 of 2 parts failed; first: securityhub BatchUpdateFindings") {
		t.Fatalf("resolve: %v (only the workflow step may fail on moto)", err)
	}
	t.Logf("workflow step on moto: %v", err)
	out, err := client.GetFindings(ctx, &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, f := range out.Findings {
		states[aws.ToString(f.Id)] = string(f.RecordState) + "/" + string(f.Compliance.Status) + "/" + string(f.Severity.Label)
	}
	want := map[string]string{"i-a": "ARCHIVED/PASSED/INFORMATIONAL", "i-b": "ARCHIVED/PASSED/INFORMATIONAL",
		"i-c": "ACTIVE/FAILED/HIGH", "i-d": "ACTIVE/FAILED/HIGH", "i-e": "ACTIVE/FAILED/HIGH"}
	if len(states) != len(want) {
		t.Fatalf("%d findings in moto: %v", len(states), states)
	}
	for id, st := range want {
		if got := states[s.FindingID(id)]; got != st {
			t.Errorf("%s: %s, want %s", id, got, st)
		}
	}
	if n := ct.n["POST /findings/import"]; n != 2 {
		t.Errorf("BatchImportFindings calls = %d, want 2", n)
	}
	if out.Findings[0].Workflow == nil || out.Findings[0].Workflow.Status != shtypes.WorkflowStatusNew {
		t.Errorf("workflow after import: %+v", out.Findings[0].Workflow)
	}
	t.Logf("moto round trip: calls %v; %d findings; states %v", ct.n, len(states), states)
}
