package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

// lockedBuffer is the demo's output, read while the demo writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoRunsScansAndDetectsInjectedDrift runs the demo for three scans
// with a drift injected after each and checks what it prints: the first
// scan in full, later scans only what changed.
func TestDemoRunsScansAndDetectsInjectedDrift(t *testing.T) {
	var out lockedBuffer
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
	if scans := regexp.MustCompile(`(?m)^── scan #\d+ at .*: 4[12] instances`).FindAllString(s, -1); len(scans) != 3 {
		t.Errorf("%d scan summaries, want 3:\n%s", len(scans), s)
	}
	// The scenario's drifted, stale, offline and baseline-less instances,
	// with the example configuration's severities (files and services high,
	// packages low); Debian and Ubuntu findings name dpkg's architectures
	// (the agent reports x86_64, the SBOM baselines say amd64 and arm64).
	first := s[strings.Index(s, "── scan #1"):]
	first = first[:strings.Index(first, "── scan #2")]
	for _, want := range []string{"package nmap-ncat.x86_64 added", "service chronyd.service state changed: active → inactive (high)",
		"package libssl3.amd64 version changed: ", "package curl.amd64 removed", "package nginx-extras.arm64 added",
		"file /etc/ssh/sshd_config sha256 changed", "stale: inventory", "unknown: agent ConnectionLost since",
		"no_baseline: no baseline for ami-0a1b2c3d4e5f60003", "ingest       drifted (high)", "worker       drifted (high)", "api          drifted (low)"} {
		if !strings.Contains(first, want) {
			t.Errorf("first scan lacks %q", want)
		}
	}
	// The Windows group: a KB added, an application upgraded, a service disabled.
	for _, want := range []string{"update KB5035857 added: absent → installed", "package Contoso Line-of-Business Agent.x86_64 version changed: 10.0.19041.1 → 10.0.19041.2",
		"service W3SVC start_type changed: Automatic → Disabled"} {
		if !strings.Contains(first, want) {
			t.Errorf("first scan lacks %q", want)
		}
	}
	// The first scan's table: every undrifted member of the groups on SBOM
	// baselines (api: Debian amd64, edge: Ubuntu arm64) and on the arm64
	// AL2023 AMI (ingest) is in sync.
	for _, row := range []string{`api\s+7\s+2\s+1\s+0\s+0\s+0`, `edge\s+2\s+1\s+0\s+0\s+0\s+0`, `ingest\s+3\s+1\s+0\s+0\s+0\s+0`,
		`iis\s+1\s+3\s+0\s+0\s+0\s+0`, `\(standalone\)\s+2\s+0\s+0\s+0\s+1\s+0`} {
		if !regexp.MustCompile(`(?m)^\s+` + row + `\s*$`).MatchString(first) {
			t.Errorf("first scan's table lacks a row %s:\n%s", row, first)
		}
	}
	// A drift injected after scan 1 is reported as a change in scan 2,
	// and scan 2 lists only what changed.
	inj := regexp.MustCompile(`⚡ injected drift: .* on (i-[0-9a-f]+) \((\w+)\)`).FindStringSubmatch(s)
	if inj == nil {
		t.Fatalf("no drift injected:\n%s", s)
	}
	second := s[strings.Index(s, "── scan #2"):]
	second = second[:strings.Index(second, "── scan #3")]
	if !regexp.MustCompile(`(?m)^  ` + inj[1] + `\s+` + inj[2] + `\s+in_sync → drifted \((low|high)\)`).MatchString(second) {
		t.Errorf("injected drift on %s not reported as a change in the next scan:\n%s", inj[1], second)
	}
	if strings.Contains(second, "chronyd.service") {
		t.Errorf("scan 2 repeats an unchanged drift:\n%s", second)
	}
}

// TestDemoShowsTheLoop: the demo's replace-mode group (ingest, budget 1)
// replaces its drifted instance, the local webhook receives the drift and
// the remediation, and the replacement comes up in sync.
func TestDemoShowsTheLoop(t *testing.T) {
	var out lockedBuffer
	cmd := &demoCmd{Listen: "127.0.0.1:0", Interval: time.Second, InjectEvery: 0, Seed: 1, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.run(ctx, &Globals{LogLevel: "error"}) }()
	// ingest's drifted member (sshd_config changed, high): its id depends on
	// the scenario's size, so it is read from the first scan.
	driftedRE := regexp.MustCompile(`(?m)^  (i-[0-9a-f]+)\s+ingest\s+drifted \(high\)`)
	inSync := regexp.MustCompile(`(?m)^  (i-[0-9a-f]+)\s+ingest\s+(unknown → in_sync|new, in_sync)$`)
	var s string
	for {
		s = out.String()
		if inSync.MatchString(s) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, s)
	}
	m := inSync.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no replacement came up in sync within 90s:\n%s", s)
	}
	dm := driftedRE.FindStringSubmatch(s)
	if dm == nil {
		t.Fatalf("no drifted ingest instance in the first scan:\n%s", s)
	}
	drifted := dm[1]
	// The scans' lines are in order: drifted, gone, its replacement in sync.
	steps := []string{
		"  " + drifted + "  ingest       drifted (high)",
		"  " + drifted + "  ingest       gone (was drifted)",
		m[0],
	}
	at := 0
	for _, step := range steps {
		i := strings.Index(s[at:], step)
		if i < 0 {
			t.Fatalf("after %q the output lacks %q:\n%s", s[:at][max(0, at-80):], step, s)
		}
		at += i + len(step)
	}
	// The webhook receives the drift, then the replacement (one queue, in
	// order; deliveries are asynchronous to the scans' lines).
	detected := strings.Index(s, "✉ webhook: drift.detected ingest "+drifted+" (high)")
	started := strings.Index(s, "✉ webhook: remediation.started ingest "+drifted)
	if detected < 0 || started < detected {
		t.Errorf("webhook: drift.detected at %d, remediation.started at %d; want both, in this order:\n%s", detected, started, s)
	}
	if m[1] == drifted {
		t.Errorf("the replacement has the drifted instance's id")
	}
	if !regexp.MustCompile(`(?m)^── scan #\d+ .*: no change$`).MatchString(s) {
		t.Errorf("no scan reported as unchanged in one line:\n%s", s)
	}
	// Only the replace-mode group is acted on: worker's drifted instance
	// (its tag asks for replace; the configuration does not allow tags to
	// raise the mode) is not.
	if strings.Contains(s, "remediation.started worker") {
		t.Errorf("a group outside the replace-mode configuration was remediated:\n%s", s)
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
