package s3_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

func TestS3Addressing(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	port := e.URL[strings.LastIndex(e.URL, ":")+1:]
	cases := []struct {
		name      string
		endpoint  string
		pathStyle bool
		wantHost  string // Host the SDK sends
	}{
		{"ip path-style default", e.URL, false, "127.0.0.1:" + port},
		{"ip path-style forced", e.URL, true, "127.0.0.1:" + port},
		{"localhost virtual-hosted", "http://localhost:" + port, false, "vbkt.localhost:" + port},
		{"localhost path-style", "http://localhost:" + port, true, "localhost:" + port},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s3.NewFromConfig(e.Cfg, func(o *s3.Options) {
				o.BaseEndpoint = aws.String(tc.endpoint)
				o.UsePathStyle = tc.pathStyle
				o.HTTPClient = e.LoopbackHTTPClient()
			})
			e.RT.Seen = make(chan string, 64)
			defer func() { e.RT.Seen = nil }()
			cx := simtest.Ctx(t)
			if _, err := c.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("vbkt")}); err != nil {
				t.Fatal(err)
			}
			key := "AWS:Application/accountid=123456789012/x y+z.json"
			body := []byte(`{"name":"bash"}` + "\n" + tc.name)
			put, err := c.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("vbkt"), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(put.ETag) != sims3.ETagOf(body) {
				t.Errorf("PutObject ETag %s, want %s", aws.ToString(put.ETag), sims3.ETagOf(body))
			}
			got, err := c.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("vbkt"), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if !bytes.Equal(data, body) {
				t.Errorf("GetObject body %q, want %q", data, body)
			}
			host := <-e.RT.Seen
			if !strings.HasPrefix(host, tc.wantHost+" ") {
				t.Errorf("SDK sent %q, want host %s", host, tc.wantHost)
			}
			lst, err := c.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("vbkt"), Prefix: aws.String("AWS:")})
			if err != nil {
				t.Fatal(err)
			}
			if len(lst.Contents) != 1 || aws.ToString(lst.Contents[0].Key) != key {
				t.Errorf("ListObjectsV2 = %+v", lst.Contents)
			}
			if _, err := c.DeleteObject(cx, &s3.DeleteObjectInput{Bucket: aws.String("vbkt"), Key: aws.String(key)}); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.Sim.S3().Object("vbkt", key); ok {
				t.Error("object still stored after DeleteObject")
			}
		})
	}
}

func TestS3ObjectOperations(t *testing.T) {
	clk := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	e := simtest.NewServices(t, awssim.Options{Clock: awssim.ClockFunc(func() time.Time { return clk })})
	cx := simtest.Ctx(t)
	if _, err := e.S3.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := []byte("0123456789abcdefghij")
	if _, err := e.S3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "drift"}}); err != nil {
		t.Fatal(err)
	}
	head, err := e.S3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != 20 || aws.ToString(head.ETag) != sims3.ETagOf(body) || !head.LastModified.Equal(clk) ||
		aws.ToString(head.ContentType) != "text/plain" || head.Metadata["owner"] != "drift" {
		t.Errorf("HeadObject = len %d etag %s lm %v ct %s meta %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), head.LastModified, aws.ToString(head.ContentType), head.Metadata)
	}
	ranges := []struct {
		rng, want, contentRange string
	}{
		{"bytes=2-5", "2345", "bytes 2-5/20"},
		{"bytes=15-", "fghij", "bytes 15-19/20"},
		{"bytes=-3", "hij", "bytes 17-19/20"},
		{"bytes=18-100", "ij", "bytes 18-19/20"},
	}
	for _, r := range ranges {
		out, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Range: aws.String(r.rng)})
		if err != nil {
			t.Fatalf("%s: %v", r.rng, err)
		}
		d, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(d) != r.want || aws.ToString(out.ContentRange) != r.contentRange {
			t.Errorf("Range %s = %q (%s), want %q (%s)", r.rng, d, aws.ToString(out.ContentRange), r.want, r.contentRange)
		}
	}
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Range: aws.String("bytes=20-")})
	simtest.AssertAPIError(t, err, "InvalidRange", 416)

	// conditional requests
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(sims3.ETagOf(body))})
	simtest.AssertStatus(t, err, 304)
	_, err = e.S3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(sims3.ETagOf(body))})
	simtest.AssertStatus(t, err, 304)
	out, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(`"0000"`)})
	if err != nil {
		t.Fatalf("If-None-Match with another ETag: %v", err)
	}
	out.Body.Close()
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfMatch: aws.String(`"0000"`)})
	simtest.AssertAPIError(t, err, "PreconditionFailed", 412)
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfModifiedSince: aws.Time(clk)})
	simtest.AssertStatus(t, err, 304)

	// overwrite changes the ETag; delete of a missing key succeeds
	if _, err := e.S3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Body: strings.NewReader("v2")}); err != nil {
		t.Fatal(err)
	}
	head, _ = e.S3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt")})
	if aws.ToString(head.ETag) != sims3.ETagOf([]byte("v2")) {
		t.Errorf("ETag after overwrite %s", aws.ToString(head.ETag))
	}
	if _, err := e.S3.DeleteObject(cx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("nope")}); err != nil {
		t.Errorf("DeleteObject of a missing key: %v", err)
	}
	if _, err := e.S3.HeadBucket(cx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
}

