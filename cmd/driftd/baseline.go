package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
	"github.com/driftd/driftd/internal/awsclients"
	"github.com/driftd/driftd/internal/config"
)

// baselineCmd groups the baseline subcommands.
type baselineCmd struct {
	Show    baselineShowCmd    `cmd:"" help:"Resolve an AMI's baseline through the configured sources and explain the answer (exit 1: no source answered)."`
	Capture baselineCaptureCmd `cmd:"" help:"Capture a clean instance's inventory as the native manifest of its AMI."`
	Diff    baselineDiffCmd    `cmd:"" help:"Compare two manifests (files or s3:// URIs): exit 0 equal, 1 different, 2 error."`
}

func init() {
	register("baseline", "Inspect, capture and compare baseline manifests.", &baselineCmd{})
}

// baselineClients builds the baseline commands' AWS clients as the daemon
// builds its own (internal/awsclients): the SDK's standard chain
// (credentials, AWS_REGION, AWS_ENDPOINT_URL[_<SERVICE>]) with the
// configuration's aws section (region, retries) when there is one.
func baselineClients(ctx context.Context, c config.AWS) (*awsclients.Clients, error) {
	cfg, err := awsclients.Load(ctx, awsclients.Options{AWS: c})
	if err != nil {
		return nil, err
	}
	return awsclients.New(cfg), nil
}

func baselineCtx() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func fail(code int, err error) error { return &ExitError{Code: code, Err: err} }

// ---- show ----

type baselineShowCmd struct {
	AMI    string `arg:"" help:"AMI id (ami-...)."`
	Config string `help:"Configuration file (its baselines: section is used)." required:"" type:"path" short:"c"`
	Lines  int    `help:"Manifest lines to print." default:"15"`
	Output string `help:"Output format: text or json." enum:"text,json" default:"text" short:"o"`

	out io.Writer
}

// BaselineShow is the JSON output of driftd baseline show.
type BaselineShow struct {
	AMI                  string            `json:"ami_id"`
	Name                 string            `json:"ami_name,omitempty"`
	Warning              string            `json:"warning,omitempty"`
	Found                bool              `json:"found"`
	Source               string            `json:"source,omitempty"`
	Where                string            `json:"where,omitempty"`
	Version              string            `json:"version,omitempty"`
	Packages             int               `json:"packages"`
	Files                int               `json:"files"`
	Services             int               `json:"services"`
	NameVersionOnly      bool              `json:"name_version_only,omitempty"`
	NormalizationVersion int               `json:"normalization_version,omitempty"`
	Provenance           map[string]string `json:"provenance,omitempty"`
	Tried                []ShowAttempt     `json:"tried,omitempty"`
}

// ShowAttempt is a source that did not answer.
type ShowAttempt struct {
	Source  string `json:"source"`
	Reason  string `json:"reason"`
	Missing bool   `json:"missing"`
}

