package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoRunsScansAndDetectsInjectedDrift runs the demo for three scans
// with a drift injected after the first and checks the live summary.
func TestDemoRunsScansAndDetectsInjectedDrift(t *testing.T) {
	var out bytes.Buffer
	cmd := &demoCmd{Listen: "127.0.0.1:0", Interval: time.Second, Scans: 3, InjectEvery: 1, Seed: 3, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := cmd.run(ctx, &Globals{LogLevel: "error"}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if time.Since(start) > 50*time.Second {
		t.Fatal("demo did not stop after --scans")
	}
	s := out.String()
	if !strings.Contains(s, "demo stopped after 3 scans") {
		t.Fatalf("output:\n%s", s)
	}
	scans := regexp.MustCompile(`(?m)^── scan #\d+ at .*: 38 instances`).FindAllString(s, -1)
	if len(scans) != 3 {
		t.Errorf("%d scan summaries of 38 instances, want 3:\n%s", len(scans), s)
	}
	// The scenario's drifted, stale, offline and baseline-less instances;
	// Debian and Ubuntu findings name dpkg's architectures (the agent
	// reports x86_64, the SBOM baselines say amd64 and arm64).
	for _, want := range []string{"drifted:", "package nmap-ncat.x86_64 added", "service chronyd.service state changed: active → inactive",
		"package libssl3.amd64 version changed: ", "package curl.amd64 removed", "package nginx-extras.arm64 added",
		"file /etc/ssh/sshd_config sha256 changed", "stale: inventory", "unknown: agent ConnectionLost since",
		"no_baseline: no baseline for ami-0a1b2c3d4e5f60003"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The first scan's table: every undrifted member of the groups on SBOM
	// baselines (api: Debian amd64, edge: Ubuntu arm64) and on the arm64
	// AL2023 AMI (ingest) is in sync.
	first := s[strings.Index(s, "── scan #1"):]
	first = first[:strings.Index(first, "drifted:")]
	for _, row := range []string{`api\s+7\s+2\s+1\s+0\s+0\s+0`, `edge\s+2\s+1\s+0\s+0\s+0\s+0`, `ingest\s+3\s+1\s+0\s+0\s+0\s+0`,
		`\(standalone\)\s+2\s+0\s+0\s+0\s+1\s+0`} {
		if !regexp.MustCompile(`(?m)^\s+` + row + `\s*$`).MatchString(first) {
			t.Errorf("first scan's table lacks a row %s:\n%s", row, first)
		}
	}
	// A drift injected after scan 1 is reported as new in scan 2.
	inj := regexp.MustCompile(`⚡ injected drift: .* on (i-[0-9a-f]+) `).FindStringSubmatch(s)
	if inj == nil {
		t.Fatalf("no drift injected:\n%s", s)
	}
	after := s[strings.Index(s, inj[0]):]
	if !regexp.MustCompile(`(?m)^  ` + inj[1] + ` .*← NEW$`).MatchString(after) {
		t.Errorf("injected drift on %s not detected in the next scan:\n%s", inj[1], after)
	}
	drifted := regexp.MustCompile(`(?m)^\s+(\S+)\s+\d+\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\d+\s*$`).FindAllStringSubmatch(s, -1)
	if len(drifted) == 0 {
		t.Errorf("no ASG table rows")
	}
}
