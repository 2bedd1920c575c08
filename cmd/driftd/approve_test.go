package main

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

func TestApproveCommand(t *testing.T) {
	eng := remediation.NewEngine(remediation.Options{Config: config.Remediation{}, Executor: &remediation.DryRun{}})
	srv := httptest.NewServer(eng.Handler())
	defer srv.Close()
	run := func(c approveCmd) (string, error) {
		var out bytes.Buffer
		c.out, c.Server, c.Timeout = &out, srv.URL, 5*time.Second
		err := c.Run()
		return out.String(), err
	}
	out, err := run(approveCmd{Instance: "i-0123456789abcdef0", TTL: time.Hour, By: "bob"})
	if err != nil || !strings.HasPrefix(out, "approved i-0123456789abcdef0 until ") {
		t.Fatalf("approve: %q %v", out, err)
	}
	if a := eng.Approvals(); len(a) != 1 || a[0].By != "bob" || a[0].Expires.Sub(a[0].Created) != time.Hour {
		t.Errorf("daemon state: %+v", a)
	}
	out, err = run(approveCmd{List: true})
	if err != nil || !strings.Contains(out, "i-0123456789abcdef0  bob") {
		t.Errorf("list: %q %v", out, err)
	}
	out, err = run(approveCmd{Instance: "not-an-instance"})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !strings.Contains(err.Error(), `daemon answered 400: "not-an-instance" is not an EC2 instance id`) {
		t.Errorf("bad id: %q %v", out, err)
	}
	if out, err = run(approveCmd{Instance: "i-0123456789abcdef0", Revoke: true}); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %q %v", out, err)
	}
	if out, err = run(approveCmd{ResetBreaker: "fleet"}); err != nil || out != "breaker fleet reset\n" {
		t.Errorf("reset: %q %v", out, err)
	}
	if out, err = run(approveCmd{ResetBreaker: "nosuch"}); !errors.As(err, &ee) || !strings.Contains(err.Error(), "daemon answered 404: no breaker \"nosuch\"") {
		t.Errorf("reset of an unknown breaker: %q %v", out, err)
	}
	if _, err = run(approveCmd{}); err == nil {
		t.Error("no instance accepted")
	}
	if _, err = run(approveCmd{List: true, ResetBreaker: "x"}); err == nil {
		t.Error("conflicting flags accepted")
	}
	c := approveCmd{Instance: "i-0123456789abcdef0", Server: "ftp://x", Timeout: time.Second}
	if err := c.Run(); err == nil {
		t.Error("bad server URL accepted")
	}
}
