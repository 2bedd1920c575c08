package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/remediation"
)

type planCmd struct {
	Config   string   `help:"Configuration file." required:"" type:"path" short:"c"`
	Output   string   `help:"Output format: table or json." enum:"table,json" default:"table" short:"o"`
	Instance []string `help:"Show only these instance ids (repeatable). The whole fleet is still scanned: budgets and breakers are shares of groups and the fleet." name:"instance"`

	out io.Writer
	opt func(*daemon.Options)
}

func init() {
	register("plan", "Scan once and explain what remediation would do: every would-be action and every skipped candidate with its reason. Mutates nothing. Exit 0: no action, 1: actions would be taken, 2: error.", &planCmd{})
}

func (c *planCmd) Run(g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	cfg, log, err := oneShot(g, c.Config)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	opts := daemon.Options{Config: cfg, Logger: log}
	if c.opt != nil {
		c.opt(&opts)
	}
	var engOpts []func(*remediation.Options)
	if opts.Now != nil {
		engOpts = append(engOpts, func(o *remediation.Options) { o.Now = opts.Now })
	}
	a, err := daemon.New(ctx, opts)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	// The decisions the daemon keeps (approvals, breaker resets, in-flight
	// replacements), as a snapshot the dry run may change freely.
	if st, ok, err := a.Decisions(ctx); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("reading the stored remediation decisions: %w", err)}
	} else if ok {
		engOpts = append(engOpts, func(o *remediation.Options) { o.Store = remediation.NewMemoryStoreFrom(st) })
	}
	// Always the whole selection: a plan over a subset would compute group
	// and fleet drift shares (breakers, budgets) over the wrong population.
	res, err := a.Scan(ctx, nil)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("scan: %w", err)}
	}
	rc := cfg.Remediation
	rc.DryRun = true // plan never mutates: actions and tags go to the dry-run recorder
	eng := a.RemediationEngine(rc, log, nil, engOpts...)
	p, err := eng.Cycle(ctx, remediation.FromScan(res))
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if len(c.Instance) > 0 {
		p = onlyInstances(p, c.Instance)
	}
	if err := writePlan(out, c.Output, p); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if len(p.Actions) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// writePlan prints a plan as a table (for people) or JSON (for CI).
func writePlan(w io.Writer, format string, p remediation.PlanResult) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	fmt.Fprintf(w, "Plan at %s\n", p.Now.UTC().Format(time.RFC3339))
	if p.KillSwitch.Engaged {
		fmt.Fprintf(w, "Kill switch: ENGAGED (%s) %s\n", p.KillSwitch.Source, p.KillSwitch.Detail)
	} else {
		fmt.Fprintln(w, "Kill switch: released")
	}
	if p.Fleet.Open {
		fmt.Fprintf(w, "Fleet breaker: OPEN: %s\n", p.Fleet.Detail)
	} else {
		fmt.Fprintln(w, "Fleet breaker: closed")
	}
	fmt.Fprintf(w, "Hourly cap remaining: %d\n", p.HourlyRemaining)
	for _, e := range p.Errors {
		fmt.Fprintf(w, "Config error (fails closed): %s\n", e)
	}
	writeReadFailures(w, p.ReadFailures)

	fmt.Fprintln(w, "\nGroups:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ASG\tMODE\tDRIFTED\tBUDGET\tIN-FLIGHT\tREMAINING\tWINDOW\tBREAKER\tBLOCKED")
	for _, g := range p.Groups {
		window := "closed"
		if g.WindowOpen {
			window = "open"
		}
		breaker := "closed"
		if g.Breaker.Open {
			breaker = "OPEN (" + g.Breaker.Kind + ")"
		}
		blocked := "-"
		if g.Blocked != "" {
			blocked = string(g.Blocked)
		}
		budget := g.Budget
		if budget == "" {
			budget = "-"
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%d/%d\t%s=%d\t%d\t%d\t%s\t%s\t%s\n", g.Name, g.Mode, g.ModeSource, g.Drifted, g.Known,
			budget, g.Allowed, g.InFlight, g.Remaining, window, breaker, blocked)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nWould act (%d):\n", len(p.Actions))
	if len(p.Actions) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tASG\tINSTANCE\tSEVERITY\tDRIFTED SINCE\tREASON")
		for _, a := range p.Actions {
			id := a.InstanceID
			if a.Kind == remediation.ActionInstanceRefresh {
				id = fmt.Sprintf("%d instances", len(a.Covers))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Kind, a.Group, id, a.Severity, a.DriftSince.UTC().Format(time.RFC3339), trunc(a.Reason, 80))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nSkipped (%d):\n", len(p.Skipped))
	if len(p.Skipped) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "INSTANCE\tASG\tREASON\tDETAIL")
		for _, s := range p.Skipped {
			g := s.Group
			if g == "" {
				g = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.InstanceID, g, s.Reason, trunc(s.Detail, 100))
		}
		tw.Flush()
	}
	if len(p.Tags) > 0 {
		fmt.Fprintf(w, "\nWould tag (%d):\n", len(p.Tags))
		for _, t := range p.Tags {
			var parts []string
			for _, k := range []string{drift.TagStatus, drift.TagSince, drift.TagReason} {
				if v, ok := t.Set[k]; ok {
					parts = append(parts, k+"="+v)
				}
			}
			for _, k := range t.Delete {
				parts = append(parts, "-"+k)
			}
			fmt.Fprintf(w, "  %s %s\n", t.InstanceID, strings.Join(parts, " "))
		}
	}
	return nil
}

