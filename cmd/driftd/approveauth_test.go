package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	simsts "github.com/driftd/driftd/awssim/sts"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/webauth"
	"github.com/driftd/driftd/internal/webauth/awsauth"
	"github.com/driftd/driftd/remediation"
)

// TestApproveAuthenticates runs `driftd approve` against the remediation
// API behind the daemon's gate, with each way of authenticating.
func TestApproveAuthenticates(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "ops.token")
	if err := os.WriteFile(tokFile, []byte("ops-token-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	viewerFile := filepath.Join(dir, "viewer.token")
	if err := os.WriteFile(viewerFile, []byte("viewer-token-0123456789ab"), 0o600); err != nil {
		t.Fatal(err)
	}
	sts := simsts.NewPresigned(simsts.PresignOptions{Region: "us-east-1"})
	sts.AddCredentials("AKIAOPERATOR0000001", "opsecret", "", "arn:aws:sts::123456789012:assumed-role/ops/alice")
	stsSrv := httptest.NewServer(sts)
	defer stsSrv.Close()
	v, err := awsauth.NewVerifier(awsauth.VerifierOptions{Region: "us-east-1", ServerID: "prod", Endpoint: stsSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw-alice"), bcrypt.MinCost)
	au, err := webauth.NewAuthenticator(config.HTTPAuth{
		Tokens:         []config.TokenAuth{{Name: "ops", File: tokFile, Role: "operator"}, {Name: "grafana", File: viewerFile, Role: "viewer"}},
		BasicAuthRoles: map[string]string{"alice": "operator"},
		AWS:            &config.AWSAuth{ServerID: "prod", Roles: []config.ARNRole{{ARN: "arn:aws:iam::123456789012:role/ops", Role: "operator"}}},
	}, &webauth.WebConfig{Users: map[string]string{"alice": string(h)}}, v)
	if err != nil {
		t.Fatal(err)
	}
	eng := remediation.NewEngine(remediation.Options{Config: config.Remediation{}, Executor: &remediation.DryRun{}})
	srv := httptest.NewServer(webauth.NewGate(webauth.Policy{Auth: au}, webauth.Options{}).Wrap(eng.Handler()))
	defer srv.Close()
	run := func(c approveCmd) error {
		var out bytes.Buffer
		c.out, c.Server, c.Timeout, c.Instance = &out, srv.URL, 5*time.Second, "i-0123456789abcdef0"
		return c.Run()
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR0000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "opsecret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	for _, c := range []struct {
		name  string
		cmd   approveCmd
		user  string
		pass  string
		error string
	}{
		{name: "anonymous", error: "daemon answered 401: authentication required"},
		{name: "operator token", cmd: approveCmd{Auth: clientAuth{TokenFile: tokFile}}},
		{name: "viewer token", cmd: approveCmd{Auth: clientAuth{TokenFile: viewerFile}}, error: "daemon answered 403: the operator role is required"},
		{name: "basic", user: "alice", pass: "pw-alice"},
		{name: "basic wrong password", user: "alice", pass: "nope", error: "daemon answered 401: authentication failed: basic: wrong user or password"},
		{name: "aws", cmd: approveCmd{Auth: clientAuth{AWSAuth: true, AWSServerID: "prod"}}},
		{name: "aws other server", cmd: approveCmd{Auth: clientAuth{AWSAuth: true, AWSServerID: "staging"}}, error: "SignatureDoesNotMatch"},
		{name: "aws without server id", cmd: approveCmd{Auth: clientAuth{AWSAuth: true}}, error: "--aws-auth needs --aws-auth.server-id"},
		{name: "two methods", cmd: approveCmd{Auth: clientAuth{AWSAuth: true, TokenFile: tokFile}}, error: "use only one of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("DRIFTD_WEB_USER", c.user)
			t.Setenv("DRIFTD_WEB_PASSWORD", c.pass)
			err := run(c.cmd)
			if c.error == "" && err != nil || c.error != "" && (err == nil || !strings.Contains(err.Error(), c.error)) {
				t.Fatalf("err = %v, want %q", err, c.error)
			}
			if err != nil && strings.Contains(err.Error(), "ops-token-0123456789abcdef") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
	if a := eng.Approvals(); len(a) != 1 {
		t.Errorf("approvals %+v", a)
	}
}
