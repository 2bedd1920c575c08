package alerting

import (
	"context"
	"encoding/json"
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
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/driftd/driftd/awssim/services"
	"github.com/driftd/driftd/awssim/wire"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// simEnv is awssim's supporting services behind a minimal router, with real
// SDK clients pointed at it (SDK retries off: the notifier's retries are
// what is under test).
type simEnv struct {
	svc    *services.Services
	calls  map[string]*atomic.Int64 // by operation
	sns    *sns.Client
	events *eventbridge.Client
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	svc := services.New(services.Options{})
	handlers := svc.Handlers()
	e := &simEnv{svc: svc, calls: map[string]*atomic.Int64{"Publish": {}, "PutEvents": {}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, perr := wire.Parse(r)
		if perr != nil {
			wire.WriteError(w, req, perr)
			return
		}
		if c, ok := e.calls[req.Op]; ok {
			c.Add(1)
		}
		h, ok := handlers[req.Service]
		if !ok {
			wire.WriteError(w, req, wire.Errorf(400, "UnknownService", "no handler for %q", req.Service))
			return
		}
		h.ServeAWS(w, req)
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
	topic := env.svc.CreateTopic("driftd-events")
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
	msgs := env.svc.Published(topic)
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
	topic := env.svc.CreateTopic("big")
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
	msgs := env.svc.Published(topic)
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
	env.svc.CreateEventBus("driftd")
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{MaxInstancesPerGroup: 100, Sinks: []config.AlertSink{{Name: "bus", Type: "eventbridge", EventBus: "driftd", MaxRetries: 3}}},
		Options{Metrics: m, EventBridge: env.events, Backoff: fastBackoff})
	// 3 throttled entries in the first call: only those are retried.
	env.svc.FailNextEntries(3, "ThrottlingException")
	n.Scan(t0, fleetScan(23, "web", "api"))
	n.Close(ctxTimeout(t, 10*time.Second))

	evs := env.svc.Events()
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
	env.svc.FailNextEntries(1, "AccessDeniedException")
	n.Scan(t0, fleetScan(4, "web"))
	n.Close(ctxTimeout(t, 10*time.Second))
	if len(env.svc.Events()) != 3 || env.calls["PutEvents"].Load() != 1 {
		t.Fatalf("events %d calls %d", len(env.svc.Events()), env.calls["PutEvents"].Load())
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
	if len(env.svc.Events()) != 0 || count(m, "bus", ResultFailure) != 1 || env.calls["PutEvents"].Load() != 1 {
		t.Fatalf("events %d failure %v calls %d", len(env.svc.Events()), count(m, "bus", ResultFailure), env.calls["PutEvents"].Load())
	}
}
