package simtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/driftd/driftd/awssim"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

// Router records the Host and path of every request (for addressing
// tests) in Seen, when not nil, and hands it to H.
type Router struct {
	H    http.Handler
	Seen chan string
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.Seen != nil {
		select {
		case rt.Seen <- r.Host + " " + r.URL.Path:
		default:
		}
	}
	rt.H.ServeHTTP(w, r)
}

// SvcEnv is a simulator on loopback with SDK clients for the services
// around the fleet (S3 path-style).
type SvcEnv struct {
	Sim    *awssim.Sim
	Srv    *httptest.Server
	RT     *Router
	Cfg    aws.Config
	URL    string
	S3     *s3.Client
	SQS    *sqs.Client
	SNS    *sns.Client
	Events *eventbridge.Client
	STS    *sts.Client
	IB     *imagebuilder.Client
}

// NewServices starts a simulator with opts; the server closes when the
// test ends. The clients do not retry.
func NewServices(t testing.TB, opts awssim.Options) *SvcEnv {
	t.Helper()
	sim := awssim.New(opts)
	rt := &Router{H: sim}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	e := &SvcEnv{Sim: sim, Srv: srv, RT: rt, Cfg: cfg, URL: srv.URL}
	ep := aws.String(srv.URL)
	e.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = ep; o.UsePathStyle = true })
	e.SQS = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = ep })
	e.SNS = sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = ep })
	e.Events = eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = ep })
	e.STS = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = ep })
	e.IB = imagebuilder.NewFromConfig(cfg, func(o *imagebuilder.Options) { o.BaseEndpoint = ep })
	return e
}

// LoopbackHTTPClient dials the test server for any host name, so
// virtual-hosted-style names like bucket.localhost reach it.
func (e *SvcEnv) LoopbackHTTPClient() *awshttp.BuildableClient {
	addr := strings.TrimPrefix(e.URL, "http://")
	return awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {}).WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
}

// Ctx is a 30 s context ending with the test.
func Ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// AssertStatus fails the test unless err is an SDK response error with
// HTTP status status.
func AssertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error %v, want HTTP %d", err, status)
	}
}

// AssertAPIError fails the test unless err is the API error code (with
// HTTP status status unless 0).
func AssertAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("error %v, want API error %s", err, code)
		return
	}
	if status != 0 {
		AssertStatus(t, err, status)
	}
}

// RawCall sends one hand-built request to h (a simulator; no SDK),
// returning status, the error code in the protocol's shape, and the body.
func RawCall(t testing.TB, h http.Handler, method, target, contentType, path string, header map[string]string, body string) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:9"+path, strings.NewReader(body))
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b := w.Body.String()
	return res.StatusCode, ErrorCodeOf(res, b), b
}

// ErrorCodeOf extracts the error code an SDK would see in a response.
func ErrorCodeOf(res *http.Response, body string) string {
	if res.StatusCode < 300 {
		return ""
	}
	if q := res.Header.Get("X-Amzn-Query-Error"); q != "" {
		c, _, _ := strings.Cut(q, ";")
		return c
	}
	if c := res.Header.Get("X-Amzn-Errortype"); c != "" {
		return c
	}
	ct := res.Header.Get("Content-Type")
	if strings.Contains(ct, "json") {
		var v struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal([]byte(body), &v)
		if i := strings.Index(v.Type, "#"); i >= 0 {
			return v.Type[i+1:]
		}
		return v.Type
	}
	var x struct {
		Code  string `xml:"Code"`
		Error struct {
			Code string `xml:"Code"`
		} `xml:"Error"`
	}
	_ = xml.Unmarshal([]byte(body), &x)
	if x.Code != "" {
		return x.Code
	}
	return x.Error.Code
}

// ImageARN is an Image Builder image build version ARN for tests.
const ImageARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/al2023-base/1.2.3/4"

// RDSPrefix is the key prefix of FleetSource's objects.
const RDSPrefix = "AWS:Application/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/"

// FleetSource renders Resource Data Sync AWS:Application objects for n
// instances on demand, as the simulator does for its fleet.
type FleetSource struct {
	prefix string
	n      int
	lines  int
	mod    time.Time

	mu    sync.Mutex
	stats map[int]sims3.ObjectInfo
}

// NewFleetSource returns a source of n objects of lines lines each under
// RDSPrefix.
func NewFleetSource(n, lines int) *FleetSource {
	return &FleetSource{prefix: RDSPrefix, n: n, lines: lines, mod: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), stats: map[int]sims3.ObjectInfo{}}
}

// Key is the key of object i.
func (f *FleetSource) Key(i int) string { return fmt.Sprintf("%si-%017x.json", f.prefix, i) }

func (f *FleetSource) index(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, f.prefix)
	if !ok {
		return 0, false
	}
	var i int
	if _, err := fmt.Sscanf(rest, "i-%017x.json", &i); err != nil || f.Key(i) != key || i >= f.n {
		return 0, false
	}
	return i, true
}

// Render is the content of object i.
func (f *FleetSource) Render(i int) []byte {
	var b bytes.Buffer
	for l := 0; l < f.lines; l++ {
		fmt.Fprintf(&b, `{"name":"pkg-%04d","version":"1.%d.%d","release":"1.amzn2023","architecture":"x86_64","resourceId":"i-%017x","captureTime":"2026-01-02T03:04:05Z","schemaVersion":"1.0"}`+"\n", l, l%7, i%5, i)
	}
	return b.Bytes()
}

// Info is the metadata of object i (computed once).
func (f *FleetSource) Info(i int) sims3.ObjectInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := f.stats[i]; ok {
		return in
	}
	data := f.Render(i)
	sum := md5.Sum(data)
	in := sims3.ObjectInfo{Key: f.Key(i), Size: int64(len(data)), ETag: hex.EncodeToString(sum[:]), LastModified: f.mod, ContentType: "application/json", ChecksumCRC32: sims3.ChecksumCRC32Of(data)}
	f.stats[i] = in
	return in
}

// List implements s3.ObjectSource.
func (f *FleetSource) List(prefix, after string, limit int) ([]sims3.ObjectInfo, error) {
	// keys are in index order (fixed-width hex)
	start := sort.Search(f.n, func(i int) bool { return f.Key(i) > after })
	var out []sims3.ObjectInfo
	for i := start; i < f.n && len(out) < limit; i++ {
		k := f.Key(i)
		if !strings.HasPrefix(k, prefix) {
			if k > prefix {
				break
			}
			continue
		}
		out = append(out, f.Info(i))
	}
	return out, nil
}

// Stat implements s3.ObjectSource.
func (f *FleetSource) Stat(key string) (sims3.ObjectInfo, bool, error) {
	i, ok := f.index(key)
	if !ok {
		return sims3.ObjectInfo{}, false, nil
	}
	return f.Info(i), true, nil
}

// Open implements s3.ObjectSource.
func (f *FleetSource) Open(key string) (io.ReadCloser, error) {
	i, ok := f.index(key)
	if !ok {
		return nil, fmt.Errorf("no object %q", key)
	}
	return io.NopCloser(bytes.NewReader(f.Render(i))), nil
}
