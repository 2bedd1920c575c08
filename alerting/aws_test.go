package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// simEnv is the simulated region (awssim, every service registered) with
// real SDK clients pointed at it (SDK retries off: the notifier's retries
// are what is under test). calls counts requests per operation.
type simEnv struct {
	sim    *awssim.Sim
	calls  map[string]*atomic.Int64 // by operation
	sns    *sns.Client
	events *eventbridge.Client
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	sim := awssim.New(awssim.Options{})
	e := &simEnv{sim: sim, calls: map[string]*atomic.Int64{"Publish": {}, "PutEvents": {}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents":
			e.calls["PutEvents"].Add(1)
		case r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == "":
			// awsQuery: the action is in the form body; peek without consuming.
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "Action=Publish") {
				e.calls["Publish"].Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := awsClientConfig(t, srv.URL)
	e.sns = sns.NewFromConfig(cfg)
	e.events = eventbridge.NewFromConfig(cfg)
	return e
}

// awsClientConfig is the SDK standard config with a static identity and the
// endpoint set through BaseEndpoint (what AWS_ENDPOINT_URL does).
func awsClientConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")),
		awsconfig.WithRetryMaxAttempts(1),
		awsconfig.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func fleetScan(n int, asgs ...string) []InstanceState {
	var out []InstanceState
	for i := 0; i < n; i++ {
		asg := asgs[i%len(asgs)]
		out = append(out, drifted("i-"+itoa(1000+i), asg, fA, fB))
	}
	return out
}

func TestSNSAgainstAwssim(t *testing.T) {
	env := newSimEnv(t)
	topic := env.sim.SNS().CreateTopic("driftd-events")
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{MaxInstancesPerGroup: 2, Sinks: []config.AlertSink{{Name: "topic", Type: "sns", TopicARN: topic}}},
		Options{Metrics: m, SNS: env.sns, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	cur := fleetScan(5, "web", "api")
	n.Scan(t0, cur)
	cur[0] = withVerdict(cur[0].InstanceID, cur[0].ASG, drift.VerdictInSync)
	n.Scan(t0.Add(time.Minute), cur)
	n.Emit(Event{Type: EventKillswitchEngaged, Severity: drift.SeverityCritical, Reason: "operator"})
	if err := n.Close(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	msgs := env.sim.SNS().Published(topic)
	// Scan 1: (api, detected), (web, detected); scan 2: (web, resolved); emit: (fleet, killswitch).
	if len(msgs) != 4 || count(m, "topic", ResultSuccess) != 3 {
		t.Fatalf("published %d messages, %v notifications", len(msgs), count(m, "topic", ResultSuccess))
	}
	schema := loadSchema(t)
	for i, msg := range msgs {
		if err := validatePayload(t, schema, []byte(msg.Message)); err != nil {
			t.Errorf("message %d: schema: %v", i, err)
		}
		for _, k := range []string{"event_type", "severity"} {
			if a, ok := msg.Attributes[k]; !ok || a.DataType != "String" || a.StringValue == "" {
				t.Errorf("message %d: attribute %s: %+v", i, k, msg.Attributes)
			}
		}
	}
	web := msgs[1]
	if web.Attributes["asg"].StringValue != "web" || web.Attributes["event_type"].StringValue != "drift.detected" ||
		web.Attributes["severity"].StringValue != "high" || web.Subject != "driftd drift.detected: web (3)" {
		t.Errorf("web message: subject %q attrs %+v", web.Subject, web.Attributes)
	}
	var p Batch
	if err := json.Unmarshal([]byte(web.Message), &p); err != nil {
		t.Fatal(err)
	}
	if p.EventCount != 3 || p.TruncatedEvents != 1 || len(p.Groups[0].Events) != 2 {
		t.Errorf("truncation not stated: %+v", p)
	}
	if msgs[2].Attributes["event_type"].StringValue != "drift.resolved" {
		t.Errorf("resolved: %+v", msgs[2].Attributes)
	}
	if _, has := msgs[3].Attributes["asg"]; has || msgs[3].Attributes["event_type"].StringValue != "killswitch.engaged" {
		t.Errorf("fleet-wide message attributes: %+v", msgs[3].Attributes)
	}
}

func TestSNSRespects256KiB(t *testing.T) {
	env := newSimEnv(t)
	topic := env.sim.SNS().CreateTopic("big")
	m := NewNotifyMetrics(nil)
	// No per-group cap, many findings: the payload would be far over 256 KiB.
	var cur []InstanceState
	for i := 0; i < 400; i++ {
		var fs []drift.Finding
		for j := 0; j < 20; j++ {
			fs = append(fs, pkgFinding("pkg-"+itoa(j)+strings.Repeat("x", 40), "1.0-1", "2.0-1", drift.SeverityHigh))
		}
		cur = append(cur, drifted("i-"+itoa(i), "web", fs...))
	}
	n, _ := New(config.Alerting{MaxInstancesPerGroup: -1, MaxFindingsPerInstance: -1, Sinks: []config.AlertSink{{Name: "t", Type: "sns", TopicARN: topic}}},
		Options{Metrics: m, SNS: env.sns, Backoff: fastBackoff})
	n.Scan(t0, cur)
	n.Close(ctxTimeout(t, 10*time.Second))
	msgs := env.sim.SNS().Published(topic)
	if len(msgs) != 1 || count(m, "t", ResultSuccess) != 1 {
		t.Fatalf("messages %d (failures: %v)", len(msgs), count(m, "t", ResultFailure))
	}
	if len(msgs[0].Message) > SNSMaxMessage {
		t.Fatalf("message %d bytes", len(msgs[0].Message))
	}
	var p Batch
	json.Unmarshal([]byte(msgs[0].Message), &p)
	listed := len(p.Groups[0].Events)
	if p.EventCount != 400 || listed+p.TruncatedEvents != 400 || listed == 0 {
		t.Errorf("count=%d listed=%d truncated=%d", p.EventCount, listed, p.TruncatedEvents)
	}
}

func TestSNSUnknownTopicNotRetried(t *testing.T) {
	env := newSimEnv(t)
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "t", Type: "sns", TopicARN: "arn:aws:sns:us-east-1:123456789012:absent", MaxRetries: 3}}},
		Options{Metrics: m, SNS: env.sns, Backoff: fastBackoff})
	n.Scan(t0, fleetScan(1, "web"))
	n.Close(ctxTimeout(t, 10*time.Second))
	if env.calls["Publish"].Load() != 1 || failures(m, "t", ReasonHTTP4xx) != 1 || count(m, "t", ResultFailure) != 1 {
		t.Fatalf("calls=%d 4xx=%v", env.calls["Publish"].Load(), failures(m, "t", ReasonHTTP4xx))
	}
}