func TestS3Errors(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	e.Sim.S3().CreateBucket("bkt")
	e.Sim.S3().PutObject("bkt", "secret/x", []byte("x"))
	e.Sim.S3().PutObject("bkt", "open/x", []byte("x"))
	e.Sim.S3().SetAccessDenied("bkt", "secret/", true)

	_, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject missing key: %v, want *s3types.NoSuchKey", err)
	}
	simtest.AssertStatus(t, err, 404)
	// GetObject does not model NoSuchBucket (so the SDK returns a generic
	// API error); ListObjectsV2 does.
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("nobkt"), Key: aws.String("x")})
	simtest.AssertAPIError(t, err, "NoSuchBucket", 404)
	var nsb *s3types.NoSuchBucket
	_, err = e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("nobkt")})
	if !errors.As(err, &nsb) {
		t.Errorf("ListObjectsV2 missing bucket: %v, want *s3types.NoSuchBucket", err)
	}
	_, err = e.S3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject missing key: %v, want *s3types.NotFound (HEAD errors have no body)", err)
	}
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("secret/x")})
	simtest.AssertAPIError(t, err, "AccessDenied", 403)
	_, err = e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("secret/")})
	simtest.AssertAPIError(t, err, "AccessDenied", 403)
	if _, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("open/x")}); err != nil {
		t.Errorf("GetObject outside the denied prefix: %v", err)
	}
	_, err = e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(-1)})
	simtest.AssertAPIError(t, err, "InvalidArgument", 400)
	_, err = e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), ContinuationToken: aws.String("not-a-token")})
	simtest.AssertAPIError(t, err, "InvalidArgument", 400)
	_, err = e.S3.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	simtest.AssertAPIError(t, err, "InvalidBucketName", 400)
	_, err = e.S3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("nobkt"), Key: aws.String("k"), Body: strings.NewReader("x")})
	simtest.AssertAPIError(t, err, "NoSuchBucket", 404)
}

