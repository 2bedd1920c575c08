// Package awsauth proves a caller's AWS identity the way
// aws-iam-authenticator and Vault's AWS auth method do: the client
// presigns sts:GetCallerIdentity with its own credentials (Token) and
// sends the URL; the server checks that the URL can only be that call on
// the configured STS endpoint (never another host: no request forgery),
// sends it there with its own server id in the signed header, and reads
// the caller's ARN from the answer. sts:GetCallerIdentity needs no IAM
// permission (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
package awsauth

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits.
const (
	MaxTokenBytes = 4096             // an encoded token
	MaxExpiry     = 15 * time.Minute // largest X-Amz-Expires accepted
	ClockSkew     = time.Minute      // tolerated for X-Amz-Date in the future
)

// Verifier checks tokens against one STS endpoint.
type Verifier struct {
	endpoint *url.URL // scheme://host of the only STS endpoint we call
	region   string
	serverID string
	client   *http.Client
	now      func() time.Time
}

// VerifierOptions configure NewVerifier.
type VerifierOptions struct {
	Region   string // STS region (required)
	ServerID string // value set in X-Driftd-Server-Id (required)
	// Endpoint replaces https://sts.REGION.amazonaws.com.
	Endpoint string
	// Client sends the request (nil: 10 s timeout); redirects are never followed.
	Client *http.Client
	Now    func() time.Time
}

// NewVerifier returns a Verifier for one region and server id.
func NewVerifier(o VerifierOptions) (*Verifier, error) {
	if o.Region == "" || o.ServerID == "" {
		return nil, errors.New("awsauth: region and server id are required")
	}
	ep := o.Endpoint
	if ep == "" {
		ep = "https://sts." + o.Region + ".amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("awsauth: STS endpoint %q must be scheme://host[:port]", ep)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if o.Client != nil {
		cc := *o.Client
		c = &cc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Verifier{endpoint: &url.URL{Scheme: u.Scheme, Host: u.Host}, region: o.Region, serverID: o.ServerID, client: c, now: o.Now}, nil
}

var (
	credentialRE = regexp.MustCompile(`^[A-Z0-9]{16,128}/(\d{8})/([a-z0-9-]+)/sts/aws4_request$`)
	signatureRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// allowedParams is every query parameter a presigned
	// GetCallerIdentity carries; any other is refused.
	allowedParams = []string{"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
		"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}
)

// DecodeToken decodes a token to its presigned URL and checks its shape:
// the configured STS host, path "/", GetCallerIdentity of 2011-06-15,
// AWS4-HMAC-SHA256 scoped to the configured region and sts, signed
// headers including host and x-driftd-server-id, not expired, not
// dated in the future, no other parameters. It makes no request.
func (v *Verifier) DecodeToken(tok string) (*url.URL, error) {
	if len(tok) > MaxTokenBytes {
		return nil, errors.New("token too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil {
		return nil, errors.New("token is not base64url")
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return nil, errors.New("token is not a URL")
	}
	if u.Scheme != v.endpoint.Scheme || !strings.EqualFold(u.Host, v.endpoint.Host) || u.User != nil || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("presigned URL is not for the STS endpoint %s", v.endpoint)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("presigned URL query is malformed")
	}
	for k, vals := range q {
		if !slices.Contains(allowedParams, k) {
			return nil, fmt.Errorf("presigned URL carries parameter %.40q", k)
		}
		if len(vals) != 1 {
			return nil, fmt.Errorf("presigned URL repeats parameter %s", k)
		}
	}
	if q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" {
		return nil, errors.New("presigned request is not sts:GetCallerIdentity (Version 2011-06-15)")
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return nil, errors.New("presigned request is not signed with AWS4-HMAC-SHA256")
	}
	m := credentialRE.FindStringSubmatch(q.Get("X-Amz-Credential"))
	if m == nil {
		return nil, errors.New("X-Amz-Credential is not ACCESSKEY/DATE/REGION/sts/aws4_request")
	}
	if m[2] != v.region {
		return nil, fmt.Errorf("presigned for region %s, this server verifies in %s", m[2], v.region)
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, strings.ToLower(HeaderServerID)) {
		return nil, fmt.Errorf("presigned request must sign host and %s", strings.ToLower(HeaderServerID))
	}
	if !signatureRE.MatchString(q.Get("X-Amz-Signature")) {
		return nil, errors.New("X-Amz-Signature is not 64 hex digits")
	}
	date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != m[1] {
		return nil, errors.New("X-Amz-Date is malformed or does not match the credential scope")
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || exp < 1 || time.Duration(exp)*time.Second > MaxExpiry {
		return nil, fmt.Errorf("X-Amz-Expires must be 1-%d seconds", int(MaxExpiry.Seconds()))
	}
	now := v.now()
	switch {
	case date.After(now.Add(ClockSkew)):
		return nil, errors.New("presigned request is dated in the future")
	case !now.Before(date.Add(time.Duration(exp) * time.Second)):
		return nil, errors.New("presigned request has expired")
	}
	return &url.URL{Scheme: v.endpoint.Scheme, Host: v.endpoint.Host, Path: "/", RawQuery: u.RawQuery}, nil
}

type callerIdentity struct {
	Arn     string `xml:"GetCallerIdentityResult>Arn"`
	Account string `xml:"GetCallerIdentityResult>Account"`
}

type stsError struct {
	Code string `xml:"Error>Code"`
}

var codeRE = regexp.MustCompile(`^[A-Za-z.]{1,64}$`)

var arnRE = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::\d{12}:[!-~]+$`)

// Verify decodes the token, sends it to STS with this server's id and
// returns the caller's ARN. Errors name the reason, never the token.
func (v *Verifier) Verify(ctx context.Context, tok string) (string, error) {
	u, err := v.DecodeToken(tok)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(HeaderServerID, v.serverID)
	resp, err := v.client.Do(req)
	if err != nil {
		return "", errors.New("STS unreachable")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return parseAnswer(resp.StatusCode, body)
}

// parseAnswer reads the caller's ARN from STS's GetCallerIdentity answer
// (query protocol XML), or the error code of a refusal.
func parseAnswer(status int, body []byte) (string, error) {
	if status != http.StatusOK {
		var e stsError
		_ = xml.Unmarshal(body, &e)
		code := e.Code
		if !codeRE.MatchString(code) {
			code = "unknown error"
		}
		return "", fmt.Errorf("STS refused the presigned request (%d %s)", status, code)
	}
	var ci callerIdentity
	if err := xml.Unmarshal(body, &ci); err != nil || len(ci.Arn) > 2048 || !arnRE.MatchString(ci.Arn) {
		return "", errors.New("STS answer carries no caller ARN")
	}
	return ci.Arn, nil
}

// RoleARN returns the IAM role ARN of an assumed-role session ARN
// (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION →
// arn:aws:iam::ACCOUNT:role/NAME), or "" for any other ARN.
func RoleARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return ""
	}
	res, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(res, "/")
	if !ok || name == "" {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name
}
