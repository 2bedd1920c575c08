package services

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
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

func TestS3Addressing(t *testing.T) {
	e := newEnv(t, Options{})
	port := e.url[strings.LastIndex(e.url, ":")+1:]
	cases := []struct {
		name      string
		endpoint  string
		pathStyle bool
		wantHost  string // Host the SDK sends
	}{
		{"ip path-style default", e.url, false, "127.0.0.1:" + port},
		{"ip path-style forced", e.url, true, "127.0.0.1:" + port},
		{"localhost virtual-hosted", "http://localhost:" + port, false, "vbkt.localhost:" + port},
		{"localhost path-style", "http://localhost:" + port, true, "localhost:" + port},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s3.NewFromConfig(e.cfg, func(o *s3.Options) {
				o.BaseEndpoint = aws.String(tc.endpoint)
				o.UsePathStyle = tc.pathStyle
				o.HTTPClient = e.loopbackHTTPClient()
			})
			e.rt.seen = make(chan string, 64)
			defer func() { e.rt.seen = nil }()
			cx := ctx(t)
			if _, err := c.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("vbkt")}); err != nil {
				t.Fatal(err)
			}
			key := "AWS:Application/accountid=123456789012/x y+z.json"
			body := []byte(`{"name":"bash"}` + "\n" + tc.name)
			put, err := c.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("vbkt"), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(put.ETag) != ETagOf(body) {
				t.Errorf("PutObject ETag %s, want %s", aws.ToString(put.ETag), ETagOf(body))
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
			host := <-e.rt.seen
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
			if _, ok := e.svc.Object("vbkt", key); ok {
				t.Error("object still stored after DeleteObject")
			}
		})
	}
}

func TestS3ObjectOperations(t *testing.T) {
	clk := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	e := newEnv(t, Options{Clock: func() time.Time { return clk }})
	cx := ctx(t)
	if _, err := e.s3.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := []byte("0123456789abcdefghij")
	if _, err := e.s3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "drift"}}); err != nil {
		t.Fatal(err)
	}
	head, err := e.s3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != 20 || aws.ToString(head.ETag) != ETagOf(body) || !head.LastModified.Equal(clk) ||
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
		out, err := e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Range: aws.String(r.rng)})
		if err != nil {
			t.Fatalf("%s: %v", r.rng, err)
		}
		d, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(d) != r.want || aws.ToString(out.ContentRange) != r.contentRange {
			t.Errorf("Range %s = %q (%s), want %q (%s)", r.rng, d, aws.ToString(out.ContentRange), r.want, r.contentRange)
		}
	}
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Range: aws.String("bytes=20-")})
	assertAPIError(t, err, "InvalidRange", 416)

	// conditional requests
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(ETagOf(body))})
	assertStatus(t, err, 304)
	_, err = e.s3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(ETagOf(body))})
	assertStatus(t, err, 304)
	out, err := e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfNoneMatch: aws.String(`"0000"`)})
	if err != nil {
		t.Fatalf("If-None-Match with another ETag: %v", err)
	}
	out.Body.Close()
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfMatch: aws.String(`"0000"`)})
	assertAPIError(t, err, "PreconditionFailed", 412)
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), IfModifiedSince: aws.Time(clk)})
	assertStatus(t, err, 304)

	// overwrite changes the ETag; delete of a missing key succeeds
	if _, err := e.s3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt"), Body: strings.NewReader("v2")}); err != nil {
		t.Fatal(err)
	}
	head, _ = e.s3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.txt")})
	if aws.ToString(head.ETag) != ETagOf([]byte("v2")) {
		t.Errorf("ETag after overwrite %s", aws.ToString(head.ETag))
	}
	if _, err := e.s3.DeleteObject(cx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("nope")}); err != nil {
		t.Errorf("DeleteObject of a missing key: %v", err)
	}
	if _, err := e.s3.HeadBucket(cx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
}

func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error %v, want HTTP %d", err, status)
	}
}

func assertAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("error %v, want API error %s", err, code)
		return
	}
	if status != 0 {
		assertStatus(t, err, status)
	}
}

