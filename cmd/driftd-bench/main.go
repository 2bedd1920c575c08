// Command driftd-bench measures driftd's scan path at fleet scale: it builds
// generated fleets in the simulated region (awssim, in-process, served over
// loopback HTTP), scans them with the real daemon (internal/daemon: real SDK
// clients, rate limiters, retries, the SSM API or Resource Data Sync
// collector) and prints a markdown table per scenario: API calls made
// against the lower bound, wall time, throughput, peak RSS, and, where
// relevant, the ratio to the throttle-limited minimum or to the
// download-and-decode floor.
//
// Each scenario runs in a child process of the same binary, so peak RSS
// (VmHWM) is per scenario.
//
//	go run ./cmd/driftd-bench                   # every scenario (several minutes)
//	go run ./cmd/driftd-bench -quick            # tiny fleets, seconds
//	go run ./cmd/driftd-bench -scenarios s3-10k-cold,api-1k-warm -out docs/benchmarks.md
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("driftd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := fs.String("scenarios", "all", "comma-separated scenario names, or all (see -list)")
	quick := fs.Bool("quick", false, "tiny fleets (instances/50, 100 packages, throttled scenarios 10/20 instances)")
	out := fs.String("out", "", "also write the markdown report to this file")
	list := fs.Bool("list", false, "list the scenarios and exit")
	child := fs.String("child", "", "internal: run one scenario in this process and print its JSON result")
	cpuprofile := fs.String("cpuprofile", "", "with -child: write a CPU profile of the measured scan")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *child != "" {
		sc, ok := findScenario(*child)
		if !ok {
			fmt.Fprintf(stderr, "unknown scenario %q\n", *child)
			return 2
		}
		profilePath = *cpuprofile
		res, err := runScenario(sc.scaled(*quick))
		if err != nil {
			fmt.Fprintf(stderr, "scenario %s: %v\n", sc.Name, err)
			return 1
		}
		_ = json.NewEncoder(stdout).Encode(res)
		return 0
	}
	if *list {
		for _, s := range scenarios {
			fmt.Fprintf(stdout, "%-26s %s\n", s.Name, s.describe())
		}
		return 0
	}
	var selected []scenario
	for _, n := range strings.Split(*names, ",") {
		n = strings.TrimSpace(n)
		if n == "all" {
			selected = append(selected, scenarios...)
			continue
		}
		s, ok := findScenario(n)
		if !ok {
			fmt.Fprintf(stderr, "unknown scenario %q (see -list)\n", n)
			return 2
		}
		selected = append(selected, s)
	}
	results, err := runChildren(selected, *quick, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	report := renderReport(results, *quick)
	fmt.Fprint(stdout, report)
	if *out != "" {
		if werr := os.WriteFile(*out, []byte(report), 0o644); werr != nil {
			fmt.Fprintln(stderr, werr)
			return 1
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// runChildren runs each scenario in a child process of this binary.
func runChildren(list []scenario, quick bool, stderr io.Writer) ([]Result, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var out []Result
	var failed []string
	for _, s := range list {
		args := []string{"-child", s.Name}
		if quick {
			args = append(args, "-quick")
		}
		fmt.Fprintf(stderr, "running %s ...\n", s.Name)
		start := time.Now()
		cmd := exec.Command(self, args...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, stderr
		if err := cmd.Run(); err != nil {
			failed = append(failed, s.Name+": "+err.Error())
			continue
		}
		var r Result
		if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
			failed = append(failed, s.Name+": bad child output: "+err.Error())
			continue
		}
		fmt.Fprintf(stderr, "  done in %v\n", time.Since(start).Round(time.Second))
		out = append(out, r)
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("failed scenarios:\n  %s", strings.Join(failed, "\n  "))
	}
	return out, nil
}
