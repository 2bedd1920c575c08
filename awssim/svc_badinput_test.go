package awssim_test

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	simib "github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestBadInput(t *testing.T) {
	svc := awssim.New(awssim.Options{})
	svc.S3().CreateBucket("bkt")
	svc.SQS().CreateQueue("q")
	topic := svc.SNS().CreateTopic("t")
	svc.ImageBuilder().PutImage(simtest.ImageARN, "ami-1", []simib.Package{{Name: "a", Version: "1"}})
	const (
		sqsJSON = "application/x-amz-json-1.0"
		evJSON  = "application/x-amz-json-1.1"
		form    = "application/x-www-form-urlencoded"
		qurl    = "http://127.0.0.1:9/123456789012/q"
	)
	cases := []struct {
		name                  string
		method, target, ct, p string
		hdr                   map[string]string
		body                  string
		wantStatus            int
		wantCode              string
	}{
		// SQS (awsJson1_0)
		{"sqs wrong type", "POST", "AmazonSQS.ReceiveMessage", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":"ten"}`, 400, "SerializationException"},
		{"sqs truncated json", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"QueueUrl":`, 400, "SerializationException"},
		{"sqs missing queue url", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"MessageBody":"x"}`, 400, "InvalidParameterValue"},
		{"sqs foreign account url", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"QueueUrl":"http://h/999999999999/q","MessageBody":"x"}`, 400, "AWS.SimpleQueueService.NonExistentQueue"},
		{"sqs missing body", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `"}`, 400, "MissingParameter"},
		{"sqs delay out of range", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","MessageBody":"x","DelaySeconds":901}`, 400, "InvalidParameterValue"},
		{"sqs bad attribute type", "POST", "AmazonSQS.SendMessage", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","MessageBody":"x","MessageAttributes":{"a":{"DataType":"Float","StringValue":"1"}}}`, 400, "InvalidParameterValue"},
		{"sqs too many batch entries", "POST", "AmazonSQS.DeleteMessageBatch", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","Entries":[` + strings.Repeat(`{"Id":"a","ReceiptHandle":"x"},`, 10) + `{"Id":"b","ReceiptHandle":"x"}]}`, 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"sqs bad batch id", "POST", "AmazonSQS.DeleteMessageBatch", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","Entries":[{"Id":"a b","ReceiptHandle":"x"}]}`, 400, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"sqs visibility missing", "POST", "AmazonSQS.ChangeMessageVisibility", sqsJSON, "/", nil, `{"QueueUrl":"` + qurl + `","ReceiptHandle":"x"}`, 400, "InvalidParameterValue"},
		{"sqs unknown op", "POST", "AmazonSQS.PurgeQueue", sqsJSON, "/", nil, `{}`, 400, "AWS.SimpleQueueService.UnsupportedOperation"},
		{"sqs query protocol", "POST", "", form, "/", nil, "Action=SendMessage&Version=2012-11-05", 400, "AWS.SimpleQueueService.UnsupportedOperation"},
		// EventBridge (awsJson1_1)
		{"events entries not a list", "POST", "AWSEvents.PutEvents", evJSON, "/", nil, `{"Entries":"x"}`, 400, "SerializationException"},
		{"events no entries", "POST", "AWSEvents.PutEvents", evJSON, "/", nil, `{"Entries":[]}`, 400, "ValidationException"},
		{"events time as string", "POST", "AWSEvents.PutEvents", evJSON, "/", nil, `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}","Time":"2026-01-01"}]}`, 400, "SerializationException"},
		{"events too large", "POST", "AWSEvents.PutEvents", evJSON, "/", nil, `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{\"a\":\"` + strings.Repeat("x", 300000) + `\"}"}]}`, 400, "ValidationException"},
		{"events unknown op", "POST", "AWSEvents.PutRule", evJSON, "/", nil, `{}`, 400, "UnknownOperationException"},
		// SNS (awsQuery)
		{"sns malformed attribute index", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "&Message=x&MessageAttributes.entry.x.Name=a", 400, "InvalidParameter"},
		{"sns attribute without name", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "&Message=x&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v", 400, "InvalidParameter"},
		{"sns binary not base64", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "&Message=x&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=%25%25", 400, "InvalidParameter"},
		{"sns no topic", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&Message=x", 400, "InvalidParameter"},
		{"sns subject too long", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "&Message=x&Subject=" + strings.Repeat("s", 101), 400, "InvalidParameter"},
		{"sns bad topic name", "POST", "", form, "/", nil, "Action=CreateTopic&Version=2010-03-31&Name=a%20b", 400, "InvalidParameter"},
		{"sns malformed form", "POST", "", form, "/", nil, "Action=Publish&Version=2010-03-31&Message=%zz", 400, "MalformedQueryString"},
		{"sns unknown action", "POST", "", form, "/", nil, "Action=ListTopics&Version=2010-03-31", 400, "InvalidAction"},
		{"sns subscribe http", "POST", "", form, "/", nil, "Action=Subscribe&Version=2010-03-31&TopicArn=" + topic + "&Protocol=http&Endpoint=http%3A%2F%2Fx", 400, "InvalidParameter"},
		{"sns subscribe bad filter", "POST", "", form, "/", nil, "Action=Subscribe&Version=2010-03-31&TopicArn=" + topic + "&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A123456789012%3Aq&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value=%7B%22a%22%3A%5B%7B%22numeric%22%3A%5B%22%3E%22%2C1%5D%7D%5D%7D", 400, "InvalidParameter"},
		{"sns subscribe unknown topic", "POST", "", form, "/", nil, "Action=Subscribe&Version=2010-03-31&TopicArn=" + topic + "x&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A123456789012%3Aq", 404, "NotFound"},
		// STS
		{"sts unknown action", "POST", "", form, "/", nil, "Action=AssumeRole&Version=2011-06-15", 400, "InvalidAction"},
		// S3 (restXml)
		{"s3 malformed create bucket xml", "PUT", "", "", "/newbkt", nil, "<CreateBucketConfiguration><LocationConstraint>", 400, "MalformedXML"},
		{"s3 wrong region", "PUT", "", "", "/newbkt", nil, "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>", 400, "IllegalLocationConstraintException"},
		{"s3 max-keys not a number", "GET", "", "", "/bkt?list-type=2&max-keys=abc", nil, "", 400, "InvalidArgument"},
		{"s3 max-keys negative", "GET", "", "", "/bkt?list-type=2&max-keys=-5", nil, "", 400, "InvalidArgument"},
		{"s3 bad encoding type", "GET", "", "", "/bkt?list-type=2&encoding-type=base64", nil, "", 400, "InvalidArgument"},
		{"s3 empty continuation token", "GET", "", "", "/bkt?list-type=2&continuation-token=", nil, "", 400, "InvalidArgument"},
		{"s3 list v1", "GET", "", "", "/bkt", nil, "", 501, "NotImplemented"},
		{"s3 bad content-md5", "PUT", "", "", "/bkt/k", map[string]string{"Content-MD5": "nope"}, "x", 400, "InvalidDigest"},
		{"s3 content-md5 mismatch", "PUT", "", "", "/bkt/k", map[string]string{"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, "x", 400, "BadDigest"},
		{"s3 crc32 mismatch", "PUT", "", "", "/bkt/k", map[string]string{"X-Amz-Checksum-Crc32": "AAAAAA=="}, "x", 400, "BadDigest"},
		{"s3 bad aws-chunked", "PUT", "", "", "/bkt/k", map[string]string{"Content-Encoding": "aws-chunked"}, "zz\r\nabc", 400, "IncompleteBody"},
		{"s3 truncated aws-chunked", "PUT", "", "", "/bkt/k", map[string]string{"Content-Encoding": "aws-chunked"}, "10\r\nabc", 400, "IncompleteBody"},
		{"s3 decoded length mismatch", "PUT", "", "", "/bkt/k", map[string]string{"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "9"}, "3\r\nabc\r\n0\r\n\r\n", 400, "IncompleteBody"},
		{"s3 key too long", "PUT", "", "", "/bkt/" + strings.Repeat("k", 1025), nil, "x", 400, "KeyTooLongError"},
		{"s3 copy", "PUT", "", "", "/bkt/k2", map[string]string{"X-Amz-Copy-Source": "/bkt/k"}, "", 501, "NotImplemented"},
		{"s3 multipart", "POST", "", "", "/bkt/k?uploads", nil, "", 501, "NotImplemented"},
		// Image Builder (restJson1)
		{"ib malformed json", "POST", "", "application/json", "/ListImagePackages", nil, `{"imageBuildVersionArn":`, 400, "InvalidRequestException"},
		{"ib maxResults wrong type", "POST", "", "application/json", "/ListImagePackages", nil, `{"imageBuildVersionArn":"` + simtest.ImageARN + `","maxResults":"5"}`, 400, "InvalidRequestException"},
		{"ib missing arn", "POST", "", "application/json", "/ListImagePackages", nil, `{}`, 400, "InvalidRequestException"},
		{"ib get image missing arn", "GET", "", "", "/GetImage", nil, "", 400, "InvalidRequestException"},
		{"ib unknown route", "GET", "", "", "/GetImagePipeline?imagePipelineArn=x", nil, "", 404, "UnknownOperationException"},
		{"ib wrong method", "GET", "", "", "/ListImagePackages", nil, "", 404, "UnknownOperationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, code, body := simtest.RawCall(t, svc, tc.method, tc.target, tc.ct, tc.p, tc.hdr, tc.body)
			if st != tc.wantStatus || code != tc.wantCode {
				t.Errorf("got %d %s, want %d %s; body %.300s", st, code, tc.wantStatus, tc.wantCode, body)
			}
		})
	}
	if _, ok := svc.S3().Object("bkt", "k"); ok {
		t.Error("a rejected PutObject stored the object")
	}
	if n := len(svc.SNS().Published(topic)); n != 0 {
		t.Errorf("%d rejected publishes captured", n)
	}
}
