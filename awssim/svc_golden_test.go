package awssim_test

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	simib "github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var (
	uuidLikeRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	handleRE   = regexp.MustCompile(`"ReceiptHandle":"[^"]+"`)
	seqRE      = regexp.MustCompile(`"sequencer":"[0-9A-F]+"`)
	reqIDRE    = regexp.MustCompile(`(x-amz-request-id|RequestId)(\\?":\\?")[0-9A-F]{16}`)
	md5BodyRE  = regexp.MustCompile(`"MD5OfBody":"[0-9a-f]{32}"`)
)

// normalise replaces random identifiers so responses compare byte for byte.
func normalise(s string) string {
	s = uuidLikeRE.ReplaceAllString(s, "<uuid>")
	s = handleRE.ReplaceAllString(s, `"ReceiptHandle":"<handle>"`)
	s = seqRE.ReplaceAllString(s, `"sequencer":"<seq>"`)
	s = reqIDRE.ReplaceAllString(s, `$1$2<id>`)
	if strings.Contains(s, "<id>") {
		s = md5BodyRE.ReplaceAllString(s, `"MD5OfBody":"<md5 of a body with a random id>"`)
	}
	return s
}

// TestWireGolden pins the exact wire shape of representative responses
// (success and error) of every service. Run with -update after an
// intentional change and review the diff.
func TestWireGolden(t *testing.T) {
	clk := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	svc := awssim.New(awssim.Options{Clock: awssim.ClockFunc(func() time.Time { return clk })})
	svc.SQS().CreateQueue("q")
	svc.SNS().CreateTopic("alerts")
	if err := svc.S3().SetBucketNotification("rds", "q", "AWS:"); err != nil {
		t.Fatal(err)
	}
	svc.S3().SetObjectSource("rds", simtest.RDSPrefix, simtest.NewFleetSource(3, 2))
	svc.S3().PutObject("rds", "AWS:InstanceInformation/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/i-0abc.json", []byte(`{"InstanceId":"i-0abc"}`+"\n"))
	svc.ImageBuilder().PutImage(simtest.ImageARN, "ami-0123456789abcdef0", []simib.Package{{Name: "bash", Version: "5.2.15-1.amzn2023"}, {Name: "openssl", Version: "3.0.8-1.amzn2023"}})
	const (
		q    = `"QueueUrl":"http://127.0.0.1:9/123456789012/q"`
		form = "application/x-www-form-urlencoded"
	)
	topic := "arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalerts"
	cases := []struct {
		name                           string
		method, target, ct, path, body string
		hdr                            map[string]string
	}{
		{"s3_list_delimiter", "GET", "", "", "/rds?list-type=2&delimiter=%2F", "", nil},
		{"s3_list_page", "GET", "", "", "/rds?list-type=2&prefix=AWS%3AApplication%2F&max-keys=2", "", nil},
		{"s3_get_range", "GET", "", "", "/rds/" + simtest.RDSPrefix + "i-00000000000000001.json", "", map[string]string{"Range": "bytes=0-39"}},
		{"s3_head", "HEAD", "", "", "/rds/" + simtest.RDSPrefix + "i-00000000000000002.json", "", nil},
		{"s3_no_such_key", "GET", "", "", "/rds/missing.json", "", nil},
		{"s3_head_no_such_key", "HEAD", "", "", "/rds/missing.json", "", nil},
		{"sqs_receive_notifications", "POST", "AmazonSQS.ReceiveMessage", "application/x-amz-json-1.0", "/", `{` + q + `,"MaxNumberOfMessages":10}`, nil},
		{"sqs_no_such_queue", "POST", "AmazonSQS.GetQueueUrl", "application/x-amz-json-1.0", "/", `{"QueueName":"nope"}`, nil},
		{"sns_publish", "POST", "", form, "/", "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "&Message=hello&MessageAttributes.entry.1.Name=severity&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=high", nil},
		{"sns_not_found", "POST", "", form, "/", "Action=Publish&Version=2010-03-31&TopicArn=" + topic + "x&Message=hello", nil},
		{"events_put_partial", "POST", "AWSEvents.PutEvents", "application/x-amz-json-1.1", "/", `{"Entries":[{"Source":"driftd","DetailType":"Drift","Detail":"{\"a\":1}"},{"Source":"driftd","DetailType":"Drift","Detail":"nope"}]}`, nil},
		{"sts_caller", "POST", "", form, "/", "Action=GetCallerIdentity&Version=2011-06-15", nil},
		{"ib_list_packages", "POST", "", "application/json", "/ListImagePackages", `{"imageBuildVersionArn":"` + simtest.ImageARN + `","maxResults":1}`, nil},
		{"ib_not_found", "GET", "", "", "/GetImage?imageBuildVersionArn=arn%3Aaws%3Aimagebuilder%3Aus-east-1%3A123456789012%3Aimage%2Fx%2F1.0.0%2F1", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:9"+tc.path, strings.NewReader(tc.body))
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, r)
			var b strings.Builder
			fmt.Fprintf(&b, "HTTP %d\n", w.Code)
			var names []string
			for k := range w.Header() {
				if k == "X-Amz-Request-Id" || k == "X-Amzn-Requestid" {
					continue // random
				}
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(w.Header()[k], ", "))
			}
			b.WriteString("\n")
			b.WriteString(w.Body.String())
			got := normalise(b.String())
			got = regexp.MustCompile(`<RequestId>[^<]+</RequestId>`).ReplaceAllString(got, "<RequestId><id></RequestId>")
			got = regexp.MustCompile(`"requestId":"[^"]+"`).ReplaceAllString(got, `"requestId":"<id>"`)
			file := filepath.Join("testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("response differs from %s:\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}
