// Package motoenv gives tests a moto server, the independent AWS emulator
// driftd's conformance suite checks awssim against, and an account of their
// own on it.
//
// moto keeps its state per account: requests signed with credentials that
// moto's STS issued for a role in account A are answered from A's state.
// Tests that share one moto (CI starts one for the whole run, and test
// packages run in parallel) therefore isolate themselves by assuming a role
// in a fresh account instead of resetting the server, which would wipe the
// state of every other test running at that moment.
package motoenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultAccount is the account moto answers for credentials it did not issue.
const DefaultAccount = "123456789012"

// URL returns the base URL of a running moto: DRIFTD_MOTO_URL when set, else
// a moto server started for this test on a free loopback port (found as
// moto_server on PATH, under pyenv, or as python3 -m moto.server). Without
// moto the test is skipped with a visible message, or fails when CI is set.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("DRIFTD_MOTO_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	cmd := Command()
	if cmd == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("moto is required in CI: DRIFTD_MOTO_URL is unset and no moto_server or python3 -m moto.server was found")
		}
		t.Skip("SKIPPED: moto not available (set DRIFTD_MOTO_URL or install moto); conformance against moto not checked")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	c := exec.Command(cmd[0], append(cmd[1:], "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	if err := c.Start(); err != nil {
		t.Fatalf("starting moto (%s): %v", strings.Join(cmd, " "), err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	u := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second) // a loaded 2-core machine needs a while
	for {
		resp, err := http.Get(u + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not start on %s: %v", u, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Command returns the command line that starts a moto server, or nil.
func Command() []string {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}
	}
	if m, _ := filepath.Glob("/root/.pyenv/versions/*/bin/moto_server"); len(m) > 0 {
		return []string{m[0]}
	}
	for _, py := range []string{"python3", "/root/.pyenv/shims/python3"} {
		if p, err := exec.LookPath(py); err == nil && exec.Command(p, "-c", "import moto.server").Run() == nil {
			return []string{p, "-m", "moto.server"}
		}
	}
	return nil
}

// Account returns an SDK configuration for a fresh, empty moto account in
// region: credentials from sts:AssumeRole into a role of a random account,
// which moto binds to that account's state. The account id is returned too.
func Account(t testing.TB, ctx context.Context, url, region string) (aws.Config, string) {
	t.Helper()
	base, err := config.LoadDefaultConfig(ctx, config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDMOTOTEST", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(899_999_999_999))
	if err != nil {
		t.Fatal(err)
	}
	account := strconv.FormatInt(100_000_000_000+n.Int64(), 10)
	stsc := sts.NewFromConfig(base, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
	out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(fmt.Sprintf("arn:aws:iam::%s:role/driftd-conformance", account)),
		RoleSessionName: aws.String("driftd-conformance"),
	})
	if err != nil {
		t.Fatalf("moto sts:AssumeRole into a fresh account: %v", err)
	}
	c := out.Credentials
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	return cfg, account
}
