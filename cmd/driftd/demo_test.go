package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
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
	scans := regexp.MustCompile(`(?m)^── scan #\d+ at .*: 42 instances`).FindAllString(s, -1)
	if len(scans) != 3 {
		t.Errorf("%d scan summaries of 42 instances, want 3:\n%s", len(scans), s)
	}
	// The scenario's drifted, stale, offline and baseline-less instances;
	// Debian and Ubuntu findings name dpkg's architectures (the agent
	// reports x86_64, the SBOM baselines say amd64 and arm64).
	for _, want := range []string{"drifted:", "package nmap-ncat.x86_64 added", "service chronyd.service state changed: active → inactive",
		"package libssl3.amd64 version changed: ", "package curl.amd64 removed", "package nginx-extras.arm64 added",
		"file /etc/ssh/sshd_config sha256 changed", "stale: inventory", "unknown: agent ConnectionLost since",
		"no_baseline: no baseline for ami-0a1b2c3d4e5f60003",
		// the Windows group: a KB added, an application upgraded, a service disabled
		"update KB5035857 added: absent → installed", "package Contoso Line-of-Business Agent.x86_64 version changed: 10.0.19041.1 → 10.0.19041.2",
		"service W3SVC start_type changed: Automatic → Disabled"} {
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
		`iis\s+1\s+3\s+0\s+0\s+0\s+0`, `\(standalone\)\s+2\s+0\s+0\s+0\s+1\s+0`} {
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

// The demo's injector changes a Windows instance the Windows way: an
// application, a KB or a service, each of which the simulator accepts.
func TestDemoInjectsWindowsDrift(t *testing.T) {
	sim := awssim.New(awssim.Options{})
	sc := awssim.DemoScenario()
	if err := sim.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	formats, sbom, _, err := demoBaselines(sim, sc)
	if err != nil {
		t.Fatal(err)
	}
	iis := sim.GroupMembers("iis")
	res := &scan.Result{Instances: []scan.InstanceResult{{Report: &drift.Report{InstanceID: iis[0], AMI: "ami-0a1b2c3d4e5f60007", ASG: "iis", Verdict: drift.VerdictInSync}}}}
	seen := map[string]bool{}
	for seed := uint64(0); seed < 30; seed++ {
		var out bytes.Buffer
		p := &demoPrinter{out: &out, sim: sim, formats: formats, sbom: sbom, rng: rand.New(rand.NewPCG(seed, 42))}
		p.inject(&out, res)
		line := out.String()
		if !strings.HasPrefix(line, "⚡ injected drift: ") {
			t.Fatalf("seed %d: %s", seed, line)
		}
		seen[strings.SplitN(strings.TrimPrefix(line, "⚡ injected drift: "), " on ", 2)[0]] = true
	}
	for _, want := range []string{"installed application 7-Zip 23.01 (x64)", "installed update KB5036909", "disabled service WinRM"} {
		if !seen[want] {
			t.Errorf("never injected %q (saw %v)", want, seen)
		}
	}
}
