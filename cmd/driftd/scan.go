package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/scan"
)

type scanCmd struct {
	Config   string   `help:"Configuration file." required:"" type:"path" short:"c"`
	Output   string   `help:"Output format: table, json, or ocsf (one OCSF 1.3 Compliance Finding per instance, JSON Lines)." enum:"table,json,ocsf" default:"table" short:"o"`
	Instance []string `help:"Scan only these instance ids (repeatable)." name:"instance"`
	Quiet    bool     `help:"Show no progress on stderr (default: a live bar on a terminal, a line every 10s otherwise)." short:"q"`

	out      io.Writer
	opt      func(*daemon.Options)
	progress *progressOut // nil: stderr
}

func init() {
	register("scan", "Run one scan and exit: 0 all checked and in sync (or exempt), 1 drift found, 2 error, 3 no drift but some instances not checked (unknown, stale, no_baseline).", &scanCmd{})
}

// ScanReport is the JSON output of driftd scan.
type ScanReport struct {
	Summary   map[drift.Verdict]int `json:"summary"`
	Instances []ScanInstance        `json:"instances"`
	APICalls  scan.APICallStats     `json:"api_calls"`
	Duration  float64               `json:"duration_seconds"`
	// APICost is the scan's calls next to their lower bound.
	APICost *scan.Cost `json:"api_cost,omitempty"`
	// InventoryTypesUnavailable lists configured inventory types SSM does not
	// know in this account: not collected for any instance this scan.
	InventoryTypesUnavailable []scan.TypeNote `json:"inventory_types_unavailable,omitempty"`
}

// ScanInstance is one instance of the JSON report.
type ScanInstance struct {
	InstanceID string          `json:"instance_id"`
	ASG        string          `json:"asg,omitempty"`
	AMI        string          `json:"ami"`
	Verdict    drift.Verdict   `json:"verdict"`
	Severity   string          `json:"severity,omitempty"`
	Reasons    []string        `json:"reasons,omitempty"`
	Findings   []drift.Finding `json:"findings,omitempty"`
	// FindingsTotal is the exact number of findings; Truncated says
	// Findings lists only the most severe of them (drift.MaxFindings).
	FindingsTotal int            `json:"findings_total,omitempty"`
	Truncated     bool           `json:"truncated,omitempty"`
	FindingCounts map[string]int `json:"finding_counts,omitempty"`
}

func (c *scanCmd) Run(g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	_, log, err := oneShot(g, c.Config)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	opts := daemon.Options{ConfigFile: c.Config, Logger: log}
	if c.opt != nil {
		c.opt(&opts)
	}
	a, err := daemon.New(ctx, opts)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	po := stderrProgress(c.Quiet)
	if c.progress != nil {
		po = *c.progress
	}
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go po.watch(a, stopProgress, progressDone)
	res, err := a.Scan(ctx, c.Instance)
	close(stopProgress)
	<-progressDone
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("scan: %w", err)}
	}
	if c.Output == "ocsf" {
		err = renderOCSF(out, res, a.Region())
	} else {
		err = renderScan(out, c.Output, res)
	}
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if code, why := scanExitCode(res.Summary); code != 0 {
		return &ExitError{Code: code, Err: why}
	}
	return nil
}

// renderScan writes a scan's report in the output format (table or json).
func renderScan(out io.Writer, format string, res *scan.Result) error {
	if format == "json" {
		return writeJSON(out, reportHead(res), func(yield func(ScanInstance) bool) {
			for i := range res.Instances {
				if !yield(scanInstance(&res.Instances[i])) {
					return
				}
			}
		})
	}
	rep := reportHead(res)
	rep.Instances = make([]ScanInstance, 0, len(res.Instances))
	for i := range res.Instances {
		rep.Instances = append(rep.Instances, scanInstance(&res.Instances[i]))
	}
	writeTable(out, rep)
	return nil
}

// reportHead is the report without its instances.
func reportHead(res *scan.Result) ScanReport {
	rep := ScanReport{Summary: res.Summary, APICalls: res.APICalls, Duration: res.Duration.Seconds(), Instances: []ScanInstance{}, APICost: res.Cost,
		InventoryTypesUnavailable: res.InventoryTypesUnavailable}
	for _, v := range drift.Verdicts {
		if _, ok := rep.Summary[v]; !ok {
			rep.Summary[v] = 0
		}
	}
	return rep
}

