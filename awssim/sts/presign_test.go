package sts_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftd/driftd/awssim"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// presign signs GET base/?Action=GetCallerIdentity... with the SDK's
// SigV4 signer, as sts.PresignClient does, plus X-Amz-Expires and one
// signed extra header.
func presign(t *testing.T, base, region, ak, sk string, expires string, at time.Time, header string) (string, http.Header) {
	t.Helper()
	q := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if expires != "" {
		q.Set("X-Amz-Expires", expires)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/?"+q.Encode(), nil)
	h := http.Header{}
	if header != "" {
		req.Header.Set("X-Driftd-Server-Id", header)
		h.Set("X-Driftd-Server-Id", header)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, emptySHA256, "sts", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return u, h
}

// Presigned GetCallerIdentity requests reach the simulated STS through the
// simulator's root router (a GET with the signature in the query string,
// which wire.Parse would take for S3) and are checked as STS checks them.
func TestPresignedThroughTheSimulator(t *testing.T) {
	now := time.Now()
	sim := awssim.New(awssim.Options{Region: "us-east-1"})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sim.PresignedSTS().AddCredentials("AKIAOPERATOR0000001", "s3cret", "", "arn:aws:iam::123456789012:user/alice")
	ak := "AKIAOPERATOR0000001"
	for _, c := range []struct {
		name, region, key, secret, expires, header, dropHeader string
		at                                                     time.Time
		status                                                 int
		want                                                   string
	}{
		{name: "valid", status: 200, want: "<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDADRIFTDSIMULATOR</UserId><Account>123456789012</Account>"},
		{name: "wrong secret", secret: "guess", status: 403, want: "<Code>SignatureDoesNotMatch</Code>"},
		{name: "signed header not sent", dropHeader: "y", status: 400, want: "signed header x-driftd-server-id is missing"},
		{name: "unknown access key", key: "AKIANOBODY000000001", status: 403, want: "<Code>InvalidClientTokenId</Code>"},
		{name: "other region", region: "eu-west-1", status: 403, want: "<Code>SignatureDoesNotMatch</Code>"},
		{name: "expired", at: now.Add(-10 * time.Minute), status: 403, want: "Request has expired"},
		{name: "dated in the future", at: now.Add(time.Hour), status: 403, want: "not yet current"},
		{name: "no X-Amz-Expires", expires: "-", status: 400, want: "X-Amz-Expires"},
	} {
		t.Run(c.name, func(t *testing.T) {
			region, key, secret, expires, at := "us-east-1", ak, "s3cret", "300", now
			if c.region != "" {
				region = c.region
			}
			if c.key != "" {
				key = c.key
			}
			if c.secret != "" {
				secret = c.secret
			}
			if c.expires == "-" {
				expires = ""
			}
			if !c.at.IsZero() {
				at = c.at
			}
			u, h := presign(t, srv.URL, region, key, secret, expires, at, "driftd-prod")
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if c.dropHeader == "" {
				req.Header = h
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
				t.Fatalf("status %d body %s; want %d containing %q", resp.StatusCode, body, c.status, c.want)
			}
		})
	}
}

// The SDK's own presign client (no X-Amz-Expires unless the caller adds
// one) is refused: SigV4 query authentication requires it.
func TestSDKPresignWithoutExpiryRefused(t *testing.T) {
	sim := awssim.New(awssim.Options{})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sim.PresignedSTS().AddCredentials("AKIAOPERATOR0000001", "s3cret", "", "arn:aws:iam::123456789012:user/alice")
	pc := sts.NewPresignClient(sts.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAOPERATOR0000001", "s3cret", "")},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) }))
	p, err := pc.PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}
