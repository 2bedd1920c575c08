package config

import (
	"io/fs"
	"strings"
	"testing"
)

func TestHTTPAuthValidate(t *testing.T) {
	ops := func() HTTPAuth {
		return HTTPAuth{Tokens: []TokenAuth{{Name: "ci", File: "/etc/driftd/ci.token", Role: "operator"}}}
	}
	for _, tc := range []struct {
		name string
		edit func(*HTTPAuth)
		want []string
	}{
		{"none", func(a *HTTPAuth) { *a = HTTPAuth{} }, nil},
		{"token", func(*HTTPAuth) {}, nil},
		{"reads", func(a *HTTPAuth) { a.Reads = "anyone" }, []string{`http.auth.reads: "anyone" is not one of open, viewer`}},
		{"token fields", func(a *HTTPAuth) {
			a.Tokens = append(a.Tokens, TokenAuth{Name: "ci", Role: "admin"}, TokenAuth{Name: "a b", File: "x", Role: "viewer"})
		}, []string{
			`http.auth.tokens[1].name: "ci" is used twice`,
			`http.auth.tokens[1].file: required (a file holding the token)`,
			`http.auth.tokens[1].role: "admin" is not one of viewer, operator`,
			`http.auth.tokens[2].name: "a b" must be 1-64 letters, digits, '.', '_' or '-'`,
		}},
		{"basic roles", func(a *HTTPAuth) { a.BasicAuthRoles = map[string]string{"alice": "root"} },
			[]string{`http.auth.basic_auth_roles.alice: "root" is not one of viewer, operator`}},
		{"certs", func(a *HTTPAuth) {
			a.ClientCerts = []CertAuth{{Role: "viewer"}, {CN: "a", Subject: "CN=a", Role: "operator"}}
		}, []string{"http.auth.client_certs[0]: set exactly one of cn, subject", "http.auth.client_certs[1]: set exactly one of cn, subject"}},
		{"aws", func(a *HTTPAuth) {
			a.AWS = &AWSAuth{Region: "mars", STSEndpoint: "ftp://x", Roles: []ARNRole{{ARN: "role/x", Role: "operator"}, {ARN: "arn:aws:iam::1:role/[", Role: "viewer"}}}
		}, []string{
			`http.auth.aws.server_id: "" must be 1-128 letters, digits or ._:/- (required: clients sign it)`,
			`http.auth.aws.region: "mars" is not an AWS region name`,
			`http.auth.aws.sts_endpoint: "ftp://x" is not an http(s) URL`,
			`http.auth.aws.roles[0].arn: "role/x" is not an ARN pattern`,
			`http.auth.aws.roles[1].arn: "arn:aws:iam::1:role/[": syntax error in pattern`,
		}},
		{"aws without roles", func(a *HTTPAuth) { a.AWS = &AWSAuth{ServerID: "prod"} }, []string{"http.auth.aws.roles: at least one ARN pattern is required"}},
		{"proxies", func(a *HTTPAuth) { a.TrustedProxies = []string{"10.0.0.0/8", "::1", "10.0.0.0/33", "proxy"} }, []string{
			`http.auth.trusted_proxies[2]: "10.0.0.0/33" is not an IP address or CIDR prefix`,
			`http.auth.trusted_proxies[3]: "proxy" is not an IP address or CIDR prefix`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ops()
			tc.edit(&a)
			checkErrs(t, a.Validate(), tc.want)
		})
	}
}

func TestHTTPAuthReadsDefault(t *testing.T) {
	if !(HTTPAuth{}).ReadsOpen() {
		t.Error("no identities: reads should be open")
	}
	withToken := HTTPAuth{Tokens: []TokenAuth{{Name: "x", File: "f", Role: "viewer"}}}
	if withToken.ReadsOpen() {
		t.Error("identities configured: reads should need a viewer by default")
	}
	withToken.Reads = "open"
	if !withToken.ReadsOpen() {
		t.Error("reads: open ignored")
	}
}

// Keys are checked with their YAML path and line like every section, and
// the default listen address is loopback.
func TestHTTPAuthParse(t *testing.T) {
	c, err := Parse([]byte("baselines: [{dir: {path: /b}}]\nhttp:\n  auth:\n    tokens:\n      - {name: ci, file: /t, role: operator}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != "127.0.0.1:9464" || len(c.HTTP.Auth.Tokens) != 1 {
		t.Errorf("parsed %+v", c.HTTP)
	}
	_, err = Parse([]byte("baselines: [{dir: {path: /b}}]\nhttp:\n  auth:\n    tokens:\n      - {name: ci, file: /t, role: operator, secret: x}\n    aws: {server_id: s, roles: [{arn: 'arn:aws:iam::1:role/x', role: boss}]}\n"))
	if err == nil {
		t.Fatal("bad http.auth accepted")
	}
	for _, want := range []string{"line 5", "http.auth.tokens[0].secret", `http.auth.aws.roles[0].role: "boss" is not one of viewer, operator`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestHTTPAuthCheckReadsTokenFiles(t *testing.T) {
	c := Default()
	c.HTTP.Auth.Tokens = []TokenAuth{{Name: "a", File: "/missing", Role: "operator"}, {Name: "b", File: "/short", Role: "viewer"}, {Name: "c", File: "/good", Role: "viewer"}}
	files := map[string]string{"/short": "abc\n", "/good": "0123456789abcdef0123"}
	env := Env{ReadFile: func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}, ResolveTCP: func(string) error { return nil }}
	var got []string
	for _, e := range c.Check(env) {
		if strings.HasPrefix(e.Error(), "http.auth") {
			got = append(got, e.Error())
		}
	}
	want := []string{"http.auth.tokens[0].file: /missing: file does not exist", "http.auth.tokens[1].file: /short holds fewer than 16 characters (use a long random token)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range c.Check(env) {
		if strings.Contains(e.Error(), "abc") {
			t.Errorf("token content echoed: %v", e)
		}
	}
}