func TestEventBridgeAgainstAwssim(t *testing.T) {
	env := newSimEnv(t)
	env.sim.EventBridge().CreateEventBus("driftd")
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{MaxInstancesPerGroup: 100, Sinks: []config.AlertSink{{Name: "bus", Type: "eventbridge", EventBus: "driftd", MaxRetries: 3}}},
		Options{Metrics: m, EventBridge: env.events, Backoff: fastBackoff})
	// 3 throttled entries in the first call: only those are retried.
	env.sim.EventBridge().FailNextEntries(3, "ThrottlingException")
	n.Scan(t0, fleetScan(23, "web", "api"))
	n.Close(ctxTimeout(t, 10*time.Second))

	evs := env.sim.EventBridge().Events()
	if len(evs) != 23 {
		t.Fatalf("accepted %d events, want 23 exactly once", len(evs))
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		var d EventBridgeDetail
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if seen[d.InstanceID] {
			t.Errorf("duplicate event for %s", d.InstanceID)
		}
		seen[d.InstanceID] = true
		if ev.Source != "driftd" || ev.DetailType != "Drift Detected" || ev.EventBusName != "driftd" || d.Version != "1" || d.Type != EventDriftDetected || len(d.Findings) != 2 {
			t.Errorf("event: %+v detail %s", ev, ev.Detail)
		}
		if !ev.Time.Equal(t0) {
			t.Errorf("event time %s", ev.Time)
		}
	}
	// 23 entries → 3 calls, then 1 retry call for the 3 throttled ones.
	if c := env.calls["PutEvents"].Load(); c != 4 {
		t.Errorf("PutEvents calls %d, want 4", c)
	}
	if failures(m, "bus", ReasonThrottled) != 1 || count(m, "bus", ResultSuccess) != 1 {
		t.Errorf("throttled=%v success=%v", failures(m, "bus", ReasonThrottled), count(m, "bus", ResultSuccess))
	}
}

