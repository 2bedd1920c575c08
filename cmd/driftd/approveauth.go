package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/driftd/driftd/internal/webauth/awsauth"
)

// clientAuth are the ways `driftd approve` proves who it is to the daemon
// (docs/security.md). At most one of token, basic auth and AWS is sent;
// a client certificate may come with any of them.
type clientAuth struct {
	TokenFile   string `name:"web.token-file" help:"File holding a bearer token (http.auth.tokens)." type:"path" env:"DRIFTD_TOKEN_FILE" placeholder:"FILE"`
	CertFile    string `name:"web.cert-file" help:"Client certificate (PEM) for TLS client authentication." type:"path" placeholder:"FILE"`
	KeyFile     string `name:"web.key-file" help:"Key of --web.cert-file (PEM)." type:"path" placeholder:"FILE"`
	CAFile      string `name:"web.ca-file" help:"CA certificates (PEM) that sign the daemon's certificate (default: the system's)." type:"path" placeholder:"FILE"`
	AWSAuth     bool   `name:"aws-auth" help:"Prove your AWS identity: presign sts:GetCallerIdentity with the SDK's default credential chain (http.auth.aws)."`
	AWSServerID string `name:"aws-auth.server-id" help:"The daemon's http.auth.aws.server_id." env:"DRIFTD_AWS_AUTH_SERVER_ID" placeholder:"ID"`
	AWSRegion   string `name:"aws-auth.region" help:"STS region to presign for (the daemon's http.auth.aws.region; default: the SDK's region)." placeholder:"REGION"`
}

// Basic-auth credentials come from the environment only, never from flags
// (which other users can read in the process list).
const (
	envUser     = "DRIFTD_WEB_USER"
	envPassword = "DRIFTD_WEB_PASSWORD"
)

// transport returns the HTTP transport that authenticates every request.
func (a clientAuth) transport(ctx context.Context) (http.RoundTripper, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if a.CertFile != "" || a.KeyFile != "" || a.CAFile != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if (a.CertFile == "") != (a.KeyFile == "") {
			return nil, errors.New("--web.cert-file and --web.key-file go together")
		}
		if a.CertFile != "" {
			c, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			t.Certificates = []tls.Certificate{c}
		}
		if a.CAFile != "" {
			pem, err := os.ReadFile(a.CAFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--web.ca-file %s holds no PEM certificate", a.CAFile)
			}
			t.RootCAs = pool
		}
		base.TLSClientConfig = t
	}
	header, err := a.authorization(ctx)
	if err != nil {
		return nil, err
	}
	return authTransport{base: base, header: header}, nil
}

// authorization returns the Authorization header value ("" : none).
func (a clientAuth) authorization(ctx context.Context) (string, error) {
	user := os.Getenv(envUser)
	n := 0
	for _, b := range []bool{a.TokenFile != "", user != "", a.AWSAuth} {
		if b {
			n++
		}
	}
	if n > 1 {
		return "", fmt.Errorf("use only one of --web.token-file, %s/%s and --aws-auth", envUser, envPassword)
	}
	switch {
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return "", err
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--web.token-file %s is empty", a.TokenFile)
		}
		return "Bearer " + tok, nil
	case user != "":
		r, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		r.SetBasicAuth(user, os.Getenv(envPassword))
		return r.Header.Get("Authorization"), nil
	case a.AWSAuth:
		if a.AWSServerID == "" {
			return "", errors.New("--aws-auth needs --aws-auth.server-id (the daemon's http.auth.aws.server_id)")
		}
		var opts []func(*awsconfig.LoadOptions) error
		if a.AWSRegion != "" {
			opts = append(opts, awsconfig.WithRegion(a.AWSRegion))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return "", fmt.Errorf("AWS credentials: %w", err)
		}
		tok, err := awsauth.Token(ctx, cfg, a.AWSServerID)
		if err != nil {
			return "", err
		}
		return awsauth.Scheme + " " + tok, nil
	}
	return "", nil
}

type authTransport struct {
	base   http.RoundTripper
	header string
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.header == "" {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", t.header)
	return t.base.RoundTrip(r)
}
