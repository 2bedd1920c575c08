package awsclients

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/internal/config"
)

type customClient struct{}

func (customClient) Do(*http.Request) (*http.Response, error) { return nil, nil }

// TestWrapHTTPClient: the transport fix reaches the client LoadDefaultConfig
// builds (keeping its transport, which carries AWS_CA_BUNDLE's TLS settings),
// and a caller's own client is left alone.
func TestWrapHTTPClient(t *testing.T) {
	bc := awshttp.NewBuildableClient()
	got, ok := wrapHTTPClient(bc).(*http.Client)
	if !ok {
		t.Fatalf("BuildableClient not wrapped: %T", wrapHTTPClient(bc))
	}
	if _, plain := got.Transport.(*http.Transport); plain || got.Transport == nil {
		t.Fatalf("transport not wrapped: %T", got.Transport)
	}
	if _, ok := wrapHTTPClient(nil).(*http.Client); !ok {
		t.Fatal("nil client not replaced")
	}
	if _, ok := wrapHTTPClient(customClient{}).(customClient); !ok {
		t.Fatal("custom client replaced")
	}
}

// TestStandardConfiguration: the clients follow the SDK's standard chain —
// AWS_ENDPOINT_URL for every service, AWS_ENDPOINT_URL_<SERVICE> for one,
// static keys and the region from the environment, aws.region over
// AWS_REGION — use path-style S3 addressing on a local endpoint, and report
// every attempt to the middleware.
func TestStandardConfiguration(t *testing.T) {
	var mu sync.Mutex
	hits := map[string][]string{}
	serve := func(name, body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[name] = append(hits[name], r.URL.Path)
			mu.Unlock()
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json") {
				body = "{}"
			}
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	all := serve("all", "<DescribeInstancesResponse></DescribeInstancesResponse>")
	s3srv := serve("s3", "<ListBucketResult></ListBucketResult>")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": all.URL, "AWS_ENDPOINT_URL_S3": s3srv.URL, "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	var counted []string
	cfg, err := Load(t.Context(), Options{AWS: config.AWS{Region: "us-east-2", MaxAttempts: 1, RetryMode: "standard", MaxBackoff: time.Millisecond},
		Attempts: &Attempts{Count: func(svc, op, code string) {
			mu.Lock()
			counted = append(counted, svc+":"+op+":"+code)
			mu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-2" {
		t.Errorf("region %q, want aws.region's us-east-2", cfg.Region)
	}
	c := New(cfg)
	if _, err := c.EC2.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SSM.DescribeInstanceInformation(t.Context(), &ssm.DescribeInstanceInformationInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("golden")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hits["all"]) != 2 || len(hits["s3"]) != 1 || hits["s3"][0] != "/golden" {
		t.Errorf("requests: AWS_ENDPOINT_URL %v, AWS_ENDPOINT_URL_S3 %v; want EC2 and SSM on the first, S3 path-style on the second", hits["all"], hits["s3"])
	}
	if want := []string{"ec2:DescribeInstances:OK", "ssm:DescribeInstanceInformation:OK", "s3:ListObjectsV2:OK"}; !slices.Equal(counted, want) {
		t.Errorf("attempts %v, want %v", counted, want)
	}
}

// TestNoRegion: without aws.region, AWS_REGION or a profile's region there
// is nothing to watch.
func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := Load(t.Context(), Options{}); !errors.Is(err, ErrNoRegion) {
		t.Fatalf("err = %v, want ErrNoRegion", err)
	}
}
