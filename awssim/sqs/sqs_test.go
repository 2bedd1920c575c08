package sqs_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestSQSLifecycle(t *testing.T) {
	clk := &syncClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := simtest.NewServices(t, awssim.Options{Clock: awssim.ClockFunc(clk.Now)})
	cx := simtest.Ctx(t)
	cq, err := e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	// idempotent with the same attributes, an error with different ones
	if _, err := e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{"VisibilityTimeout": "60"}}); err != nil {
		t.Errorf("CreateQueue again: %v", err)
	}
	_, err = e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{"VisibilityTimeout": "61"}})
	var exists *sqstypes.QueueNameExists
	if !errors.As(err, &exists) {
		t.Errorf("CreateQueue with other attributes: %v, want QueueNameExists", err)
	}
	gq, err := e.SQS.GetQueueUrl(cx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
	if err != nil || aws.ToString(gq.QueueUrl) != aws.ToString(cq.QueueUrl) {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", aws.ToString(gq.QueueUrl), err, aws.ToString(cq.QueueUrl))
	}
	q := cq.QueueUrl
	sent, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("hello"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("drift")},
			"n":    {DataType: aws.String("Number"), StringValue: aws.String("3")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Values computed with the SQS algorithm (matches AWS's documented digest).
	if aws.ToString(sent.MD5OfMessageBody) != md5Hex("hello") || aws.ToString(sent.MD5OfMessageAttributes) == "" {
		t.Errorf("SendMessage digests %s %s", aws.ToString(sent.MD5OfMessageBody), aws.ToString(sent.MD5OfMessageAttributes))
	}
	recv, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recv.Messages) != 1 {
		t.Fatalf("received %d messages", len(recv.Messages))
	}
	m := recv.Messages[0]
	if aws.ToString(m.Body) != "hello" || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) ||
		aws.ToString(m.MessageAttributes["kind"].StringValue) != "drift" || m.Attributes["ApproximateReceiveCount"] != "1" ||
		aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) {
		t.Errorf("message %+v", m)
	}
	// in flight: invisible until the visibility timeout passes
	if r, _ := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q}); len(r.Messages) != 0 {
		t.Error("in-flight message received again")
	}
	clk.Add(61 * time.Second)
	r2, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
	if err != nil || len(r2.Messages) != 1 || r2.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the visibility timeout: %+v %v", r2, err)
	}
	// the old receipt handle is stale: deleting with it does not delete
	if _, err := e.SQS.DeleteMessage(cx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Errorf("DeleteMessage with a stale handle: %v", err)
	}
	if n := len(e.Sim.SQS().Messages("work")); n != 1 {
		t.Errorf("stale handle deleted the message (%d left)", n)
	}
	// ChangeMessageVisibility to 0 makes it receivable at once
	if _, err := e.SQS.ChangeMessageVisibility(cx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q, ReceiptHandle: r2.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	r3, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, VisibilityTimeout: 5})
	if err != nil || len(r3.Messages) != 1 {
		t.Fatalf("after ChangeMessageVisibility(0): %+v %v", r3, err)
	}
	_, err = e.SQS.ChangeMessageVisibility(cx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q, ReceiptHandle: r2.Messages[0].ReceiptHandle, VisibilityTimeout: 10})
	var notInflight *sqstypes.MessageNotInflight
	if !errors.As(err, &notInflight) {
		t.Errorf("ChangeMessageVisibility with a stale handle: %v, want MessageNotInflight", err)
	}
	if _, err := e.SQS.DeleteMessage(cx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: r3.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Sim.SQS().Messages("work")); n != 0 {
		t.Errorf("%d messages left after DeleteMessage", n)
	}
	_, err = e.SQS.DeleteMessage(cx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: aws.String("garbage!")})
	var badHandle *sqstypes.ReceiptHandleIsInvalid
	if !errors.As(err, &badHandle) {
		t.Errorf("DeleteMessage with a malformed handle: %v", err)
	}

	// batch delete
	for i := 0; i < 3; i++ {
		if _, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("b")}); err != nil {
			t.Fatal(err)
		}
	}
	rb, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10})
	if err != nil || len(rb.Messages) != 3 {
		t.Fatalf("batch receive: %d, %v", len(rb.Messages), err)
	}
	entries := []sqstypes.DeleteMessageBatchRequestEntry{{Id: aws.String("bad"), ReceiptHandle: aws.String("%%%")}}
	for i, m := range rb.Messages {
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), ReceiptHandle: m.ReceiptHandle})
	}
	db, err := e.SQS.DeleteMessageBatch(cx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Successful) != 3 || len(db.Failed) != 1 || aws.ToString(db.Failed[0].Id) != "bad" || aws.ToString(db.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("DeleteMessageBatch = %+v", db)
	}
	if n := len(e.Sim.SQS().Messages("work")); n != 0 {
		t.Errorf("%d messages left after DeleteMessageBatch", n)
	}
	_, err = e.SQS.DeleteMessageBatch(cx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: aws.String("a")}, {Id: aws.String("x"), ReceiptHandle: aws.String("b")}}})
	var notDistinct *sqstypes.BatchEntryIdsNotDistinct
	if !errors.As(err, &notDistinct) {
		t.Errorf("duplicate batch ids: %v", err)
	}
}

