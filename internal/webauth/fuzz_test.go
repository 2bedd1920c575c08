package webauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/webauth/awsauth"
)

// FuzzAuthenticate feeds arbitrary Authorization and X-Driftd-AWS-Auth
// headers to the authenticator: it never panics, and nothing but the
// configured token yields a role. The STS endpoint is unroutable, so a
// token that passes every shape check still fails closed.
func FuzzAuthenticate(f *testing.F) {
	dir := f.TempDir()
	tokFile := writeFile(f, dir, "tok", opToken)
	v, err := awsauth.NewVerifier(awsauth.VerifierOptions{Region: "eu-west-1", ServerID: "s", Endpoint: "http://127.0.0.1:1",
		Client: &http.Client{Timeout: 50 * time.Millisecond}})
	must(f, err)
	au, err := NewAuthenticator(config.HTTPAuth{
		Tokens: []config.TokenAuth{{Name: "ops", File: tokFile, Role: "operator"}},
		AWS:    &config.AWSAuth{Region: "eu-west-1", ServerID: "s", Roles: []config.ARNRole{{ARN: "arn:aws:iam::*:*", Role: "operator"}}},
	}, &WebConfig{Users: map[string]string{"alice": fakeHash}}, v)
	must(f, err)
	for _, s := range []string{"Bearer " + opToken, "Bearer", "Basic YWxpY2U6eA==", "Basic !!!", "AWS4-presigned aHR0cDovLzEyNy4wLjAuMToxLz9BY3Rpb249R2V0Q2FsbGVySWRlbnRpdHk",
		"bearer  " + opToken + " ", "Digest x", "", strings.Repeat("A", 20000)} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, authz, awsHeader string) {
		r, _ := http.NewRequest(http.MethodPost, "http://driftd/api/v1/approvals", nil)
		r.Header.Set("Authorization", authz)
		if awsHeader != "" {
			r.Header.Set(HeaderAWS, awsHeader)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		id, err := au.Authenticate(ctx, r)
		if err != nil {
			if strings.Contains(err.Error(), opToken) {
				t.Fatalf("error echoes the token: %v", err)
			}
			return
		}
		if id.Role != RoleNone && !(id.Method == MethodToken && id.Name == "ops") {
			t.Fatalf("identity %+v from %q / %q", id, authz, awsHeader)
		}
	})
}

// FuzzDecodeToken: whatever a client sends, an accepted token always
// points at the configured STS endpoint with GetCallerIdentity.
func FuzzDecodeToken(f *testing.F) {
	v, err := awsauth.NewVerifier(awsauth.VerifierOptions{Region: "eu-west-1", ServerID: "s", Endpoint: "https://sts.eu-west-1.amazonaws.com"})
	must(f, err)
	for _, s := range []string{"", "aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20v", "%%%", "aHR0cDovL2V2aWwv"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := v.DecodeToken(tok)
		if err != nil {
			return
		}
		if u.Host != "sts.eu-west-1.amazonaws.com" || u.Scheme != "https" || u.Query().Get("Action") != "GetCallerIdentity" {
			t.Fatalf("accepted %q → %s", tok, u)
		}
	})
}
