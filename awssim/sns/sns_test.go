package sns_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	simsns "github.com/driftd/driftd/awssim/sns"
)

func TestSNSPublish(t *testing.T) {
	clk := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	e := simtest.NewServices(t, awssim.Options{Clock: awssim.ClockFunc(func() time.Time { return clk })})
	cx := simtest.Ctx(t)
	ct, err := e.SNS.CreateTopic(cx, &sns.CreateTopicInput{Name: aws.String("drift-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(ct.TopicArn)
	if arn != "arn:aws:sns:us-east-1:123456789012:drift-alerts" {
		t.Errorf("TopicArn %s", arn)
	}
	out, err := e.SNS.Publish(cx, &sns.PublishInput{
		TopicArn: ct.TopicArn, Message: aws.String(`{"instance":"i-0abc","verdict":"drifted"}`), Subject: aws.String("driftd: i-0abc drifted"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("high")},
			"count":    {DataType: aws.String("Number"), StringValue: aws.String("3")},
			"blob":     {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Sim.SNS().Published(arn)
	if len(got) != 1 {
		t.Fatalf("Published = %d messages", len(got))
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) || m.Subject != "driftd: i-0abc drifted" || m.Message != `{"instance":"i-0abc","verdict":"drifted"}` || !m.Time.Equal(clk) {
		t.Errorf("captured %+v", m)
	}
	want := map[string]simsns.Attribute{
		"severity": {DataType: "String", StringValue: "high"},
		"count":    {DataType: "Number", StringValue: "3"},
		"blob":     {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
	}
	if fmt.Sprint(m.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want %v", m.Attributes, want)
	}

	_, err = e.SNS.Publish(cx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:nope"), Message: aws.String("x")})
	var nf *snstypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("Publish to an unknown topic: %v, want *NotFoundException", err)
	}
	simtest.AssertAPIError(t, err, "NotFound", 404)
	bad := []struct {
		name string
		in   *sns.PublishInput
	}{
		{"empty message", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("")}},
		{"subject with newline", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"), Subject: aws.String("a\nb")}},
		{"attribute without value", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("String")}}}},
		{"number attribute not a number", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("three")}}}},
		{"bad data type", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Float"), StringValue: aws.String("1")}}}},
		{"dedup id on a standard topic", &sns.PublishInput{TopicArn: ct.TopicArn, Message: aws.String("x"), MessageDeduplicationId: aws.String("d")}},
		{"malformed arn", &sns.PublishInput{TopicArn: aws.String("drift-alerts"), Message: aws.String("x")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.SNS.Publish(cx, tc.in)
			var ip *snstypes.InvalidParameterException
			if !errors.As(err, &ip) {
				t.Errorf("err %v, want *InvalidParameterException", err)
			}
		})
	}
	if n := len(e.Sim.SNS().Published(arn)); n != 1 {
		t.Errorf("rejected publishes were captured: %d", n)
	}

	// FIFO topics need a group id and a deduplication id, and return a sequence number
	fifo, err := e.SNS.CreateTopic(cx, &sns.CreateTopicInput{Name: aws.String("drift.fifo"), Attributes: map[string]string{"FifoTopic": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.SNS.Publish(cx, &sns.PublishInput{TopicArn: fifo.TopicArn, Message: aws.String("x")})
	simtest.AssertAPIError(t, err, "InvalidParameter", 400)
	fo, err := e.SNS.Publish(cx, &sns.PublishInput{TopicArn: fifo.TopicArn, Message: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	if err != nil || aws.ToString(fo.SequenceNumber) == "" {
		t.Errorf("FIFO publish: %+v %v", fo, err)
	}
	if p := e.Sim.SNS().Published(aws.ToString(fifo.TopicArn)); len(p) != 1 || p[0].MessageGroupID != "g" || p[0].MessageDeduplicationID != "d" {
		t.Errorf("FIFO capture %+v", p)
	}
}

func TestSNSSubscriptionDelivery(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	topic := e.Sim.SNS().CreateTopic("drift")
	e.Sim.SQS().CreateQueue("all")
	e.Sim.SQS().CreateQueue("resolved")
	for _, s := range []struct {
		queue string
		attrs map[string]string
	}{
		{"all", nil},
		{"resolved", map[string]string{"RawMessageDelivery": "true", "FilterPolicy": `{"event_type":["drift.resolved"],"asg":[{"prefix":"we"}],"count":[3]}`}},
	} {
		if _, err := e.SNS.Subscribe(cx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
			Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:" + s.queue), Attributes: s.attrs}); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(event string, count string) {
		t.Helper()
		if _, err := e.SNS.Publish(cx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("payload " + event), Subject: aws.String("s"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"event_type": {DataType: aws.String("String"), StringValue: aws.String(event)},
				"asg":        {DataType: aws.String("String"), StringValue: aws.String("web")},
				"count":      {DataType: aws.String("Number"), StringValue: aws.String(count)},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	pub("drift.detected", "3")
	pub("drift.resolved", "3")
	pub("drift.resolved", "4")
	allMsgs := e.Sim.SQS().Messages("all")
	if len(allMsgs) != 3 {
		t.Fatalf("unfiltered subscription got %d messages", len(allMsgs))
	}
	var env struct {
		Type, MessageId, TopicArn, Subject, Message, Timestamp, SignatureVersion string
		MessageAttributes                                                        map[string]struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(allMsgs[0]), &env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "Notification" || env.TopicArn != topic || env.Message != "payload drift.detected" || env.Subject != "s" ||
		env.MessageAttributes["count"].Type != "Number" || env.MessageAttributes["count"].Value != "3" || env.MessageId != e.Sim.SNS().Published(topic)[0].MessageID {
		t.Errorf("envelope %+v", env)
	}
	out, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.URL + "/123456789012/resolved"), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "payload drift.resolved" ||
		aws.ToString(out.Messages[0].MessageAttributes["event_type"].StringValue) != "drift.resolved" {
		t.Errorf("filtered raw subscription got %+v", out.Messages)
	}
}