func TestEventBridgePermanentEntryFailureNotRetried(t *testing.T) {
	env := newSimEnv(t)
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "bus", Type: "eventbridge", MaxRetries: 3}}},
		Options{Metrics: m, EventBridge: env.events, Backoff: fastBackoff})
	env.sim.EventBridge().FailNextEntries(1, "AccessDeniedException")
	n.Scan(t0, fleetScan(4, "web"))
	n.Close(ctxTimeout(t, 10*time.Second))
	if len(env.sim.EventBridge().Events()) != 3 || env.calls["PutEvents"].Load() != 1 {
		t.Fatalf("events %d calls %d", len(env.sim.EventBridge().Events()), env.calls["PutEvents"].Load())
	}
	if count(m, "bus", ResultFailure) != 1 || failures(m, "bus", ReasonHTTP4xx) != 1 {
		t.Errorf("failure=%v 4xx=%v", count(m, "bus", ResultFailure), failures(m, "bus", ReasonHTTP4xx))
	}
}

func TestEventBridgeUnknownBus(t *testing.T) {
	env := newSimEnv(t)
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "bus", Type: "eventbridge", EventBus: "nope", MaxRetries: 3}}},
		Options{Metrics: m, EventBridge: env.events, Backoff: fastBackoff})
	n.Scan(t0, fleetScan(2, "web"))
	n.Close(ctxTimeout(t, 10*time.Second))
	if len(env.sim.EventBridge().Events()) != 0 || count(m, "bus", ResultFailure) != 1 || env.calls["PutEvents"].Load() != 1 {
		t.Fatalf("events %d failure %v calls %d", len(env.sim.EventBridge().Events()), count(m, "bus", ResultFailure), env.calls["PutEvents"].Load())
	}
}

func TestSNSThrottledAndUnavailableRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  awssim.Fault
		reason Reason
	}{
		{"throttling", awssim.Fault{Service: "sns", Operation: "Publish", Rate: 0.001, Burst: 1, Count: 2}, ReasonThrottled},
		{"503", awssim.Fault{Service: "sns", Operation: "Publish", ErrorRate: 1, ErrorStatus: 503, Count: 2}, ReasonHTTP5xx},
		{"dropped connection", awssim.Fault{Service: "sns", Operation: "Publish", DropRate: 1, Count: 2}, ReasonNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newSimEnv(t)
			topic := env.sim.SNS().CreateTopic("t")
			if _, err := env.sim.AddFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			if tc.fault.Burst > 0 {
				// Spend the bucket's token so the notifier's first Publish is throttled.
				env.sns.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(topic + "-absent"), Message: aws.String("x")})
			}
			m := NewNotifyMetrics(nil)
			n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "t", Type: "sns", TopicARN: topic, MaxRetries: 4}}},
				Options{Metrics: m, SNS: env.sns, Backoff: fastBackoff})
			n.Scan(t0, fleetScan(2, "web"))
			n.Close(ctxTimeout(t, 10*time.Second))
			if len(env.sim.SNS().Published(topic)) != 1 || count(m, "t", ResultSuccess) != 1 {
				t.Fatalf("published %d, success %v", len(env.sim.SNS().Published(topic)), count(m, "t", ResultSuccess))
			}
			if failures(m, "t", tc.reason) != 2 {
				t.Errorf("%s failures: %v (calls %d)", tc.reason, failures(m, "t", tc.reason), env.calls["Publish"].Load())
			}
		})
	}
}

func TestEventBridgeThrottledCallRetried(t *testing.T) {
	env := newSimEnv(t)
	if _, err := env.sim.AddFault(awssim.Fault{Service: "events", Operation: "PutEvents", Rate: 0.001, Burst: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	// Spend the token: the notifier's first call is throttled (whole call, not entries).
	env.events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("x"), DetailType: aws.String("x"), Detail: aws.String("{}")}}})
	before := len(env.sim.EventBridge().Events())
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "bus", Type: "eventbridge", MaxRetries: 3}}},
		Options{Metrics: m, EventBridge: env.events, Backoff: fastBackoff})
	n.Scan(t0, fleetScan(3, "web"))
	n.Close(ctxTimeout(t, 10*time.Second))
	if len(env.sim.EventBridge().Events())-before != 3 || failures(m, "bus", ReasonThrottled) != 1 || count(m, "bus", ResultSuccess) != 1 {
		t.Fatalf("events %d throttled %v success %v", len(env.sim.EventBridge().Events()), failures(m, "bus", ReasonThrottled), count(m, "bus", ResultSuccess))
	}
}
