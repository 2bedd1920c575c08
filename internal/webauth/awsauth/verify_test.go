package awsauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	simsts "github.com/driftd/driftd/awssim/sts"
	"github.com/driftd/driftd/internal/testenv/motoenv"
)

const (
	region   = "eu-west-1"
	operator = "arn:aws:sts::123456789012:assumed-role/ops-admin/alice"
)

// simSTS serves the simulated STS with one registered credential.
func simSTS(t *testing.T, now func() time.Time) (string, aws.Config) {
	t.Helper()
	svc := simsts.NewPresigned(simsts.PresignOptions{Region: region, Now: now})
	svc.AddCredentials("ASIAOPERATOR0000001", "opsecret", "session-token-1", operator)
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("ASIAOPERATOR0000001", "opsecret", "session-token-1")}
	return srv.URL, cfg
}

func endpoint(u string) func(*sts.Options) {
	return func(o *sts.Options) { o.BaseEndpoint = aws.String(u) }
}

func decode(t *testing.T, tok string) *url.URL {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func encode(u *url.URL) string { return base64.RawURLEncoding.EncodeToString([]byte(u.String())) }

func TestVerifyAgainstSimulatedSTS(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	stsURL, cfg := simSTS(t, clock)
	v, err := NewVerifier(VerifierOptions{Region: region, ServerID: "driftd-prod", Endpoint: stsURL, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	good, err := Token(ctx, cfg, "driftd-prod", endpoint(stsURL))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := v.Verify(ctx, good)
	if err != nil || arn != operator {
		t.Fatalf("Verify = %q, %v; want %s", arn, err, operator)
	}
	if RoleARN(arn) != "arn:aws:iam::123456789012:role/ops-admin" {
		t.Errorf("RoleARN(%s) = %q", arn, RoleARN(arn))
	}

	otherServer, _ := Token(ctx, cfg, "driftd-staging", endpoint(stsURL))
	wrongSecret := cfg.Copy()
	wrongSecret.Credentials = credentials.NewStaticCredentialsProvider("ASIAOPERATOR0000001", "guessed", "session-token-1")
	forged, _ := Token(ctx, wrongSecret, "driftd-prod", endpoint(stsURL))
	unknown := cfg.Copy()
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIANOBODY000000001", "x", "")
	unknownTok, _ := Token(ctx, unknown, "driftd-prod", endpoint(stsURL))
	otherRegion := cfg.Copy()
	otherRegion.Region = "us-east-1"
	otherRegionTok, _ := Token(ctx, otherRegion, "driftd-prod", endpoint(stsURL))
	foreignHost, _ := Token(ctx, cfg, "driftd-prod", endpoint("http://169.254.169.254"))
	mutate := func(f func(q url.Values)) string {
		u := decode(t, good)
		q := u.Query()
		f(q)
		u.RawQuery = q.Encode()
		return encode(u)
	}
	tampered := decode(t, good)
	tampered.RawQuery = strings.Replace(tampered.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=299", 1)

	cases := []struct {
		name, tok, want string
		at              time.Duration
	}{
		{"signed for another server", otherServer, "SignatureDoesNotMatch", 0},
		{"forged signature", forged, "SignatureDoesNotMatch", 0},
		{"unknown access key", unknownTok, "InvalidClientTokenId", 0},
		{"tampered parameter", encode(tampered), "SignatureDoesNotMatch", 0},
		{"expired", good, "expired", PresignExpiry + time.Second},
		{"dated in the future", good, "future", -2 * ClockSkew},
		{"foreign STS host", foreignHost, "not for the STS endpoint", 0},
		{"other region", otherRegionTok, "region us-east-1", 0},
		{"other action", mutate(func(q url.Values) { q.Set("Action", "AssumeRole") }), "not sts:GetCallerIdentity", 0},
		{"extra parameter", mutate(func(q url.Values) { q.Set("RoleArn", "arn:aws:iam::1:role/x") }), "carries parameter", 0},
		{"server id not signed", mutate(func(q url.Values) { q.Set("X-Amz-SignedHeaders", "host") }), "must sign host", 0},
		{"long expiry", mutate(func(q url.Values) { q.Set("X-Amz-Expires", "3600") }), "X-Amz-Expires", 0},
		{"not base64", "%%%", "base64", 0},
		{"too long", strings.Repeat("A", MaxTokenBytes+1), "too long", 0},
		{"userinfo", encode(&url.URL{Scheme: "http", User: url.User("x"), Host: strings.TrimPrefix(stsURL, "http://"), RawQuery: decode(t, good).RawQuery}), "not for the STS endpoint", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now = time.Now().Add(c.at)
			defer func() { now = time.Now() }()
			arn, err := v.Verify(ctx, c.tok)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %q, %v; want an error containing %q", arn, err, c.want)
			}
			if strings.Contains(err.Error(), "opsecret") || strings.Contains(err.Error(), "X-Amz-Signature=") {
				t.Errorf("error echoes the credential: %v", err)
			}
		})
	}
}

// The simulator's expiry check is its own: a token that the verifier
// would still accept (long X-Amz-Expires is refused there first) but whose
// presign window has passed at the simulated STS is refused by it.
func TestSimulatedSTSRefusesExpiredPresign(t *testing.T) {
	ctx := context.Background()
	simNow := time.Now().Add(10 * time.Minute)
	stsURL, cfg := simSTS(t, func() time.Time { return simNow })
	v, _ := NewVerifier(VerifierOptions{Region: region, ServerID: "s", Endpoint: stsURL})
	tok, _ := Token(ctx, cfg, "s", endpoint(stsURL))
	if _, err := v.Verify(ctx, tok); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Verify = %v; want STS AccessDenied (expired)", err)
	}
}

func TestRoleARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/ops/alice":   "arn:aws:iam::123456789012:role/ops",
		"arn:aws-cn:sts::123456789012:assumed-role/ops/s":    "arn:aws-cn:iam::123456789012:role/ops",
		"arn:aws:iam::123456789012:user/bob":                 "",
		"arn:aws:sts::123456789012:federated-user/x":         "",
		"arn:aws:sts::123456789012:assumed-role/":            "",
		"arn:aws:sts::123456789012:assumed-role/only-a-name": "",
		"not an arn": "",
	} {
		if got := RoleARN(in); got != want {
			t.Errorf("RoleARN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAnswerParserAgainstMoto reads moto's sts:GetCallerIdentity answer
// (a header-signed call from an assumed-role session) with the parser the
// verifier uses. moto's server cannot answer the presigned GET itself: it
// routes requests by the Authorization header, X-Amz-Target or the body
// (moto/moto_server/werkzeug_app.py, infer_service_region_host) and reads
// the caller's access key from the Authorization header only
// (moto/core/responses.py, get_access_key); docs/awssim.md says so.
func TestAnswerParserAgainstMoto(t *testing.T) {
	ctx := context.Background()
	u := motoenv.URL(t)
	cfg, account := motoenv.Account(t, ctx, u, "us-east-1")
	var raw []byte
	var status int
	cfg.HTTPClient = captureClient{fn: func(code int, b []byte) { status, raw = code, b }}
	if _, err := sts.NewFromConfig(cfg, endpoint(u)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	arn, err := parseAnswer(status, raw)
	if err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if want := "arn:aws:sts::" + account + ":assumed-role/driftd-conformance/driftd-conformance"; arn != want {
		t.Fatalf("moto answered %s, want %s", arn, want)
	}
	if RoleARN(arn) != "arn:aws:iam::"+account+":role/driftd-conformance" {
		t.Errorf("RoleARN = %s", RoleARN(arn))
	}
}

type captureClient struct{ fn func(int, []byte) }

func (c captureClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.fn(resp.StatusCode, b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
