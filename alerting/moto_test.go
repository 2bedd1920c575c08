package alerting

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/testenv/motoenv"
)

func receiveAll(t *testing.T, q *sqs.Client, url string, want int) []sqstypes.Message {
	t.Helper()
	var out []sqstypes.Message
	for i := 0; i < 20 && len(out) < want; i++ {
		r, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Messages...)
	}
	return out
}

func motoQueue(t *testing.T, q *sqs.Client, name string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	ga, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: cq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	return *cq.QueueUrl, ga.Attributes["QueueArn"]
}

// TestSNSConformanceMoto publishes through the real SDK to moto and reads
// the messages back through SQS subscriptions, one of them filtered on the
// event_type attribute: proves the Publish shape and that the attributes
// are usable in SNS filter policies.
func TestSNSConformanceMoto(t *testing.T) {
	u := motoenv.URL(t)
	cfg := awsClientConfig(t, u)
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	tp, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("driftd-" + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	allURL, allARN := motoQueue(t, sqsc, "all-"+suffix)
	resURL, resARN := motoQueue(t, sqsc, "resolved-"+suffix)
	for _, s := range []struct{ arn, filter string }{{allARN, ""}, {resARN, `{"event_type":["drift.resolved"]}`}} {
		attrs := map[string]string{"RawMessageDelivery": "true"}
		if s.filter != "" {
			attrs["FilterPolicy"] = s.filter
		}
		if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(s.arn), Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{Sinks: []config.AlertSink{{Name: "moto", Type: "sns", TopicARN: *tp.TopicArn, MaxRetries: 2}}},
		Options{Metrics: m, SNS: snsc, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fB)})
	n.Scan(t0.Add(time.Minute), []InstanceState{drifted("i-1", "web", fA), withVerdict("i-2", "web", drift.VerdictInSync)})
	if err := n.Close(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if count(m, "moto", ResultSuccess) != 2 {
		t.Fatalf("success %v failure %v", count(m, "moto", ResultSuccess), count(m, "moto", ResultFailure))
	}
	all := receiveAll(t, sqsc, allURL, 2)
	if len(all) != 2 {
		t.Fatalf("unfiltered subscription got %d messages", len(all))
	}
	schema := loadSchema(t)
	types := map[string]bool{}
	for _, msg := range all {
		if err := validatePayload(t, schema, []byte(aws.ToString(msg.Body))); err != nil {
			t.Errorf("schema: %v", err)
		}
		a := msg.MessageAttributes
		types[aws.ToString(a["event_type"].StringValue)] = true
		if aws.ToString(a["asg"].StringValue) != "web" || aws.ToString(a["severity"].DataType) != "String" {
			t.Errorf("attributes: %+v", a)
		}
	}
	if !types["drift.detected"] || !types["drift.resolved"] {
		t.Errorf("event types %v", types)
	}
	res := receiveAll(t, sqsc, resURL, 1)
	if len(res) != 1 {
		t.Fatalf("filtered subscription got %d messages, want only the resolution", len(res))
	}
	var p Batch
	if err := json.Unmarshal([]byte(aws.ToString(res[0].Body)), &p); err != nil || p.Groups[0].Events[0].Type != EventDriftResolved {
		t.Fatalf("filtered message: %v %s", err, aws.ToString(res[0].Body))
	}
}

// TestEventBridgeConformanceMoto puts events through the real SDK to moto
// and matches them with a rule on source and detail-type, delivered to SQS.
func TestEventBridgeConformanceMoto(t *testing.T) {
	u := motoenv.URL(t)
	cfg := awsClientConfig(t, u)
	ebc, sqsc := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	bus := "driftd-" + suffix
	if _, err := ebc.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	qURL, qARN := motoQueue(t, sqsc, "eb-"+suffix)
	if _, err := ebc.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("resolved"), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["driftd"],"detail-type":["Drift Resolved"],"detail":{"asg":["web"]}}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("resolved"), EventBusName: aws.String(bus),
		Targets: []ebTarget{{Id: aws.String("q"), Arn: aws.String(qARN)}},
	}); err != nil {
		t.Fatal(err)
	}
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{Sinks: []config.AlertSink{{Name: "moto", Type: "eventbridge", EventBus: bus, MaxRetries: 2}}},
		Options{Metrics: m, EventBridge: ebc, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	cur := fleetScan(12, "web", "api")
	n.Scan(t0, cur)
	cur[0] = withVerdict(cur[0].InstanceID, "web", drift.VerdictInSync) // web
	cur[1] = withVerdict(cur[1].InstanceID, "api", drift.VerdictInSync) // api: not matched by the rule
	n.Scan(t0.Add(time.Minute), cur)
	if err := n.Close(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if count(m, "moto", ResultSuccess) != 2 {
		t.Fatalf("success %v failure %v", count(m, "moto", ResultSuccess), count(m, "moto", ResultFailure))
	}
	msgs := receiveAll(t, sqsc, qURL, 1)
	if len(msgs) != 1 {
		t.Fatalf("rule delivered %d events, want 1", len(msgs))
	}
	var envlp struct {
		Source     string            `json:"source"`
		DetailType string            `json:"detail-type"`
		Detail     EventBridgeDetail `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &envlp); err != nil {
		t.Fatal(err)
	}
	if envlp.Source != "driftd" || envlp.DetailType != "Drift Resolved" || envlp.Detail.InstanceID != cur[0].InstanceID || envlp.Detail.Version != "1" {
		t.Errorf("event: %s", aws.ToString(msgs[0].Body))
	}
}