func (c *baselineShowCmd) Run(g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	if !manifest.IsAMIID(c.AMI) {
		return fail(2, fmt.Errorf("%q is not an AMI id", c.AMI))
	}
	cfg, err := config.Load(c.Config)
	if err != nil {
		return fail(2, err)
	}
	ctx, stop := baselineCtx()
	defer stop()
	clients, err := baselineClients(ctx, cfg.AWS)
	if err != nil {
		return fail(2, err)
	}
	srcs, err := baselines.Build(cfg.Baselines, baselines.Clients{S3: clients.S3, SSM: clients.SSM, ImageBuilder: clients.ImageBuilder}, nil, nil, nil)
	if err != nil {
		return fail(2, err)
	}
	// The AMI's name and tags (tag-based sources need them).
	ami := collectors.AMIInfo{ID: c.AMI}
	var warn string
	if imgs, err := clients.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{c.AMI}}); err != nil {
		warn = fmt.Sprintf("DescribeImages %s: %v (sources that need the AMI name or tags cannot answer)", c.AMI, err)
	} else if len(imgs.Images) == 0 {
		warn = fmt.Sprintf("DescribeImages: %s not found (sources that need the AMI name or tags cannot answer)", c.AMI)
	} else {
		ami.Name = aws.ToString(imgs.Images[0].Name)
		for _, t := range imgs.Images[0].Tags {
			if ami.Tags == nil {
				ami.Tags = map[string]string{}
			}
			ami.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	chain := &collectors.Chain{Sources: srcs}
	m, res, rerr := chain.Resolve(ctx, ami)
	if c.Output == "json" {
		r := BaselineShow{AMI: ami.ID, Name: ami.Name, Warning: warn, Found: m != nil}
		for _, a := range res.Tried {
			r.Tried = append(r.Tried, ShowAttempt{Source: a.Source, Reason: a.Reason, Missing: a.Missing})
		}
		if m != nil {
			r.Source, r.Where, r.Version = res.Source, res.Where, res.Version
			r.Packages, r.Files, r.Services = len(m.Packages), len(m.Files), len(m.Services)
			r.NameVersionOnly, r.NormalizationVersion, r.Provenance = m.NameVersionOnly, m.NormalizationVersion, m.Provenance
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fail(2, err)
		}
	} else {
		writeShow(out, ami, m, res, warn, c.Lines)
	}
	if rerr != nil {
		return &ExitError{Code: 1}
	}
	return nil
}

// writeShow prints a resolution: which source answered, version, counts
// and the first lines of the manifest; or every source tried and why.
func writeShow(out io.Writer, ami collectors.AMIInfo, m *drift.Manifest, res collectors.Resolution, warn string, lines int) {
	name := ""
	if ami.Name != "" {
		name = " (" + ami.Name + ")"
	}
	fmt.Fprintf(out, "AMI:       %s%s\n", ami.ID, name)
	if warn != "" {
		fmt.Fprintf(out, "Warning:   %s\n", warn)
	}
	if m == nil {
		fmt.Fprintf(out, "Baseline:  none (the AMI's instances are no_baseline)\n")
		fmt.Fprintf(out, "Tried:\n")
		for _, a := range res.Tried {
			kind := "error"
			if a.Missing {
				kind = "missing"
			}
			fmt.Fprintf(out, "  - %s [%s]: %s\n", a.Source, kind, a.Reason)
		}
		return
	}
	fmt.Fprintf(out, "Source:    %s\n", res.Source)
	fmt.Fprintf(out, "Where:     %s\n", res.Where)
	fmt.Fprintf(out, "Version:   %s\n", res.Version)
	fmt.Fprintf(out, "Packages:  %d", len(m.Packages))
	if len(m.Files) > 0 || len(m.Services) > 0 || len(m.Custom) > 0 {
		fmt.Fprintf(out, " (files %d, services %d, custom types %d)", len(m.Files), len(m.Services), len(m.Custom))
	}
	fmt.Fprintln(out)
	format := string(m.PackageFormat)
	if format == "" {
		format = "generic"
	}
	fmt.Fprintf(out, "Format:    %s, normalization v%d", format, m.NormalizationVersion)
	if m.NameVersionOnly {
		fmt.Fprintf(out, ", name and version only")
	}
	fmt.Fprintln(out)
	if len(m.Provenance) > 0 {
		keys := make([]string, 0, len(m.Provenance))
		for k := range m.Provenance {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(out, "Provenance:\n")
		for _, k := range keys {
			fmt.Fprintf(out, "  %s: %s\n", k, m.Provenance[k])
		}
	}
	if len(res.Tried) > 0 {
		fmt.Fprintf(out, "Tried first:\n")
		for _, a := range res.Tried {
			fmt.Fprintf(out, "  - %s: %s\n", a.Source, a.Reason)
		}
	}
	if lines > 0 {
		doc, err := manifest.Encode(m)
		if err == nil {
			all := strings.Split(strings.TrimRight(string(doc), "\n"), "\n")
			n := min(lines, len(all))
			fmt.Fprintf(out, "Manifest (first %d of %d lines, native YAML):\n", n, len(all))
			for _, l := range all[:n] {
				fmt.Fprintf(out, "  %s\n", l)
			}
		}
	}
}

// ---- capture ----

type baselineCaptureCmd struct {
	Instance  string   `help:"Instance to capture (a clean canary launched from the AMI)." required:""`
	Config    string   `help:"Configuration file (aws.region and inventory.types are used)." type:"path" short:"c"`
	Out       string   `help:"Write the manifest to FILE or s3://bucket/key (default: standard output)." short:"o"`
	Parameter string   `help:"Also publish to this SSM parameter ({ami_id} and {ami_name} are expanded): the s3:// URI when --out is one, else the manifest inline."`
	Types     []string `help:"Inventory types to capture (default: the configuration's inventory.types, else AWS:Application)." sep:","`
	Exclude   []string `help:"Drop instance-specific items: globs on package names, file paths, service names, custom keys; prefix package:, file:, service: or custom: to restrict (repeatable)." sep:"none"`

	out, errOut io.Writer
}

func (c *baselineCaptureCmd) Run(g *Globals) error {
	out, errOut := c.out, c.errOut
	if out == nil {
		out = os.Stdout
	}
	if errOut == nil {
		errOut = os.Stderr
	}
	var awsSection config.AWS
	types := c.Types
	if c.Config != "" {
		cfg, err := config.Load(c.Config)
		if err != nil {
			return fail(2, err)
		}
		awsSection = cfg.AWS
		if len(types) == 0 {
			types = cfg.Inventory.Types
		}
	}
	if len(types) > 0 && !containsString(types, drift.TypeApplication) {
		types = append([]string{drift.TypeApplication}, types...)
	}
	ctx, stop := baselineCtx()
	defer stop()
	clients, err := baselineClients(ctx, awsSection)
	if err != nil {
		return fail(2, err)
	}
	res, err := baselines.Capture(ctx, clients.EC2, clients.SSM, baselines.CaptureOptions{
		InstanceID: c.Instance, Types: types, Exclude: c.Exclude,
	})
	if err != nil {
		return fail(2, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(errOut, "driftd: warning: %s\n", w)
	}
	doc, err := manifest.Encode(res.Manifest)
	if err != nil {
		return fail(2, err)
	}
	m := res.Manifest
	where := "standard output"
	switch {
	case c.Out == "" || c.Out == "-":
		if _, err := out.Write(doc); err != nil {
			return fail(2, err)
		}
	case strings.HasPrefix(c.Out, "s3://"):
		etag, err := publish.ToS3(ctx, clients.S3, c.Out, doc)
		if err != nil {
			return fail(2, err)
		}
		where = fmt.Sprintf("%s (etag %s)", c.Out, etag)
	default:
		if err := os.WriteFile(c.Out, doc, 0o644); err != nil {
			return fail(2, err)
		}
		where = c.Out
	}
	fmt.Fprintf(errOut, "driftd: captured %s from %s: %d packages, %d files, %d services -> %s\n",
		m.AMI, c.Instance, len(m.Packages), len(m.Files), len(m.Services), where)
	if c.Parameter != "" {
		name := strings.NewReplacer("{ami_id}", m.AMI, "{ami_name}", m.Name).Replace(c.Parameter)
		value := string(doc)
		if strings.HasPrefix(c.Out, "s3://") {
			value = c.Out
		}
		v, err := publish.ToParameter(ctx, clients.SSM, name, value)
		if err != nil {
			return fail(2, err)
		}
		fmt.Fprintf(errOut, "driftd: published ssm:%s version %d\n", name, v)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ---- diff ----

type baselineDiffCmd struct {
	A      string `arg:"" help:"Current manifest (file or s3://bucket/key)."`
	B      string `arg:"" help:"New manifest (file or s3://bucket/key)."`
	Output string `help:"Output format: text or json." enum:"text,json" default:"text" short:"o"`

	out io.Writer
}

// BaselineDiff is the JSON output of driftd baseline diff.
type BaselineDiff struct {
	A        DiffSide        `json:"a"`
	B        DiffSide        `json:"b"`
	Equal    bool            `json:"equal"`
	Summary  map[string]int  `json:"summary"`
	Findings []drift.Finding `json:"findings,omitempty"`
	// NotCompared lists categories present in only one manifest.
	NotCompared []string `json:"not_compared,omitempty"`
}

// DiffSide describes one manifest of a diff.
type DiffSide struct {
	Where    string `json:"where"`
	AMI      string `json:"ami_id"`
	Name     string `json:"name,omitempty"`
	Packages int    `json:"packages"`
}

func (c *baselineDiffCmd) Run(g *Globals) error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	ctx, stop := baselineCtx()
	defer stop()
	var s3api baselines.S3API
	load := func(where string) (*drift.Manifest, error) {
		var data []byte
		if strings.HasPrefix(where, "s3://") {
			if s3api == nil {
				clients, err := baselineClients(ctx, config.AWS{})
				if err != nil {
					return nil, err
				}
				s3api = clients.S3
			}
			loc, err := baselines.ParseS3URI(where)
			if err != nil {
				return nil, err
			}
			tctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			o, err := s3api.GetObject(tctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			defer o.Body.Close()
			data, err = io.ReadAll(io.LimitReader(o.Body, manifest.MaxDocumentBytes+1))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		} else {
			var err error
			if data, err = os.ReadFile(where); err != nil {
				return nil, err
			}
		}
		return manifest.Decode(where, data, manifest.Options{})
	}
	a, err := load(c.A)
	if err != nil {
		return fail(2, err)
	}
	b, err := load(c.B)
	if err != nil {
		return fail(2, err)
	}
	d, err := diffManifests(a, b, c.A, c.B)
	if err != nil {
		return fail(2, err)
	}
	if c.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return fail(2, err)
		}
	} else {
		writeDiff(out, d)
	}
	if !d.Equal {
		return &ExitError{Code: 1}
	}
	return nil
}

// diffManifests compares B (as an instance that has exactly B's content)
// against A with the drift engine and an empty policy (nothing ignored).
func diffManifests(a, b *drift.Manifest, whereA, whereB string) (*BaselineDiff, error) {
	rep := drift.Compare(a, drift.SnapshotFromManifest(b), &drift.Policy{})
	d := &BaselineDiff{
		A:       DiffSide{Where: whereA, AMI: a.AMI, Name: a.Name, Packages: len(a.Packages)},
		B:       DiffSide{Where: whereB, AMI: b.AMI, Name: b.Name, Packages: len(b.Packages)},
		Summary: map[string]int{"added": 0, "removed": 0, "changed": 0, "upgrades": 0, "downgrades": 0},
	}
	switch rep.Verdict {
	case drift.VerdictInSync, drift.VerdictDrifted:
	default:
		return nil, fmt.Errorf("cannot compare %s and %s: %s (%s)", whereA, whereB, rep.Verdict, strings.Join(rep.Reasons, "; "))
	}
	for _, f := range rep.Findings {
		f.Severity, f.Rule = drift.SeverityNone, ""
		d.Findings = append(d.Findings, f)
		d.Summary[string(f.Change)]++
		switch f.Direction {
		case drift.DirectionUpgrade:
			d.Summary["upgrades"]++
		case drift.DirectionDowngrade:
			d.Summary["downgrades"]++
		}
	}
	cat := func(name string, na, nb int) {
		if (na > 0) != (nb > 0) {
			d.NotCompared = append(d.NotCompared, fmt.Sprintf("%s (A has %d, B has %d)", name, na, nb))
		}
	}
	cat("files", len(a.Files), len(b.Files))
	cat("services", len(a.Services), len(b.Services))
	for t := range a.Custom {
		if b.Custom[t] == nil {
			d.NotCompared = append(d.NotCompared, fmt.Sprintf("%s (only in A)", t))
		}
	}
	sort.Strings(d.NotCompared)
	d.Equal = len(d.Findings) == 0
	return d, nil
}

func writeDiff(out io.Writer, d *BaselineDiff) {
	side := func(mark string, s DiffSide) {
		name := ""
		if s.Name != "" {
			name = " (" + s.Name + ")"
		}
		ami := s.AMI
		if ami == "" {
			ami = "no ami_id"
		}
		fmt.Fprintf(out, "%s %s  %s%s, %d packages\n", mark, s.Where, ami, name, s.Packages)
	}
	side("---", d.A)
	side("+++", d.B)
	if d.Equal {
		fmt.Fprintln(out, "equal: no differences")
	} else {
		s := d.Summary
		fmt.Fprintf(out, "%d added, %d removed, %d changed (%d upgrades, %d downgrades)\n",
			s["added"], s["removed"], s["changed"], s["upgrades"], s["downgrades"])
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		for _, f := range d.Findings {
			mark := map[drift.Change]string{drift.ChangeAdded: "+", drift.ChangeRemoved: "-", drift.ChangeChanged: "~"}[f.Change]
			item := f.Name
			if f.Arch != "" {
				item += "." + f.Arch
			}
			if f.Category != drift.CategoryPackage {
				item = string(f.Category) + " " + item
				if f.Type != "" && f.Category == drift.CategoryCustom {
					item = f.Type + " " + f.Name
				}
			}
			var what string
			switch f.Change {
			case drift.ChangeAdded:
				what = f.Observed
			case drift.ChangeRemoved:
				what = f.Expected
			default:
				what = f.Expected + " -> " + f.Observed
				if f.Attribute != "" && f.Attribute != "version" {
					what = f.Attribute + ": " + what
				}
				if f.Direction != drift.DirectionNone {
					what += " (" + string(f.Direction) + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, item, what)
		}
		tw.Flush()
		out.Write(buf.Bytes()) //nolint:errcheck
	}
	for _, n := range d.NotCompared {
		fmt.Fprintf(out, "not compared: %s\n", n)
	}
}
