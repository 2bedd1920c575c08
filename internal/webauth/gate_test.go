package webauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/crypto/bcrypt"

	simsts "github.com/driftd/driftd/awssim/sts"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/internal/webauth/awsauth"
)

const (
	opToken     = "operator-token-0123456789"
	viewerToken = "viewer-token-0123456789ab"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// pki is a CA with a server certificate for 127.0.0.1 and client
// certificates by common name.
type pki struct {
	dir     string
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	caFile  string
	crtFile string
	keyFile string
	pool    *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	must(t, err)
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = writeFile(t, p.dir, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	crt, key := p.issue(t, pkix.Name{CommonName: "driftd"}, x509.ExtKeyUsageServerAuth)
	p.crtFile, p.keyFile = writeFile(t, p.dir, "server.pem", crt), writeFile(t, p.dir, "server-key.pem", key)
	return p
}

var serial atomic.Int64

func (p *pki) issue(t *testing.T, subject pkix.Name, usage x509.ExtKeyUsage) (string, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(100 + serial.Add(1)), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &k.PublicKey, p.caKey)
	must(t, err)
	kb, _ := x509.MarshalECPrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func (p *pki) client(t *testing.T, cn string) *http.Client {
	t.Helper()
	tc := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if cn != "" {
		crt, key := p.issue(t, pkix.Name{CommonName: cn, Organization: []string{"ops"}}, x509.ExtKeyUsageClientAuth)
		c, err := tls.X509KeyPair([]byte(crt), []byte(key))
		must(t, err)
		tc.Certificates = []tls.Certificate{c}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

func hash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	must(t, err)
	return string(h)
}

// env is a gate in front of a handler that counts the requests it gets,
// over TLS (client certificates optional), with every identity source.
type env struct {
	url     string
	calls   atomic.Int64
	store   *ha.FileStore
	storeAt string
	pki     *pki
	stsURL  string
	awsCfg  aws.Config
}

const (
	awsOperator = "arn:aws:sts::123456789012:assumed-role/ops-admin/alice"
	awsViewer   = "arn:aws:iam::123456789012:user/grafana"
	awsNobody   = "arn:aws:iam::999999999999:user/mallory"
)

func newEnv(t *testing.T, reads string, lifecycle bool) *env {
	t.Helper()
	e := &env{pki: newPKI(t)}
	dir := t.TempDir()
	webFile := writeFile(t, dir, "web.yml", `tls_server_config:
  cert_file: `+e.pki.crtFile+`
  key_file: `+e.pki.keyFile+`
  client_auth_type: VerifyClientCertIfGiven
  client_ca_file: `+e.pki.caFile+`
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  alice: `+hash(t, "alice-pw")+`
  grafana: `+hash(t, "grafana-pw")+`
`)
	web, err := LoadWebConfig(webFile)
	must(t, err)
	// Simulated STS knowing three callers.
	svc := simsts.NewPresigned(simsts.PresignOptions{Region: "eu-west-1"})
	for i, arn := range []string{awsOperator, awsViewer, awsNobody} {
		svc.AddCredentials("AKIACALLER000000000"+string(rune('1'+i)), "secret", "", arn)
	}
	sts := httptest.NewServer(svc)
	t.Cleanup(sts.Close)
	e.stsURL = sts.URL
	v, err := awsauth.NewVerifier(awsauth.VerifierOptions{Region: "eu-west-1", ServerID: "driftd-test", Endpoint: sts.URL})
	must(t, err)
	a := config.HTTPAuth{
		Reads: reads,
		Tokens: []config.TokenAuth{
			{Name: "ops", File: writeFile(t, dir, "ops", opToken+"\n"), Role: "operator"},
			{Name: "grafana", File: writeFile(t, dir, "grafana", viewerToken), Role: "viewer"},
		},
		BasicAuthRoles: map[string]string{"alice": "operator"},
		ClientCerts:    []config.CertAuth{{CN: "alice", Role: "operator"}, {Subject: "CN=carol,O=ops", Role: "viewer"}},
		AWS: &config.AWSAuth{Region: "eu-west-1", ServerID: "driftd-test", Roles: []config.ARNRole{
			{ARN: "arn:aws:iam::123456789012:role/ops-*", Role: "operator"},
			{ARN: "arn:aws:iam::123456789012:user/*", Role: "viewer"},
		}},
	}
	au, err := NewAuthenticator(a, web, v)
	must(t, err)
	e.storeAt = filepath.Join(dir, "audit.json")
	e.store = ha.OpenFileStore(e.storeAt, ha.FileStoreOptions{})
	proxy, _ := config.ParseProxy("127.0.0.0/8")
	g := NewGate(Policy{Auth: au, TrustedProxies: []netip.Prefix{proxy}}, Options{Web: web, Lifecycle: lifecycle, Audit: NewAuditLog(e.store, "test", nil)})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: g.Wrap(inner), TLSConfig: web.TLS}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	e.url = "https://" + ln.Addr().String()
	e.awsCfg = aws.Config{Region: "eu-west-1"}
	return e
}

func (e *env) awsToken(t *testing.T, key int, serverID, endpoint string) string {
	t.Helper()
	cfg := e.awsCfg.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIACALLER000000000"+string(rune('0'+key)), "secret", "")
	if endpoint == "" {
		endpoint = e.stsURL
	}
	tok, err := awsauth.Token(context.Background(), cfg, serverID, func(o *sts.Options) { o.BaseEndpoint = aws.String(endpoint) })
	must(t, err)
	return tok
}

type req struct {
	method, path, body, ctype string
	header                    map[string]string
	cert                      string // client certificate CN ("" none)
}

func (e *env) do(t *testing.T, r req) (int, http.Header, string) {
	t.Helper()
	hr, err := http.NewRequest(r.method, e.url+r.path, strings.NewReader(r.body))
	must(t, err)
	if r.ctype != "-" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.pki.client(t, r.cert).Do(hr)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func basic(u, p string) map[string]string {
	r, _ := http.NewRequest("GET", "http://x", nil)
	r.SetBasicAuth(u, p)
	return map[string]string{"Authorization": r.Header.Get("Authorization")}
}

func awsHdr(tok string) map[string]string {
	return map[string]string{"Authorization": awsauth.Scheme + " " + tok}
}

func TestGateRolesAndRules(t *testing.T) {
	e := newEnv(t, "", false)
	approve := `{"instance_id":"i-0123456789abcdef0","by":"alice"}`
	cases := []struct {
		name     string
		r        req
		status   int
		reached  bool
		decision string // audit decision expected ("" : no record)
	}{
		{"probe open", req{method: "GET", path: "/-/healthy"}, 201, true, ""},
		{"read anonymous", req{method: "GET", path: "/metrics"}, 401, false, ""},
		{"read viewer token", req{method: "GET", path: "/metrics", header: bearer(viewerToken)}, 201, true, ""},
		{"read operator basic", req{method: "GET", path: "/api/v1/instances", header: basic("alice", "alice-pw")}, 201, true, ""},
		{"read unlisted basic user is viewer", req{method: "GET", path: "/metrics", header: basic("grafana", "grafana-pw")}, 201, true, ""},
		{"read cert without role", req{method: "GET", path: "/metrics", cert: "bob"}, 403, false, ""},
		{"post anonymous", req{method: "POST", path: "/api/v1/approvals", body: approve}, 401, false, DecisionUnauthenticated},
		{"post breaker anonymous", req{method: "POST", path: "/api/v1/remediation/breakers/reset", body: `{"scope":"fleet"}`}, 401, false, DecisionUnauthenticated},
		{"delete anonymous", req{method: "DELETE", path: "/api/v1/approvals/i-0123456789abcdef0"}, 401, false, DecisionUnauthenticated},
		{"post unknown token", req{method: "POST", path: "/api/v1/approvals", body: approve, header: bearer("guessed-token-000000000")}, 401, false, DecisionUnauthenticated},
		{"post viewer token", req{method: "POST", path: "/api/v1/approvals", body: approve, header: bearer(viewerToken)}, 403, false, DecisionForbidden},
		{"post operator token", req{method: "POST", path: "/api/v1/approvals", body: approve, header: bearer(opToken)}, 201, true, DecisionAllowed},
		{"post operator text/plain cross-origin", req{method: "POST", path: "/api/v1/approvals", body: approve, ctype: "text/plain", header: map[string]string{"Authorization": "Bearer " + opToken, "Origin": "https://evil.example"}}, 415, false, ""},
		{"post operator form", req{method: "POST", path: "/api/v1/approvals", body: "instance_id=i-1", ctype: "application/x-www-form-urlencoded", header: bearer(opToken)}, 415, false, ""},
		{"post operator no content type", req{method: "POST", path: "/api/v1/approvals", body: approve, ctype: "-", header: bearer(opToken)}, 415, false, ""},
		{"post operator json with charset", req{method: "POST", path: "/api/v1/approvals", body: approve, ctype: "application/json; charset=utf-8", header: bearer(opToken)}, 201, true, DecisionAllowed},
		{"post operator oversized", req{method: "POST", path: "/api/v1/approvals", body: `{"by":"` + strings.Repeat("x", MaxBody) + `"}`, header: bearer(opToken)}, 413, false, ""},
		{"post basic operator", req{method: "POST", path: "/api/v1/approvals", body: approve, header: basic("alice", "alice-pw")}, 201, true, DecisionAllowed},
		{"post basic wrong password", req{method: "POST", path: "/api/v1/approvals", body: approve, header: basic("alice", "nope")}, 401, false, DecisionUnauthenticated},
		{"post basic unknown user", req{method: "POST", path: "/api/v1/approvals", body: approve, header: basic("eve", "alice-pw")}, 401, false, DecisionUnauthenticated},
		{"post basic viewer", req{method: "POST", path: "/api/v1/approvals", body: approve, header: basic("grafana", "grafana-pw")}, 403, false, DecisionForbidden},
		{"post cert operator", req{method: "POST", path: "/api/v1/approvals", body: approve, cert: "alice"}, 201, true, DecisionAllowed},
		{"post cert subject viewer", req{method: "POST", path: "/api/v1/approvals", body: approve, cert: "carol"}, 403, false, DecisionForbidden},
		{"post aws operator role", req{method: "POST", path: "/api/v1/approvals", body: approve, header: awsHdr(e.awsToken(t, 1, "driftd-test", ""))}, 201, true, DecisionAllowed},
		{"post aws viewer", req{method: "POST", path: "/api/v1/approvals", body: approve, header: awsHdr(e.awsToken(t, 2, "driftd-test", ""))}, 403, false, DecisionForbidden},
		{"post aws unmapped account", req{method: "POST", path: "/api/v1/approvals", body: approve, header: awsHdr(e.awsToken(t, 3, "driftd-test", ""))}, 403, false, DecisionForbidden},
		{"post aws other server", req{method: "POST", path: "/api/v1/approvals", body: approve, header: awsHdr(e.awsToken(t, 1, "driftd-other", ""))}, 401, false, DecisionUnauthenticated},
		{"post aws foreign STS host", req{method: "POST", path: "/api/v1/approvals", body: approve, header: awsHdr(e.awsToken(t, 1, "driftd-test", "http://169.254.169.254"))}, 401, false, DecisionUnauthenticated},
		{"post aws via header", req{method: "POST", path: "/api/v1/approvals", body: approve, header: map[string]string{HeaderAWS: e.awsToken(t, 1, "driftd-test", "")}}, 201, true, DecisionAllowed},
		{"reload without lifecycle", req{method: "POST", path: "/-/reload", header: bearer(opToken)}, 403, false, ""},
		{"unsupported scheme", req{method: "POST", path: "/api/v1/approvals", body: approve, header: map[string]string{"Authorization": "Digest x"}}, 401, false, DecisionUnauthenticated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.calls.Load()
			n0 := auditCount(t, e.store)
			status, hdr, body := e.do(t, c.r)
			if status != c.status {
				t.Fatalf("status %d (%s), want %d", status, body, c.status)
			}
			if reached := e.calls.Load() > before; reached != c.reached {
				t.Errorf("handler reached = %v, want %v", reached, c.reached)
			}
			if status == 401 && len(hdr.Values("WWW-Authenticate")) == 0 {
				t.Error("401 without WWW-Authenticate")
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("web config header not set")
			}
			for _, secret := range []string{opToken, viewerToken, "alice-pw", "grafana-pw", "X-Amz-Signature"} {
				if strings.Contains(body, secret) && c.reached == false {
					t.Errorf("answer echoes a secret: %s", body)
				}
			}
			recs := auditRecords(t, e.store, 1)
			if c.decision == "" {
				if auditCount(t, e.store) != n0 {
					t.Errorf("audit record written: %+v", recs)
				}
				return
			}
			if auditCount(t, e.store) != n0+1 || recs[0].Decision != c.decision || recs[0].Status != c.status || recs[0].Route != c.r.method+" "+c.r.path {
				t.Fatalf("audit record %+v, want decision %s status %d", recs, c.decision, c.status)
			}
			if c.decision == DecisionAllowed && (recs[0].Body["instance_id"] != "i-0123456789abcdef0" || recs[0].Role != "operator" || recs[0].Identity == "") {
				t.Errorf("allowed record %+v", recs[0])
			}
		})
	}
}

func auditCount(t *testing.T, s *ha.FileStore) int {
	t.Helper()
	l, _, err := s.AuditList(context.Background(), "", ha.MaxAuditList)
	must(t, err)
	return len(l)
}

func auditRecords(t *testing.T, s ha.AuditLister, n int) []Record {
	t.Helper()
	l, _, err := s.AuditList(context.Background(), "", n)
	must(t, err)
	var out []Record
	for _, e := range l {
		var r Record
		must(t, json.Unmarshal(e.Data, &r))
		out = append(out, r)
	}
	return out
}

// The audit log survives a restart (the store reopened from its file),
// names the forwarded client only behind a trusted proxy, and is served
// newest first with paging.
func TestAuditDurableAndListed(t *testing.T) {
	e := newEnv(t, "open", true)
	for i := range 5 {
		status, _, _ := e.do(t, req{method: "POST", path: "/-/reload", header: map[string]string{"Authorization": "Bearer " + opToken, "X-Forwarded-For": "203.0.113.9, 127.0.0.2"}})
		if status != 201 {
			t.Fatalf("reload %d: %d", i, status)
		}
	}
	reopened := ha.OpenFileStore(e.storeAt, ha.FileStoreOptions{})
	recs := auditRecords(t, reopened, 10)
	if len(recs) != 5 || recs[0].Client != "203.0.113.9" || recs[0].Identity != "ops" || recs[0].Method != MethodToken || recs[0].Remote != "127.0.0.1" {
		t.Fatalf("records after reopening: %+v", recs)
	}
	srv := httptest.NewServer(AuditHandler(reopened))
	defer srv.Close()
	var page struct {
		Records []Record `json:"records"`
		Next    string   `json:"next"`
	}
	resp, err := http.Get(srv.URL + "?limit=3")
	must(t, err)
	must(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	if len(page.Records) != 3 || page.Next == "" || !page.Records[0].Time.After(page.Records[2].Time) && !page.Records[0].Time.Equal(page.Records[2].Time) {
		t.Fatalf("first page %+v", page)
	}
	resp, err = http.Get(srv.URL + "?limit=3&before=" + page.Next)
	must(t, err)
	page.Records, page.Next = nil, ""
	must(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	if len(page.Records) != 2 || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?limit=100000"} {
		resp, err := http.Get(srv.URL + bad)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
}

// Without any identity configured, reads are open and mutations are
// refused: they can never be open.
func TestNoAuthConfiguredMutationsRefused(t *testing.T) {
	au, err := NewAuthenticator(config.HTTPAuth{}, nil, nil)
	must(t, err)
	var calls atomic.Int64
	g := NewGate(Policy{Auth: au}, Options{Lifecycle: true})
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 1 {
		t.Fatalf("open read: %d", resp.StatusCode)
	}
	for _, p := range []string{"/api/v1/approvals", "/api/v1/remediation/breakers/reset", "/-/reload"} {
		resp, err := http.Post(srv.URL+p, "application/json", bytes.NewBufferString(`{}`))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("POST %s without auth configured: %d, want 401", p, resp.StatusCode)
		}
	}
	if calls.Load() != 1 {
		t.Error("a mutation reached the handler")
	}
}

// A flood of refused requests is recorded at a bounded rate; the count
// of those not recorded is carried by the next record.
func TestAuditRefusalsBounded(t *testing.T) {
	s := ha.OpenFileStore(filepath.Join(t.TempDir(), "a.json"), ha.FileStoreOptions{})
	l := NewAuditLog(s, "t", nil)
	start := time.Now()
	l.now = func() time.Time { return start } // no refill during the flood
	for range RefusedPerMinute + 40 {
		l.Write(context.Background(), Record{Time: time.Now(), Decision: DecisionUnauthenticated, Route: "POST /x"})
	}
	if n := auditCount(t, s); n != RefusedPerMinute {
		t.Fatalf("%d refusals recorded, want %d", n, RefusedPerMinute)
	}
	l.Write(context.Background(), Record{Time: time.Now(), Decision: DecisionAllowed, Route: "POST /x"})
	recs := auditRecords(t, s, 1)
	if recs[0].Decision != DecisionAllowed || recs[0].Suppressed != 40 {
		t.Fatalf("record after the flood %+v, want 40 suppressed", recs[0])
	}
}
