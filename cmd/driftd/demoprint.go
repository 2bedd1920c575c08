package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

// demoPrinter prints what each scan changed (the first scan in full),
// the notifications the demo's webhook receives, and now and then injects
// a new drift so detection, notification and replacement can be watched.
type demoPrinter struct {
	out     io.Writer
	sim     *awssim.Sim
	formats map[string]string
	sbom    map[string]bool
	every   int
	limit   int
	stop    context.CancelFunc
	rng     *rand.Rand

	mu     sync.Mutex
	n      int
	prev   map[string]demoInstance // instance id → what the last scan said
	counts map[string]map[drift.Verdict]int
}

// demoInstance is what the printer remembers of an instance.
type demoInstance struct {
	asg      string
	verdict  drift.Verdict
	severity drift.Severity
	findings int
}

func (p *demoPrinter) scans() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// notify prints one event the webhook receiver accepted.
func (p *demoPrinter) notify(ev alerting.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	what := ev.Summary
	if what == "" {
		what = ev.Reason
	}
	if what == "" && len(ev.Details) > 0 {
		keys := make([]string, 0, len(ev.Details))
		for k := range ev.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + ev.Details[k]
		}
		what = strings.Join(keys, " ")
	}
	line := "✉ webhook: " + string(ev.Type)
	if t := strings.TrimSpace(ev.ASG + " " + ev.InstanceID); t != "" {
		line += " " + t
	}
	if ev.Severity != drift.SeverityNone {
		line += " (" + ev.Severity.String() + ")"
	}
	if what != "" {
		line += ": " + what
	}
	fmt.Fprintln(p.out, line)
}

func (p *demoPrinter) notifyError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "✉ %v\n", err)
}