func listAll(t *testing.T, c *s3.Client, in *s3.ListObjectsV2Input) (keys, prefixes []string, pages int) {
	t.Helper()
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(simtest.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if int(aws.ToInt32(out.KeyCount)) != len(out.Contents)+len(out.CommonPrefixes) {
			t.Errorf("page %d: KeyCount %d, have %d contents + %d prefixes", pages, aws.ToInt32(out.KeyCount), len(out.Contents), len(out.CommonPrefixes))
		}
		if aws.ToBool(out.IsTruncated) != (out.NextContinuationToken != nil) {
			t.Errorf("page %d: IsTruncated %v but NextContinuationToken %v", pages, aws.ToBool(out.IsTruncated), out.NextContinuationToken)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
		if pages > 100 {
			t.Fatal("paginator did not stop")
		}
	}
	return keys, prefixes, pages
}

func TestS3ListObjectsV2Paging(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	fleet := simtest.NewFleetSource(1500, 3)
	e.Sim.S3().SetObjectSource("rds", simtest.RDSPrefix, fleet)
	var want []string
	for i := 0; i < 1500; i++ {
		want = append(want, fleet.Key(i))
	}
	// 2,500 keys: 1,500 virtual, 500 stored under the same prefix (after
	// the virtual ones), 500 stored under other prefixes, and one stored
	// object that shadows a virtual key (listed once, with its own size).
	shadowed := fleet.Key(7)
	e.Sim.S3().PutObject("rds", shadowed, []byte("stored wins"))
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("%si-%017x.json", simtest.RDSPrefix, 1<<40+i)
		e.Sim.S3().PutObject("rds", k, []byte("s"))
		want = append(want, k)
	}
	for i := 0; i < 250; i++ {
		for _, typ := range []string{"AWS:InstanceInformation", "Custom:Files"} {
			k := fmt.Sprintf("%s/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/i-%017x.json", typ, i)
			e.Sim.S3().PutObject("rds", k, []byte("{}"))
			want = append(want, k)
		}
	}
	sort.Strings(want)
	if len(want) != 2500 {
		t.Fatalf("fixture has %d keys", len(want))
	}
	keys, _, pages := listAll(t, e.S3, &s3.ListObjectsV2Input{Bucket: aws.String("rds")})
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed %d keys, want %d; first diff at %d", len(keys), len(want), firstDiff(keys, want))
	}
	// the shadowing stored object is the one listed
	out, err := e.S3.ListObjectsV2(simtest.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("rds"), StartAfter: aws.String(fleet.Key(6)), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != shadowed || aws.ToInt64(out.Contents[0].Size) != int64(len("stored wins")) ||
		aws.ToString(out.Contents[0].ETag) != sims3.ETagOf([]byte("stored wins")) {
		t.Errorf("StartAfter listing = %+v", out.Contents)
	}

	// prefix restricted to the virtual mount, small pages
	keys, _, pages = listAll(t, e.S3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String(simtest.RDSPrefix + "i-0000000000000"), MaxKeys: aws.Int32(250)})
	if len(keys) != 1500 || pages != 6 {
		t.Errorf("prefix listing: %d keys in %d pages, want 1500 in 6", len(keys), pages)
	}

	// delimiter: the type prefixes roll up
	keys, prefixes, _ := listAll(t, e.S3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	wantPrefixes := []string{"AWS:Application/", "AWS:InstanceInformation/", "Custom:Files/"}
	if len(keys) != 0 || strings.Join(prefixes, ",") != strings.Join(wantPrefixes, ",") {
		t.Errorf("delimiter listing: keys %v prefixes %v, want %v", keys, prefixes, wantPrefixes)
	}
	keys, prefixes, _ = listAll(t, e.S3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String("AWS:Application/accountid=123456789012/"), Delimiter: aws.String("/")})
	if len(keys) != 0 || len(prefixes) != 1 || prefixes[0] != "AWS:Application/accountid=123456789012/region=us-east-1/" {
		t.Errorf("nested delimiter listing: keys %d prefixes %v", len(keys), prefixes)
	}

	// max-keys above 1000 is capped
	out, err = e.S3.ListObjectsV2(simtest.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("rds"), MaxKeys: aws.Int32(5000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1000 || aws.ToInt32(out.MaxKeys) != 1000 || !aws.ToBool(out.IsTruncated) {
		t.Errorf("max-keys 5000: %d contents, MaxKeys %d, truncated %v", len(out.Contents), aws.ToInt32(out.MaxKeys), aws.ToBool(out.IsTruncated))
	}

	// virtual objects read back with consistent metadata
	k := fleet.Key(42)
	get, err := e.S3.GetObject(simtest.Ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(k)})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(data, fleet.Render(42)) || aws.ToString(get.ETag) != sims3.ETagOf(data) || aws.ToInt64(get.ContentLength) != int64(len(data)) {
		t.Errorf("virtual GetObject: %d bytes etag %s", len(data), aws.ToString(get.ETag))
	}
	rng, err := e.S3.GetObject(simtest.Ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(k), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if !bytes.Equal(part, data[10:20]) {
		t.Errorf("virtual ranged GetObject = %q, want %q", part, data[10:20])
	}
	_, err = e.S3.GetObject(simtest.Ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(fleet.Key(1500))})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("virtual key beyond the fleet: %v", err)
	}
}

func firstDiff(a, b []string) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