func TestS3Errors(t *testing.T) {
	e := newEnv(t, Options{})
	cx := ctx(t)
	e.svc.CreateBucket("bkt")
	e.svc.PutObject("bkt", "secret/x", []byte("x"))
	e.svc.PutObject("bkt", "open/x", []byte("x"))
	e.svc.SetAccessDenied("bkt", "secret/", true)

	_, err := e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject missing key: %v, want *s3types.NoSuchKey", err)
	}
	assertStatus(t, err, 404)
	// GetObject does not model NoSuchBucket (so the SDK returns a generic
	// API error); ListObjectsV2 does.
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("nobkt"), Key: aws.String("x")})
	assertAPIError(t, err, "NoSuchBucket", 404)
	var nsb *s3types.NoSuchBucket
	_, err = e.s3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("nobkt")})
	if !errors.As(err, &nsb) {
		t.Errorf("ListObjectsV2 missing bucket: %v, want *s3types.NoSuchBucket", err)
	}
	_, err = e.s3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject missing key: %v, want *s3types.NotFound (HEAD errors have no body)", err)
	}
	_, err = e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("secret/x")})
	assertAPIError(t, err, "AccessDenied", 403)
	_, err = e.s3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("secret/")})
	assertAPIError(t, err, "AccessDenied", 403)
	if _, err := e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("open/x")}); err != nil {
		t.Errorf("GetObject outside the denied prefix: %v", err)
	}
	_, err = e.s3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(-1)})
	assertAPIError(t, err, "InvalidArgument", 400)
	_, err = e.s3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), ContinuationToken: aws.String("not-a-token")})
	assertAPIError(t, err, "InvalidArgument", 400)
	_, err = e.s3.CreateBucket(cx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	assertAPIError(t, err, "InvalidBucketName", 400)
	_, err = e.s3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("nobkt"), Key: aws.String("k"), Body: strings.NewReader("x")})
	assertAPIError(t, err, "NoSuchBucket", 404)
}