func scanInstance(ir *scan.InstanceResult) ScanInstance {
	r := ir.Report
	si := ScanInstance{InstanceID: r.InstanceID, ASG: r.ASG, AMI: r.AMI, Verdict: r.Verdict, Reasons: r.Reasons, Findings: r.Findings,
		FindingsTotal: r.FindingsTotal, Truncated: r.FindingsTotal > len(r.Findings), FindingCounts: r.Counts}
	if r.Severity != drift.SeverityNone {
		si.Severity = r.Severity.String()
	}
	return si
}

// instancesKey is where the instances go in the indented report (a
// top-level key: nested keys are indented deeper).
const instancesKey = "\n  \"instances\": "

// writeJSON writes the report as json.Encoder with a two-space indent would
// write head with its Instances set to every instance, byte for byte, but
// one instance at a time: the report is never held in memory (it is tens of
// megabytes for a large drifted fleet). head.Instances is ignored.
func writeJSON(out io.Writer, head ScanReport, instances iter.Seq[ScanInstance]) error {
	head.Instances = []ScanInstance{}
	frame, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	before, after, ok := bytes.Cut(frame, []byte(instancesKey+"[]"))
	if !ok {
		return fmt.Errorf("scan report: no %q in %s", strings.TrimSpace(instancesKey), frame)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	w.Write(before)
	w.WriteString(instancesKey + "[")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	n := 0
	for si := range instances {
		buf.Reset()
		if err = enc.Encode(si); err != nil {
			return err
		}
		if n > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n    ")
		if _, err = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
			return err // the reader went away: stop rendering
		}
		n++
	}
	if n > 0 {
		w.WriteString("\n  ")
	}
	w.WriteByte(']')
	w.Write(after)
	w.WriteByte('\n')
	return w.Flush()
}

// Exit codes of driftd scan (besides 2, an error: bad configuration, failed
// or interrupted scan).
const (
	ExitDrift      = 1 // at least one instance drifted
	ExitNotChecked = 3 // no drift, but some instances could not be checked
)

// scanExitCode decides driftd scan's exit code from the verdict counts:
// 1 when any instance drifted (drift wins: it is what CI must act on),
// else 3 when any instance could not be checked (unknown, stale,
// no_baseline), else 0 (every instance in sync or exempt, or none
// selected). For 3 the error says how many were not checked and why.
func scanExitCode(summary map[drift.Verdict]int) (int, error) {
	if summary[drift.VerdictDrifted] > 0 {
		return ExitDrift, nil
	}
	var parts []string
	n, total := 0, 0
	for _, v := range drift.Verdicts {
		total += summary[v]
		switch v {
		case drift.VerdictUnknown, drift.VerdictStale, drift.VerdictNoBaseline:
			if summary[v] > 0 {
				n += summary[v]
				parts = append(parts, fmt.Sprintf("%s=%d", v, summary[v]))
			}
		}
	}
	if n > 0 {
		return ExitNotChecked, fmt.Errorf("%d of %d instances not checked (%s): no drift found, but in sync is not established", n, total, strings.Join(parts, " "))
	}
	return 0, nil
}

func writeTable(out io.Writer, rep ScanReport) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tASG\tAMI\tVERDICT\tSEVERITY\tREASON")
	for _, in := range rep.Instances {
		// inventory data in reasons may hold control characters: escaped
		reason := drift.Printable(strings.Join(in.Reasons, "; "))
		if len(reason) > 100 {
			reason = strings.ToValidUTF8(reason[:97], "") + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", drift.Printable(in.InstanceID), dash(drift.Printable(in.ASG)), drift.Printable(in.AMI), in.Verdict, dash(in.Severity), reason)
	}
	tw.Flush()
	var parts []string
	for _, v := range drift.Verdicts {
		if n := rep.Summary[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", v, n))
		}
	}
	ops := make([]string, 0, len(rep.APICalls.ByOperation))
	for op, n := range rep.APICalls.ByOperation {
		ops = append(ops, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(ops)
	fmt.Fprintf(out, "\n%d instances: %s\nAPI calls: %d (%s) in %.1fs\n", len(rep.Instances), strings.Join(parts, " "),
		rep.APICalls.Total, strings.Join(ops, " "), rep.Duration)
	for _, n := range rep.InventoryTypesUnavailable {
		fmt.Fprintf(out, "Not collected: %s\n", n.Reason)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneShot loads the configuration and logger of a command that runs one scan
// and prints its result on stdout: logs go to stderr, at warn level unless
// --log-level says otherwise.
func oneShot(g *Globals, file string) (*config.Config, *zap.Logger, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	if g == nil || g.LogLevel == "" {
		cfg.Log.Level = "warn"
	}
	log, err := logger(g, cfg)
	if err != nil {
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	return cfg, log, nil
}
