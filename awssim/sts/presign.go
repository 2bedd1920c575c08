// Presigned simulates the one AWS STS call a client can hand to someone
// else: a presigned sts:GetCallerIdentity (the request
// aws-iam-authenticator and Vault's AWS auth method forward to STS to learn
// who signed it). The simulator knows the secret keys of the credentials
// registered with AddCredentials and checks a presigned request as STS
// does: Signature Version 4 in the query string
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-query-string-auth.html),
// scoped to this region and sts, within X-Amz-Expires, signature
// recomputed with the secret key over the signed headers. Calls signed in
// the Authorization header stay with Service.

package sts

import (
	"context"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// PresignOptions configure a Presigned.
type PresignOptions struct {
	Region string           // us-east-1
	Now    func() time.Time // time.Now
}

// Presigned answers presigned GetCallerIdentity requests.
type Presigned struct {
	opts  PresignOptions
	mu    sync.RWMutex
	creds map[string]credential
}

type credential struct {
	secret, token, arn string
}

// NewPresigned returns a Presigned with no credentials: every request is
// refused until AddCredentials registers its access key.
func NewPresigned(o PresignOptions) *Presigned {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Presigned{opts: o, creds: map[string]credential{}}
}

// AddCredentials registers an access key, its secret, its session token
// ("" for long-term keys) and the ARN GetCallerIdentity reports for it.
func (s *Presigned) AddCredentials(accessKey, secret, sessionToken, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[accessKey] = credential{secret: secret, token: sessionToken, arn: arn}
}

// IsPresigned reports whether r is a query-string-signed STS request (the
// root router hands those to this package).
func IsPresigned(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == http.MethodGet && q.Get("X-Amz-Signature") != "" && q.Get("Action") != "" &&
		strings.Contains(q.Get("X-Amz-Credential"), "/sts/aws4_request")
}

// maxExpires is SigV4's largest X-Amz-Expires (7 days).
const maxExpires = 604800

// ServeHTTP answers a presigned request.
func (s *Presigned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(status int, code, format string, a ...any) {
		writeError(w, status, code, fmt.Sprintf(format, a...))
	}
	if q.Get("Action") != "GetCallerIdentity" {
		fail(400, "InvalidAction", "Could not find operation %s for version %s", q.Get("Action"), q.Get("Version"))
		return
	}
	if q.Get("Version") != "2011-06-15" {
		fail(400, "InvalidAction", "Could not find operation %s for version %s", q.Get("Action"), q.Get("Version"))
		return
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		fail(400, "IncompleteSignature", "Unsupported AWS 'algorithm': '%s'", q.Get("X-Amz-Algorithm"))
		return
	}
	parts := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "sts" {
		fail(400, "IncompleteSignature", "Credential should be scoped to a valid region, service and aws4_request.")
		return
	}
	if parts[2] != s.opts.Region {
		fail(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '%s'.", parts[2])
		return
	}
	date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != parts[1] {
		fail(400, "IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope date.")
		return
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || exp < 1 || exp > maxExpires {
		fail(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be 1-%d seconds", maxExpires)
		return
	}
	now := s.opts.Now()
	if !now.Before(date.Add(time.Duration(exp) * time.Second)) {
		fail(403, "AccessDenied", "Request has expired")
		return
	}
	if date.After(now.Add(15 * time.Minute)) {
		fail(403, "SignatureDoesNotMatch", "Signature not yet current: %s is still later than %s", q.Get("X-Amz-Date"), now.UTC().Format("20060102T150405Z"))
		return
	}
	s.mu.RLock()
	c, ok := s.creds[parts[0]]
	s.mu.RUnlock()
	if !ok {
		fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	if q.Get("X-Amz-Security-Token") != c.token {
		fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	want, err := s.signature(r, q, c, parts[0], date)
	if err != nil {
		fail(400, "IncompleteSignature", "%v", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(q.Get("X-Amz-Signature"))) != 1 {
		fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	account := strings.SplitN(c.arn, ":", 6)
	userID := "AIDADRIFTDSIMULATOR"
	if len(account) == 6 && strings.HasPrefix(account[5], "assumed-role/") {
		seg := strings.Split(account[5], "/")
		userID = "AROADRIFTDSIMULATOR:" + seg[len(seg)-1]
	}
	acct := ""
	if len(account) == 6 {
		acct = account[4]
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
		esc(c.arn), esc(userID), esc(acct), requestID())
}

// signature recomputes the query signature over the headers the request
// says it signed, as they arrived.
func (s *Presigned) signature(r *http.Request, q url.Values, c credential, accessKey string, date time.Time) (string, error) {
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	hasHost := false
	for _, h := range signed {
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return "", fmt.Errorf("the host header must be signed")
	}
	unsigned := url.Values{}
	for k, v := range q {
		switch k {
		case "X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token":
		default:
			unsigned[k] = v
		}
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: "/", RawQuery: unsigned.Encode()}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	for _, h := range signed {
		if h == "host" {
			continue
		}
		v := r.Header.Values(h)
		if len(v) == 0 {
			return "", fmt.Errorf("signed header %s is missing", h)
		}
		req.Header[http.CanonicalHeaderKey(h)] = v
	}
	out, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: c.secret, SessionToken: c.token},
		req, emptySHA256, "sts", s.opts.Region, date)
	if err != nil {
		return "", err
	}
	pu, err := url.Parse(out)
	if err != nil {
		return "", err
	}
	return pu.Query().Get("X-Amz-Signature"), nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func writeError(w http.ResponseWriter, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		typ, esc(code), esc(msg), requestID())
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var reqSeq struct {
	sync.Mutex
	n int
}

func requestID() string {
	reqSeq.Lock()
	defer reqSeq.Unlock()
	reqSeq.n++
	return fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", reqSeq.n)
}
