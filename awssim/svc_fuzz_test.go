package awssim_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	simib "github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// serveFuzz runs one request through the router with an already cancelled
// context (so long polls cannot block) and checks the response invariants:
// never a 5xx, and every error names a code.
func serveFuzz(t *testing.T, svc *awssim.Sim, method, target, ct, target2 string, hdr map[string]string, body string) {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:9/", strings.NewReader(body))
	u, err := url.ParseRequestURI(target2)
	if err != nil {
		return
	}
	r.URL = u
	r.RequestURI = ""
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	c, cancel := context.WithCancel(r.Context())
	cancel()
	r = r.WithContext(c)
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	res := w.Result()
	if res.StatusCode >= 500 && res.StatusCode != 501 {
		t.Fatalf("%s %s: status %d body %.300s", method, target2, res.StatusCode, w.Body.String())
	}
	if res.StatusCode >= 400 && method != "HEAD" && simtest.ErrorCodeOf(res, w.Body.String()) == "" {
		t.Fatalf("%s %s: error %d without a code: %.300s", method, target2, res.StatusCode, w.Body.String())
	}
}

func fuzzServices() *awssim.Sim {
	svc := awssim.New(awssim.Options{})
	svc.SQS().CreateQueue("q")
	svc.SNS().CreateTopic("t")
	svc.S3().CreateBucket("bkt")
	svc.S3().PutObject("bkt", "AWS:Application/accountid=123456789012/a.json", []byte("{}\n"))
	svc.S3().SetObjectSource("bkt", simtest.RDSPrefix, simtest.NewFleetSource(50, 2))
	svc.ImageBuilder().PutImage(simtest.ImageARN, "ami-1", []simib.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}})
	return svc
}

var sqsOps = []string{"CreateQueue", "GetQueueUrl", "GetQueueAttributes", "SendMessage", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility"}

func FuzzSQSRequest(f *testing.F) {
	q := `"QueueUrl":"http://127.0.0.1:9/123456789012/q"`
	f.Add(uint8(0), `{"QueueName":"q","Attributes":{"VisibilityTimeout":"5"}}`)
	f.Add(uint8(1), `{"QueueName":"q"}`)
	f.Add(uint8(2), `{`+q+`,"AttributeNames":["All"]}`)
	f.Add(uint8(3), `{`+q+`,"MessageBody":"hi","MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}`)
	f.Add(uint8(4), `{`+q+`,"MaxNumberOfMessages":10,"WaitTimeSeconds":2,"MessageAttributeNames":["All"]}`)
	f.Add(uint8(5), `{`+q+`,"ReceiptHandle":"abc"}`)
	f.Add(uint8(6), `{`+q+`,"Entries":[{"Id":"1","ReceiptHandle":"x"}]}`)
	f.Add(uint8(7), `{`+q+`,"ReceiptHandle":"eHx5","VisibilityTimeout":3}`)
	svc := fuzzServices()
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		serveFuzz(t, svc, "POST", "AmazonSQS."+sqsOps[int(op)%len(sqsOps)], "application/x-amz-json-1.0", "/", nil, body)
	})
}

func FuzzPutEvents(f *testing.F) {
	f.Add(`{"Entries":[{"Source":"driftd","DetailType":"d","Detail":"{\"a\":1}","Time":1700000000.5,"Resources":["r"]}]}`)
	f.Add(`{"Entries":[{"Source":"s","DetailType":"d","Detail":"[1]","EventBusName":"arn:aws:events:us-east-1:123456789012:event-bus/x"}]}`)
	f.Add(`{"Entries":[]}`)
	f.Add(`{"Entries":[{"Time":-1e300}]}`)
	svc := fuzzServices()
	f.Fuzz(func(t *testing.T, body string) {
		serveFuzz(t, svc, "POST", "AWSEvents.PutEvents", "application/x-amz-json-1.1", "/", nil, body)
	})
}

func FuzzSNSQuery(f *testing.F) {
	arn := url.QueryEscape("arn:aws:sns:us-east-1:123456789012:t")
	f.Add("Action=Publish&Version=2010-03-31&TopicArn=" + arn + "&Message=m&Subject=s&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v")
	f.Add("Action=Publish&Version=2010-03-31&TopicArn=" + arn + "&Message=m&MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AAE%3D")
	f.Add("Action=CreateTopic&Version=2010-03-31&Name=x.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15")
	svc := fuzzServices()
	f.Fuzz(func(t *testing.T, body string) {
		serveFuzz(t, svc, "POST", "", "application/x-www-form-urlencoded", "/", nil, body)
	})
}

var s3Methods = []string{"GET", "HEAD", "PUT", "DELETE", "POST"}

func FuzzS3Request(f *testing.F) {
	f.Add(uint8(0), "/bkt?list-type=2&prefix=AWS%3A&delimiter=/&max-keys=3&start-after=a", "", "")
	f.Add(uint8(0), "/bkt?list-type=2&continuation-token=djF8QQ&encoding-type=url", "", "")
	f.Add(uint8(0), "/bkt/AWS:Application/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/i-00000000000000001.json", "bytes=5-9", "")
	f.Add(uint8(1), "/bkt/AWS:Application/accountid=123456789012/a.json", "bytes=-2", "")
	f.Add(uint8(2), "/bkt/new", "", "4\r\nabcd\r\n0\r\n\r\n")
	f.Add(uint8(2), "/newbucket", "", "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")
	f.Add(uint8(3), "/bkt/new", "", "")
	svc := fuzzServices()
	f.Fuzz(func(t *testing.T, m uint8, target, rng, body string) {
		hdr := map[string]string{}
		if rng != "" {
			hdr["Range"] = rng
		}
		if strings.Contains(body, "\r\n0\r\n") {
			hdr["Content-Encoding"] = "aws-chunked"
		}
		serveFuzz(t, svc, s3Methods[int(m)%len(s3Methods)], "", "", target, hdr, body)
	})
}

func FuzzImageBuilder(f *testing.F) {
	f.Add(`{"imageBuildVersionArn":"`+simtest.ImageARN+`","maxResults":1}`, "")
	f.Add(`{"imageBuildVersionArn":"`+simtest.ImageARN+`","nextToken":"MXxhcm4="}`, "")
	f.Add("", "imageBuildVersionArn="+url.QueryEscape(simtest.ImageARN))
	svc := fuzzServices()
	f.Fuzz(func(t *testing.T, body, query string) {
		serveFuzz(t, svc, "POST", "", "application/json", "/ListImagePackages", nil, body)
		serveFuzz(t, svc, "GET", "", "", "/GetImage?"+query, nil, "")
	})
}