// writeReadFailures lists the reads that failed, once per call and error
// with the groups they cover: those groups are not acted on this cycle.
func writeReadFailures(w io.Writer, fs []remediation.ReadFailure) {
	if len(fs) == 0 {
		return
	}
	type key struct{ call, code, err string }
	var order []key
	groups := map[key][]string{}
	instances := map[key]int{}
	for _, f := range fs {
		k := key{f.Call, f.Code, f.Error}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			groups[k] = []string{}
		}
		g := f.Group
		if g == "" {
			g = "instances outside any group"
		}
		groups[k] = append(groups[k], g)
		instances[k] += len(f.Instances)
	}
	fmt.Fprintf(w, "\nRead failures (the groups they cover are %s: nothing in them is replaced this cycle):\n", remediation.SkipGroupStateUnknown)
	for _, k := range order {
		what := strings.Join(groups[k], ", ")
		switch {
		case k.call == remediation.CallDescribeGroups:
			what += " (mode unknown: not tagged either)"
		case instances[k] > 0:
			what += fmt.Sprintf(" (%d instances whose tags were not read are not tagged)", instances[k])
		}
		code := ""
		if k.code != "" {
			code = " with " + k.code
		}
		fmt.Fprintf(w, "  %s failed%s for %s:\n    %s\n", k.call, code, what, k.err)
	}
}

// trunc shortens a reason for a table cell; inventory data it quotes may
// hold control characters, written as escapes (drift.Printable).
func trunc(s string, n int) string {
	s = drift.Printable(s)
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

// onlyInstances keeps the actions, skips and tag changes of the given
// instances; group and fleet status stay whole.
func onlyInstances(p remediation.PlanResult, ids []string) remediation.PlanResult {
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	var acts []remediation.Action
	for _, a := range p.Actions {
		if keep[a.InstanceID] {
			acts = append(acts, a)
		}
	}
	var skips []remediation.Skip
	for _, sk := range p.Skipped {
		if keep[sk.InstanceID] {
			skips = append(skips, sk)
		}
	}
	var tags []remediation.TagChange
	for _, t := range p.Tags {
		if keep[t.InstanceID] {
			tags = append(tags, t)
		}
	}
	p.Actions, p.Skipped, p.Tags = acts, skips, tags
	return p
}
