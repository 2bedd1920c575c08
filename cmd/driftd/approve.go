package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/remediation"
)

type approveCmd struct {
	Instance     string        `arg:"" optional:"" help:"Instance id to approve for replacement (groups in mode approve)."`
	TTL          time.Duration `help:"How long the approval stays valid (default and maximum: remediation.approvals.ttl)." name:"ttl"`
	Server       string        `help:"URL of the running daemon." default:"http://127.0.0.1:9464" env:"DRIFTD_SERVER"`
	By           string        `help:"Who approves (recorded with the approval)." env:"USER"`
	ResetBreaker string        `help:"Reset the circuit breaker of this Auto Scaling group (or \"fleet\") instead of approving." name:"reset-breaker" placeholder:"ASG"`
	Revoke       bool          `help:"Revoke the instance's approval instead of granting it."`
	List         bool          `help:"List unexpired approvals."`
	Timeout      time.Duration `help:"HTTP timeout." default:"10s"`
	Auth         clientAuth    `embed:""` // approveauth.go

	out    io.Writer
	client *http.Client
}

func init() {
	register("approve", "Approve a replacement, list or revoke approvals, or reset a circuit breaker on the running daemon.", &approveCmd{})
}

func (c *approveCmd) Run() error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	client := c.client
	if client == nil {
		tr, err := c.Auth.transport(context.Background())
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		client = &http.Client{Timeout: c.Timeout, Transport: tr}
	}
	base, err := url.Parse(strings.TrimRight(c.Server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--server %q is not an http(s) URL", c.Server)}
	}
	modes := 0
	for _, b := range []bool{c.ResetBreaker != "", c.List, c.Revoke} {
		if b {
			modes++
		}
	}
	if modes > 1 {
		return &ExitError{Code: 2, Err: errors.New("use only one of --reset-breaker, --list and --revoke")}
	}
	ctx := context.Background()
	switch {
	case c.ResetBreaker != "":
		var resp map[string]string
		if err := call(ctx, client, http.MethodPost, base.String()+"/api/v1/remediation/breakers/reset", remediation.BreakerResetRequest{Scope: c.ResetBreaker}, &resp); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(out, "breaker %s reset\n", c.ResetBreaker)
		return nil
	case c.List:
		var list []remediation.Approval
		if err := call(ctx, client, http.MethodGet, base.String()+"/api/v1/approvals", nil, &list); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "INSTANCE\tBY\tEXPIRES")
		for _, a := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.InstanceID, a.By, a.Expires.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	if c.Instance == "" {
		return &ExitError{Code: 2, Err: errors.New("an instance id is required (or --list / --reset-breaker)")}
	}
	if c.Revoke {
		if err := call(ctx, client, http.MethodDelete, base.String()+"/api/v1/approvals/"+url.PathEscape(c.Instance), nil, nil); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(out, "approval for %s revoked\n", c.Instance)
		return nil
	}
	req := remediation.ApprovalRequest{InstanceID: c.Instance, By: c.By}
	if c.TTL > 0 {
		req.TTL = c.TTL.String()
	}
	var a remediation.Approval
	if err := call(ctx, client, http.MethodPost, base.String()+"/api/v1/approvals", req, &a); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	fmt.Fprintf(out, "approved %s until %s\n", a.InstanceID, a.Expires.UTC().Format(time.RFC3339))
	return nil
}

// call sends JSON and decodes a JSON answer; non-2xx answers become errors
// carrying the daemon's message.
func call(ctx context.Context, client *http.Client, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil || method != http.MethodGet {
		// Mutating routes accept only JSON, even without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("daemon unreachable: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("daemon answered %d: %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("daemon answered %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the daemon's answer: %w", err)
		}
	}
	return nil
}