func (p *demoPrinter) OnScan(_ context.Context, r *scan.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	w := p.out
	defer p.done()
	if r.Err != nil {
		fmt.Fprintf(w, "scan #%d failed: %v\n\n", r.ID, r.Err)
		return
	}
	now := map[string]demoInstance{}
	counts := map[string]map[drift.Verdict]int{}
	for _, ir := range r.Instances {
		rep := ir.Report
		g := rep.ASG
		if g == "" {
			g = "(standalone)"
		}
		if counts[g] == nil {
			counts[g] = map[drift.Verdict]int{}
		}
		counts[g][rep.Verdict]++
		now[rep.InstanceID] = demoInstance{asg: rep.ASG, verdict: rep.Verdict, severity: rep.Severity, findings: rep.FindingsTotal}
	}
	head := fmt.Sprintf("── scan #%d at %s: %d instances in %.2fs, %d API calls, %d unchanged (verdict reused)",
		r.ID, r.Finished.UTC().Format("15:04:05"), len(r.Instances), r.Duration.Seconds(), r.APICalls.Total, r.Reused)
	first := p.prev == nil
	var rows []string
	for g := range counts {
		if first || !sameCounts(counts[g], p.counts[g]) {
			rows = append(rows, g)
		}
	}
	for g := range p.counts {
		if counts[g] == nil {
			rows = append(rows, g)
		}
	}
	sort.Strings(rows)
	changes := p.changes(r, now)
	if !first && len(rows) == 0 && len(changes) == 0 {
		fmt.Fprintln(w, head+": no change")
	} else {
		fmt.Fprintln(w, head)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "ASG\t")
		for _, v := range drift.Verdicts {
			fmt.Fprintf(tw, "%s\t", v)
		}
		fmt.Fprintln(tw)
		for _, g := range rows {
			fmt.Fprintf(tw, "%s\t", g)
			for _, v := range drift.Verdicts {
				fmt.Fprintf(tw, "%d\t", counts[g][v])
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		for _, c := range changes {
			fmt.Fprintln(w, c)
		}
	}
	p.prev, p.counts = now, counts
	if p.every > 0 && p.n%p.every == 0 && (p.limit == 0 || p.n < p.limit) {
		p.inject(w, r)
	}
	fmt.Fprintln(w)
}

func sameCounts(a, b map[drift.Verdict]int) bool {
	if len(a) != len(b) {
		return false
	}
	for v, n := range a {
		if b[v] != n {
			return false
		}
	}
	return true
}

// changes lists the instances that are new, gone, or changed since the
// last scan (every instance not in sync on the first scan), drifted ones
// with their top findings.
func (p *demoPrinter) changes(r *scan.Result, now map[string]demoInstance) []string {
	var out []string
	for _, ir := range r.Instances {
		rep := ir.Report
		before, known := p.prev[rep.InstanceID]
		cur := now[rep.InstanceID]
		var what string
		switch {
		case p.prev == nil && rep.Verdict == drift.VerdictInSync:
			continue
		case p.prev == nil:
			what = string(rep.Verdict)
		case !known:
			what = "new, " + string(rep.Verdict)
		case before.verdict != cur.verdict:
			what = string(before.verdict) + " → " + string(cur.verdict)
		case cur.verdict == drift.VerdictDrifted && (before.findings != cur.findings || before.severity != cur.severity):
			what = "drift changed"
		default:
			continue
		}
		line := fmt.Sprintf("  %s  %-12s %s", rep.InstanceID, orStandalone(rep.ASG), what)
		switch rep.Verdict {
		case drift.VerdictDrifted:
			line += fmt.Sprintf(" (%s), %d finding(s), drifted for %d scan(s)", rep.Severity, rep.FindingsTotal, ir.History.ConsecutiveDrifted)
			for _, f := range drift.TopFindings(rep.Findings, 3) {
				line += "\n      " + f.String()
			}
		case drift.VerdictInSync:
		default:
			line += ": " + strings.Join(rep.Reasons, "; ")
		}
		out = append(out, line)
	}
	var gone []string
	for id, before := range p.prev {
		if _, ok := now[id]; !ok {
			gone = append(gone, fmt.Sprintf("  %s  %-12s gone (was %s): terminated or no longer running", id, orStandalone(before.asg), before.verdict))
		}
	}
	sort.Strings(gone)
	return append(out, gone...)
}

func orStandalone(asg string) string {
	if asg == "" {
		return "(standalone)"
	}
	return asg
}

func (p *demoPrinter) done() {
	if p.limit > 0 && p.n >= p.limit {
		p.stop()
	}
}

// inject changes a random in-sync group member.
func (p *demoPrinter) inject(w io.Writer, r *scan.Result) {
	var candidates []*drift.Report
	for _, ir := range r.Instances {
		if ir.Report.Verdict == drift.VerdictInSync && ir.Report.ASG != "" {
			candidates = append(candidates, ir.Report)
		}
	}
	if len(candidates) == 0 {
		return
	}
	target := candidates[p.rng.IntN(len(candidates))]
	var d awssim.Drift
	var what string
	kind := p.rng.IntN(3)
	if p.sbom[target.AMI] {
		kind = 0 // an SBOM baseline lists packages, not files or services
	}
	if p.formats[target.AMI] == awssim.FormatWindows {
		kind += 3 // a Windows instance: an application, a KB or a service
	}
	switch kind {
	case 3:
		d = awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "7-Zip 23.01 (x64)", Publisher: "Igor Pavlov", Version: "23.01"}}
		what = "installed application 7-Zip 23.01 (x64)"
	case 4:
		d = awssim.Drift{Action: awssim.DriftInstallUpdate, Update: &awssim.UpdateSpec{HotFixID: "KB5036909", Description: "Update"}}
		what = "installed update KB5036909"
	case 5:
		d = awssim.Drift{Action: awssim.DriftDisableService, Service: &awssim.ServiceSpec{Name: "WinRM"}}
		what = "disabled service WinRM"
	case 0:
		// Debugging tools someone installed by hand, in the versions the
		// distributions ship.
		spec := demoRPMTools[p.rng.IntN(len(demoRPMTools))]
		if p.formats[target.AMI] == "deb" {
			spec = demoDebTools[p.rng.IntN(len(demoDebTools))]
		}
		d = awssim.Drift{Action: awssim.DriftInstall, Package: &spec}
		what = "installed package " + spec.Name
	case 1:
		d = awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/sudoers",
			SHA256: fmt.Sprintf("%016x%016x%016x%016x", p.rng.Uint64(), p.rng.Uint64(), p.rng.Uint64(), p.rng.Uint64()), Size: 4400}}
		what = "edited /etc/sudoers"
	default:
		d = awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "sshd.service"}}
		what = "stopped sshd.service"
	}
	if err := p.sim.Inject(target.InstanceID, d); err != nil {
		fmt.Fprintf(w, "injecting drift into %s: %v\n", target.InstanceID, err)
		return
	}
	fmt.Fprintf(w, "⚡ injected drift: %s on %s (%s); watch the next scan\n", what, target.InstanceID, target.ASG)
}

var (
	demoRPMTools = []awssim.PackageSpec{
		{Name: "tcpdump", Epoch: "14", Version: "4.99.1", Release: "1.amzn2023.0.2"},
		{Name: "strace", Version: "6.8", Release: "1.amzn2023.0.1"},
		{Name: "gdb", Version: "12.1", Release: "7.amzn2023.0.4"},
		{Name: "telnet", Epoch: "1", Version: "0.17", Release: "85.amzn2023.0.2"},
	}
	demoDebTools = []awssim.PackageSpec{
		{Name: "tcpdump", Version: "4.99.3-1"},
		{Name: "strace", Version: "6.1-0.1"},
		{Name: "gdb", Version: "13.1-3"},
		{Name: "netcat-openbsd", Version: "1.219-1"},
	}
)