// syncClock is a manually advanced clock.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *syncClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSQSErrors(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	_, err := e.SQS.GetQueueUrl(cx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	var qdne *sqstypes.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Fatalf("GetQueueUrl missing: %v, want *sqstypes.QueueDoesNotExist", err)
	}
	// The query-compatible code is what callers match on.
	simtest.AssertAPIError(t, err, "AWS.SimpleQueueService.NonExistentQueue", 400)
	bogus := aws.String(e.URL + "/123456789012/missing")
	_, err = e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: bogus, MessageBody: aws.String("x")})
	if !errors.As(err, &qdne) {
		t.Errorf("SendMessage to a missing queue: %v", err)
	}
	e.Sim.SQS().CreateQueue("q")
	q := aws.String(e.URL + "/123456789012/q")
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"MaxNumberOfMessages 11", func() error {
			_, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"MaxNumberOfMessages -1", func() error {
			_, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: -1})
			return err
		}, "InvalidParameterValue"},
		{"WaitTimeSeconds 21", func() error {
			_, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue"},
		{"VisibilityTimeout 43201", func() error {
			_, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, VisibilityTimeout: 43201})
			return err
		}, "InvalidParameterValue"},
		{"bad queue name", func() error {
			_, err := e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("no spaces")})
			return err
		}, "InvalidParameterValue"},
		{"unknown attribute", func() error {
			_, err := e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"Bogus": "1"}})
			return err
		}, "InvalidAttributeName"},
		{"attribute out of range", func() error {
			_, err := e.SQS.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "30"}})
			return err
		}, "InvalidAttributeValue"},
		{"invalid body character", func() error {
			_, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("bad\x01")})
			return err
		}, "InvalidMessageContents"},
		{"empty batch", func() error {
			_, err := e.SQS.DeleteMessageBatch(cx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: []sqstypes.DeleteMessageBatchRequestEntry{}})
			return err
		}, "AWS.SimpleQueueService.EmptyBatchRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { simtest.AssertAPIError(t, tc.call(), tc.code, 400) })
	}
}

func TestSQSLongPolling(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	e.Sim.SQS().CreateQueue("lp")
	q := aws.String(e.URL + "/123456789012/lp")

	// no message: returns empty after WaitTimeSeconds
	start := time.Now()
	out, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, WaitTimeSeconds: 1})
	el := time.Since(start)
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("empty long poll: %+v %v", out, err)
	}
	if el < 950*time.Millisecond || el > 3*time.Second {
		t.Errorf("empty long poll returned after %v, want ~1s", el)
	}

	// a message sent while polling is returned promptly
	type result struct {
		n   int
		el  time.Duration
		err error
	}
	done := make(chan result, 1)
	start = time.Now()
	go func() {
		out, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, WaitTimeSeconds: 20})
		r := result{el: time.Since(start), err: err}
		if out != nil {
			r.n = len(out.Messages)
		}
		done <- r
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.n != 1 {
			t.Fatalf("long poll: %d messages, %v", r.n, r.err)
		}
		if r.el >= time.Second {
			t.Errorf("long poll returned after %v, want < 1s", r.el)
		}
		t.Logf("long poll returned %v after start (message sent at 200ms)", r.el)
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return")
	}

	// a message becoming visible again wakes a poller too
	e.Sim.SQS().CreateQueue("vis")
	vq := aws.String(e.URL + "/123456789012/vis")
	if _, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: vq, MessageBody: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	if r, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: vq, VisibilityTimeout: 1}); err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive: %v", err)
	}
	start = time.Now()
	r, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: vq, WaitTimeSeconds: 5})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive after visibility timeout: %+v %v", r, err)
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("re-visible message delivered after %v, want ~1s", el)
	}
}

// md5Hex is the MD5 digest SQS reports for a message body.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
