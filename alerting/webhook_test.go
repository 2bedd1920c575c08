package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

const testSecret = "whsec-0123456789abcdef-super-secret"

var fastBackoff = Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}

// loadSchema compiles docs/webhook.schema.json (draft 2020-12, formats asserted).
func loadSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../docs/webhook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("webhook.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("webhook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validatePayload(t testing.TB, s *jsonschema.Schema, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type received struct {
	body                 []byte
	sig, ts, delivery    string
	verifyErr, schemaErr error
}

// hookServer verifies every request's signature and schema and answers the
// given statuses in turn (the last one repeats).
func hookServer(t *testing.T, statuses ...int) (*httptest.Server, func() []received) {
	t.Helper()
	schema := loadSchema(t)
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc := received{body: body, sig: r.Header.Get(HeaderSignature), ts: r.Header.Get(HeaderTimestamp), delivery: r.Header.Get(HeaderDelivery)}
		rc.verifyErr = Verify([]byte(testSecret), rc.ts, rc.sig, body, time.Now(), 5*time.Minute)
		rc.schemaErr = validatePayload(t, schema, body)
		mu.Lock()
		i := len(got)
		got = append(got, rc)
		mu.Unlock()
		st := statuses[min(i, len(statuses)-1)]
		w.WriteHeader(st)
		if st >= 400 {
			io.WriteString(w, `{"error":"nope"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func webhookNotifier(t *testing.T, url string, maxRetries int, timeout time.Duration) (*Notifier, *NotifyMetrics) {
	t.Helper()
	m := NewNotifyMetrics(nil)
	cfg := config.Alerting{Sinks: []config.AlertSink{{Name: "hook", Type: "webhook", URL: url, SecretEnv: "HOOK_SECRET", MaxRetries: maxRetries, Timeout: timeout}}}
	n, err := New(cfg, Options{
		Metrics: m, Backoff: fastBackoff,
		Getenv: func(k string) string {
			if k == "HOOK_SECRET" {
				return testSecret
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, m
}

func count(m *NotifyMetrics, sink, result string) float64 {
	return testutil.ToFloat64(m.Notifications.WithLabelValues(sink, result))
}

func failures(m *NotifyMetrics, sink string, r Reason) float64 {
	return testutil.ToFloat64(m.Failures.WithLabelValues(sink, string(r)))
}

func TestWebhookSignedSchemaValidRetriedOn500(t *testing.T) {
	srv, got := hookServer(t, 500, 200)
	n, m := webhookNotifier(t, srv.URL+"/hook", 3, 2*time.Second)
	evs := n.Scan(t0, []InstanceState{drifted("i-1", "web", fA, fB), drifted("i-2", "api", fA)})
	if len(evs) != 2 {
		t.Fatalf("events: %v", evs)
	}
	waitFor(t, "success", func() bool { return count(m, "hook", ResultSuccess) == 1 })
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("requests: %d, want 2 (500 then 200)", len(reqs))
	}
	for i, r := range reqs {
		if r.verifyErr != nil {
			t.Errorf("request %d: signature: %v", i, r.verifyErr)
		}
		if r.schemaErr != nil {
			t.Errorf("request %d: schema: %v\n%s", i, r.schemaErr, r.body)
		}
	}
	if reqs[0].delivery == "" || reqs[0].delivery != reqs[1].delivery {
		t.Errorf("delivery id must be stable across retries: %q %q", reqs[0].delivery, reqs[1].delivery)
	}
	var p Batch
	if err := json.Unmarshal(reqs[1].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != "1" || p.EventCount != 2 || len(p.Groups) != 2 || p.Groups[0].ASG != "api" || p.Groups[1].Events[0].InstanceID != "i-1" {
		t.Errorf("payload: %s", reqs[1].body)
	}
	if failures(m, "hook", ReasonHTTP5xx) != 1 || count(m, "hook", ResultFailure) != 0 {
		t.Errorf("metrics: 5xx=%v failure=%v", failures(m, "hook", ReasonHTTP5xx), count(m, "hook", ResultFailure))
	}
	// The next scan with no change sends nothing.
	n.Scan(t0.Add(time.Minute), []InstanceState{drifted("i-1", "web", fB, fA), drifted("i-2", "api", fA)})
	time.Sleep(50 * time.Millisecond)
	if len(got()) != 2 {
		t.Errorf("unchanged scan notified: %d requests", len(got()))
	}
}

func TestWebhook400NotRetried(t *testing.T) {
	srv, got := hookServer(t, 400)
	n, m := webhookNotifier(t, srv.URL, 5, 2*time.Second)
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	waitFor(t, "failure", func() bool { return count(m, "hook", ResultFailure) == 1 })
	time.Sleep(30 * time.Millisecond)
	if len(got()) != 1 {
		t.Fatalf("400 must not be retried: %d requests", len(got()))
	}
	if failures(m, "hook", ReasonHTTP4xx) != 1 {
		t.Errorf("http_4xx failures: %v", failures(m, "hook", ReasonHTTP4xx))
	}
}

func TestWebhookRetryClassification(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		retries  int
		wantReq  int
		result   string
		reason   Reason
	}{
		{"429 throttled is retried", []int{429, 429, 204}, 5, 3, ResultSuccess, ReasonThrottled},
		{"5xx exhausts retries", []int{503}, 2, 3, ResultFailure, ReasonHTTP5xx},
		{"no retries configured", []int{500}, 0, 1, ResultFailure, ReasonHTTP5xx},
		{"404 not retried", []int{404}, 5, 1, ResultFailure, ReasonHTTP4xx},
		{"3xx is not success and not followed", []int{304}, 5, 1, ResultFailure, ReasonRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := hookServer(t, tc.statuses...)
			n, m := webhookNotifier(t, srv.URL, tc.retries, 2*time.Second)
			n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
			waitFor(t, tc.result, func() bool { return count(m, "hook", tc.result) == 1 })
			if len(got()) != tc.wantReq {
				t.Errorf("requests %d, want %d", len(got()), tc.wantReq)
			}
			if failures(m, "hook", tc.reason) == 0 {
				t.Errorf("no failure counted with reason %s", tc.reason)
			}
		})
	}
}

func TestWebhookTimeoutRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		c := calls
		mu.Unlock()
		if c == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(300 * time.Millisecond):
			}
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	n, m := webhookNotifier(t, srv.URL, 2, 100*time.Millisecond)
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	waitFor(t, "success after timeout", func() bool { return count(m, "hook", ResultSuccess) == 1 })
	if failures(m, "hook", ReasonTimeout) != 1 {
		t.Errorf("timeout failures: %v", failures(m, "hook", ReasonTimeout))
	}
}

func TestWebhookNetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	n, m := webhookNotifier(t, url, 1, time.Second)
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	waitFor(t, "failure", func() bool { return count(m, "hook", ResultFailure) == 1 })
	if failures(m, "hook", ReasonNetwork) != 2 {
		t.Errorf("network failures: %v (want 2 attempts)", failures(m, "hook", ReasonNetwork))
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"version":"1"}`)
	now := time.Unix(1764072000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign([]byte("k"), ts, body)
	// Computed independently (Python hmac): HMAC-SHA256("k", "1764072000.{\"version\":\"1\"}").
	if sig != "sha256=8691840ccf3a6a77173a2badc3c1e07fa66f2a3cc47ec878beaa9a45fad34df6" {
		t.Fatalf("signature format: %s", sig)
	}
	cases := []struct {
		name      string
		secret    string
		ts        string
		sig       string
		body      []byte
		now       time.Time
		wantError bool
	}{
		{"valid", "k", ts, sig, body, now, false},
		{"valid within skew", "k", ts, sig, body, now.Add(4 * time.Minute), false},
		{"replay too old", "k", ts, sig, body, now.Add(6 * time.Minute), true},
		{"from the future", "k", ts, sig, body, now.Add(-6 * time.Minute), true},
		{"wrong secret", "x", ts, sig, body, now, true},
		{"tampered body", "k", ts, sig, []byte(`{"version":"2"}`), now, true},
		{"tampered timestamp", "k", strconv.FormatInt(now.Unix()+1, 10), sig, body, now, true},
		{"bad timestamp", "k", "yesterday", sig, body, now, true},
		{"other scheme", "k", ts, "sha1=" + sig[7:], body, now, true},
	}
	for _, tc := range cases {
		err := Verify([]byte(tc.secret), tc.ts, tc.sig, tc.body, tc.now, 5*time.Minute)
		if (err != nil) != tc.wantError {
			t.Errorf("%s: err=%v", tc.name, err)
		}
	}
}

func TestPayloadSchemaAllEventTypesAndTruncation(t *testing.T) {
	schema := loadSchema(t)
	var evs []Event
	for i, typ := range EventTypes {
		ev := Event{Type: typ, Time: t0, ASG: "web", AMI: "ami-1", InstanceID: "i-" + strconv.Itoa(i), Severity: drift.SeverityLow,
			Summary: "s", Reason: "r", Details: map[string]string{"k": "v"}, Since: t0, Repeat: i%2 == 0}
		if i < 3 {
			ev.Findings = []drift.Finding{fA, fB, {Category: drift.CategoryFile, Name: "/etc/x", Attribute: "sha256", Change: drift.ChangeChanged, Expected: "a", Observed: "b", Severity: drift.SeverityCritical}}
			ev.FindingsTotal = 3
		}
		evs = append(evs, ev)
	}
	evs = append(evs, Event{Type: EventScanFailed, Time: t0, Severity: drift.SeverityHigh, Reason: "boom"})
	b := BuildBatch("id-1", t0, evs, Limits{MaxInstancesPerGroup: 5, MaxFindingsPerInstance: 2})
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := validatePayload(t, schema, body); err != nil {
		t.Fatalf("schema: %v\n%s", err, body)
	}
	if b.EventCount != 14 || b.TruncatedEvents != 8 || b.Groups[0].ASG != "" || b.Groups[1].TruncatedEvents != 8 || len(b.Groups[1].Events) != 5 {
		t.Errorf("truncation counts: count=%d truncated=%d groups=%+v", b.EventCount, b.TruncatedEvents, b.Groups)
	}
	first := b.Groups[1].Events[0]
	if first.Type != EventDriftDetected || len(first.Findings) != 2 || first.FindingsTruncated != 1 || first.Findings[0].Severity != drift.SeverityCritical {
		t.Errorf("finding truncation: %+v", first)
	}
	// The schema really rejects what it should.
	bad := []string{
		`{"version":"2","id":"x","source":"driftd","time":"2026-01-01T00:00:00Z","event_count":0,"truncated_events":0,"groups":[]}`,
		`{"version":"1","id":"x","source":"driftd","time":"yesterday","event_count":0,"truncated_events":0,"groups":[]}`,
		`{"version":"1","id":"x","source":"driftd","time":"2026-01-01T00:00:00Z","event_count":0,"truncated_events":0,"groups":[{"asg":"a","event_count":1,"truncated_events":0,"events":[{"type":"drift.exploded","time":"2026-01-01T00:00:00Z","severity":"high"}]}]}`,
		`{"version":"1","id":"x","source":"driftd","time":"2026-01-01T00:00:00Z","event_count":0,"truncated_events":0,"groups":[],"extra":1}`,
	}
	for i, s := range bad {
		if validatePayload(t, schema, []byte(s)) == nil {
			t.Errorf("bad payload %d accepted", i)
		}
	}
}

func TestFitJSONShedsDetailHonestly(t *testing.T) {
	var evs []Event
	for i := 0; i < 200; i++ {
		evs = append(evs, Event{Type: EventDriftDetected, Time: t0, ASG: "web", InstanceID: "i-" + strconv.Itoa(i), Severity: drift.SeverityHigh,
			Findings: []drift.Finding{fA, fB, fA, fB}, FindingsTotal: 4})
	}
	b := BuildBatch("id", t0, evs, Limits{})
	full, _ := json.Marshal(b)
	body, err := fitJSON(b, len(full)/3)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > len(full)/3 {
		t.Fatalf("not fitted: %d > %d", len(body), len(full)/3)
	}
	var p Batch
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	listed := len(p.Groups[0].Events)
	if listed+p.Groups[0].TruncatedEvents != 200 || p.TruncatedEvents != p.Groups[0].TruncatedEvents || p.EventCount != 200 {
		t.Errorf("counts: listed=%d truncated=%d", listed, p.Groups[0].TruncatedEvents)
	}
	for _, ev := range p.Groups[0].Events {
		if len(ev.Findings)+ev.FindingsTruncated != 4 {
			t.Fatalf("findings count: %+v", ev)
		}
	}
	if err := validatePayload(t, loadSchema(t), body); err != nil {
		t.Fatal(err)
	}
}