func TestS3Notifications(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	e.Sim.SQS().CreateQueue("rds-events")
	fleet := simtest.NewFleetSource(10, 2)
	e.Sim.S3().SetObjectSource("rds", simtest.RDSPrefix, fleet)
	if err := e.Sim.S3().SetBucketNotification("rds", "nosuchqueue", ""); err == nil {
		t.Error("notification to a missing queue accepted")
	}
	if err := e.Sim.S3().SetBucketNotification("rds", "rds-events", "AWS:Application/"); err != nil {
		t.Fatal(err)
	}
	qurl, err := e.SQS.GetQueueUrl(cx, &sqs.GetQueueUrlInput{QueueName: aws.String("rds-events")})
	if err != nil {
		t.Fatal(err)
	}
	key := simtest.RDSPrefix + "i-0abc.json"
	body := []byte(`{"name":"bash"}`)
	if _, err := e.S3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("rds"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	e.Sim.S3().PutObject("rds", "other/ignored.json", []byte("x")) // outside the filter prefix
	if _, err := e.S3.DeleteObject(cx, &s3.DeleteObjectInput{Bucket: aws.String("rds"), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Sim.S3().NotifyObjectChanged("rds", fleet.Key(3)); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for len(msgs) < 4 {
		out, err := e.SQS.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: qurl.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			msgs = append(msgs, aws.ToString(m.Body))
		}
	}
	if len(msgs) != 4 {
		t.Fatalf("got %d messages, want 4: %q", len(msgs), msgs)
	}
	var test struct{ Event, Bucket, Service string }
	if err := json.Unmarshal([]byte(msgs[0]), &test); err != nil || test.Event != "s3:TestEvent" || test.Bucket != "rds" || test.Service != "Amazon S3" {
		t.Errorf("first message %s, want the s3:TestEvent", msgs[0])
	}
	type rec struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
		S3          struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      *int64 `json:"size"`
				ETag      string `json:"eTag"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
		} `json:"s3"`
	}
	var recs []rec
	for _, m := range msgs[1:] {
		var ev struct{ Records []rec }
		if err := json.Unmarshal([]byte(m), &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("event %s: %v", m, err)
		}
		recs = append(recs, ev.Records[0])
	}
	put, del, virt := recs[0], recs[1], recs[2]
	wantKey := "AWS%3AApplication/accountid%3D123456789012/region%3Dus-east-1/resourcetype%3DManagedInstanceInventory/i-0abc.json"
	if put.EventName != "ObjectCreated:Put" || put.EventSource != "aws:s3" || put.S3.Bucket.Name != "rds" || put.S3.Object.Key != wantKey ||
		put.S3.Object.Size == nil || *put.S3.Object.Size != int64(len(body)) || put.S3.Object.ETag != strings.Trim(sims3.ETagOf(body), `"`) {
		t.Errorf("put event %+v", put)
	}
	if dk, _ := url.QueryUnescape(put.S3.Object.Key); dk != key {
		t.Errorf("decoded event key %q, want %q", dk, key)
	}
	if del.EventName != "ObjectRemoved:Delete" || del.S3.Object.Key != wantKey || del.S3.Object.Size != nil {
		t.Errorf("delete event %+v", del)
	}
	vi := fleet.Info(3)
	if virt.EventName != "ObjectCreated:Put" || *virt.S3.Object.Size != vi.Size || virt.S3.Object.ETag != vi.ETag {
		t.Errorf("virtual object event %+v, want size %d etag %s", virt, vi.Size, vi.ETag)
	}
	if !(put.S3.Object.Sequencer < del.S3.Object.Sequencer && del.S3.Object.Sequencer < virt.S3.Object.Sequencer) {
		t.Errorf("sequencers not increasing: %s %s %s", put.S3.Object.Sequencer, del.S3.Object.Sequencer, virt.S3.Object.Sequencer)
	}
}

func TestS3AWSChunkedUpload(t *testing.T) {
	svc := awssim.New(awssim.Options{})
	svc.S3().CreateBucket("bkt")
	body := "5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
	st, code, resp := simtest.RawCall(t, svc, "PUT", "", "", "/bkt/chunked", map[string]string{
		"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "11", "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, body)
	if st != 200 {
		t.Fatalf("PutObject aws-chunked: %d %s %s", st, code, resp)
	}
	if got, _ := svc.S3().Object("bkt", "chunked"); string(got) != "hello world" {
		t.Errorf("stored %q", got)
	}
}