func listAll(t *testing.T, c *s3.Client, in *s3.ListObjectsV2Input) (keys, prefixes []string, pages int) {
	t.Helper()
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
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
	e := newEnv(t, Options{})
	fleet := newFleetSource(1500, 3)
	e.svc.SetObjectSource("rds", rdsPrefix, fleet)
	var want []string
	for i := 0; i < 1500; i++ {
		want = append(want, fleet.key(i))
	}
	// 2,500 keys: 1,500 virtual, 500 stored under the same prefix (after
	// the virtual ones), 500 stored under other prefixes, and one stored
	// object that shadows a virtual key (listed once, with its own size).
	shadowed := fleet.key(7)
	e.svc.PutObject("rds", shadowed, []byte("stored wins"))
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("%si-%017x.json", rdsPrefix, 1<<40+i)
		e.svc.PutObject("rds", k, []byte("s"))
		want = append(want, k)
	}
	for i := 0; i < 250; i++ {
		for _, typ := range []string{"AWS:InstanceInformation", "Custom:Files"} {
			k := fmt.Sprintf("%s/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/i-%017x.json", typ, i)
			e.svc.PutObject("rds", k, []byte("{}"))
			want = append(want, k)
		}
	}
	sort.Strings(want)
	if len(want) != 2500 {
		t.Fatalf("fixture has %d keys", len(want))
	}
	keys, _, pages := listAll(t, e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("rds")})
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed %d keys, want %d; first diff at %d", len(keys), len(want), firstDiff(keys, want))
	}
	// the shadowing stored object is the one listed
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("rds"), StartAfter: aws.String(fleet.key(6)), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != shadowed || aws.ToInt64(out.Contents[0].Size) != int64(len("stored wins")) ||
		aws.ToString(out.Contents[0].ETag) != ETagOf([]byte("stored wins")) {
		t.Errorf("StartAfter listing = %+v", out.Contents)
	}

	// prefix restricted to the virtual mount, small pages
	keys, _, pages = listAll(t, e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String(rdsPrefix + "i-0000000000000"), MaxKeys: aws.Int32(250)})
	if len(keys) != 1500 || pages != 6 {
		t.Errorf("prefix listing: %d keys in %d pages, want 1500 in 6", len(keys), pages)
	}

	// delimiter: the type prefixes roll up
	keys, prefixes, _ := listAll(t, e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	wantPrefixes := []string{"AWS:Application/", "AWS:InstanceInformation/", "Custom:Files/"}
	if len(keys) != 0 || strings.Join(prefixes, ",") != strings.Join(wantPrefixes, ",") {
		t.Errorf("delimiter listing: keys %v prefixes %v, want %v", keys, prefixes, wantPrefixes)
	}
	keys, prefixes, _ = listAll(t, e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String("AWS:Application/accountid=123456789012/"), Delimiter: aws.String("/")})
	if len(keys) != 0 || len(prefixes) != 1 || prefixes[0] != "AWS:Application/accountid=123456789012/region=us-east-1/" {
		t.Errorf("nested delimiter listing: keys %d prefixes %v", len(keys), prefixes)
	}

	// max-keys above 1000 is capped
	out, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("rds"), MaxKeys: aws.Int32(5000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1000 || aws.ToInt32(out.MaxKeys) != 1000 || !aws.ToBool(out.IsTruncated) {
		t.Errorf("max-keys 5000: %d contents, MaxKeys %d, truncated %v", len(out.Contents), aws.ToInt32(out.MaxKeys), aws.ToBool(out.IsTruncated))
	}

	// virtual objects read back with consistent metadata
	k := fleet.key(42)
	get, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(k)})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(data, fleet.render(42)) || aws.ToString(get.ETag) != ETagOf(data) || aws.ToInt64(get.ContentLength) != int64(len(data)) {
		t.Errorf("virtual GetObject: %d bytes etag %s", len(data), aws.ToString(get.ETag))
	}
	rng, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(k), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if !bytes.Equal(part, data[10:20]) {
		t.Errorf("virtual ranged GetObject = %q, want %q", part, data[10:20])
	}
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(fleet.key(1500))})
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
	e := newEnv(t, Options{})
	cx := ctx(t)
	e.svc.CreateQueue("rds-events")
	fleet := newFleetSource(10, 2)
	e.svc.SetObjectSource("rds", rdsPrefix, fleet)
	if err := e.svc.SetBucketNotification("rds", "nosuchqueue", ""); err == nil {
		t.Error("notification to a missing queue accepted")
	}
	if err := e.svc.SetBucketNotification("rds", "rds-events", "AWS:Application/"); err != nil {
		t.Fatal(err)
	}
	qurl, err := e.sqs.GetQueueUrl(cx, &sqs.GetQueueUrlInput{QueueName: aws.String("rds-events")})
	if err != nil {
		t.Fatal(err)
	}
	key := rdsPrefix + "i-0abc.json"
	body := []byte(`{"name":"bash"}`)
	if _, err := e.s3.PutObject(cx, &s3.PutObjectInput{Bucket: aws.String("rds"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	e.svc.PutObject("rds", "other/ignored.json", []byte("x")) // outside the filter prefix
	if _, err := e.s3.DeleteObject(cx, &s3.DeleteObjectInput{Bucket: aws.String("rds"), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.NotifyObjectChanged("rds", fleet.key(3)); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for len(msgs) < 4 {
		out, err := e.sqs.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: qurl.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
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
		put.S3.Object.Size == nil || *put.S3.Object.Size != int64(len(body)) || put.S3.Object.ETag != strings.Trim(ETagOf(body), `"`) {
		t.Errorf("put event %+v", put)
	}
	if dk, _ := url.QueryUnescape(put.S3.Object.Key); dk != key {
		t.Errorf("decoded event key %q, want %q", dk, key)
	}
	if del.EventName != "ObjectRemoved:Delete" || del.S3.Object.Key != wantKey || del.S3.Object.Size != nil {
		t.Errorf("delete event %+v", del)
	}
	vi := fleet.info(3)
	if virt.EventName != "ObjectCreated:Put" || *virt.S3.Object.Size != vi.Size || virt.S3.Object.ETag != vi.ETag {
		t.Errorf("virtual object event %+v, want size %d etag %s", virt, vi.Size, vi.ETag)
	}
	if !(put.S3.Object.Sequencer < del.S3.Object.Sequencer && del.S3.Object.Sequencer < virt.S3.Object.Sequencer) {
		t.Errorf("sequencers not increasing: %s %s %s", put.S3.Object.Sequencer, del.S3.Object.Sequencer, virt.S3.Object.Sequencer)
	}
}
