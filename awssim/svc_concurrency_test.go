package awssim_test

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestConcurrentUse drives every service from several goroutines at once
// (run with -race).
func TestServicesConcurrentUse(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	e.Sim.SQS().CreateQueue("events")
	if err := e.Sim.S3().SetBucketNotification("bkt", "events", ""); err != nil {
		t.Fatal(err)
	}
	e.Sim.S3().SetObjectSource("bkt", simtest.RDSPrefix, simtest.NewFleetSource(200, 2))
	q := aws.String(e.URL + "/123456789012/events")
	const workers, perWorker = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				key := fmt.Sprintf("w%d/k%03d", w, i)
				body := []byte(key)
				if _, err := e.S3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
					errs <- err
					continue
				}
				got, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
				if err != nil {
					errs <- err
					continue
				}
				d, _ := io.ReadAll(got.Body)
				got.Body.Close()
				if !bytes.Equal(d, body) {
					errs <- fmt.Errorf("%s: read %q", key, d)
				}
				if _, err := e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(50)}); err != nil {
					errs <- err
				}
				if _, err := e.Events.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
					{Source: aws.String("driftd"), DetailType: aws.String("t"), Detail: aws.String(`{"k":"` + key + `"}`)}}}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	// a consumer drains the notification queue while producers run
	received := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; n < 200 && len(received) < workers*perWorker+1; n++ {
			out, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				errs <- err
				return
			}
			var del []sqstypes.DeleteMessageBatchRequestEntry
			for i, m := range out.Messages {
				received[aws.ToString(m.MessageId)] = true
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
			}
			if len(del) > 0 {
				if _, err := e.SQS.DeleteMessageBatch(cx, &sqs.DeleteMessageBatchInput{QueueUrl: q, Entries: del}); err != nil {
					errs <- err
				}
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// test event + one ObjectCreated per put
	if len(received) != workers*perWorker+1 {
		t.Errorf("received %d notifications, want %d", len(received), workers*perWorker+1)
	}
	if n := len(e.Sim.EventBridge().Events()); n != workers*perWorker {
		t.Errorf("%d events captured, want %d", n, workers*perWorker)
	}
	if n := len(e.Sim.SQS().Messages("events")); n != 0 {
		t.Errorf("%d notifications left in the queue", n)
	}
}

func TestS3BucketOperationsAndQueueAttributes(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	for _, b := range []string{"b-two", "b-one"} {
		if _, err := e.S3.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	lb, err := e.S3.ListBuckets(cx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[0].Name) != "b-one" || aws.ToString(lb.Buckets[1].Name) != "b-two" {
		t.Errorf("ListBuckets = %+v", lb.Buckets)
	}
	e.Sim.S3().PutObject("b-one", "k", []byte("x"))
	_, err = e.S3.DeleteBucket(cx, &s3.DeleteBucketInput{Bucket: aws.String("b-one")})
	simtest.AssertAPIError(t, err, "BucketNotEmpty", 409)
	if _, err := e.S3.DeleteBucket(cx, &s3.DeleteBucketInput{Bucket: aws.String("b-two")}); err != nil {
		t.Errorf("DeleteBucket: %v", err)
	}
	_, err = e.S3.HeadBucket(cx, &s3.HeadBucketInput{Bucket: aws.String("b-two")})
	simtest.AssertStatus(t, err, 404)

	e.Sim.SQS().CreateQueue("attrs")
	q := aws.String(e.URL + "/123456789012/attrs")
	for i := 0; i < 3; i++ {
		if _, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.SQS.SendMessage(cx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("later"), DelaySeconds: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: q}); err != nil {
		t.Fatal(err)
	}
	ga, err := e.SQS.GetQueueAttributes(cx, &sqs.GetQueueAttributesInput{QueueUrl: q, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1", "ApproximateNumberOfMessagesDelayed": "1",
		"QueueArn": "arn:aws:sqs:us-east-1:123456789012:attrs", "VisibilityTimeout": "30"}
	for k, v := range want {
		if ga.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, ga.Attributes[k], v)
		}
	}
}
