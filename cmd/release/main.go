// Command release builds driftd's release artifacts into a directory
// (dist/ by default): static linux/amd64 and linux/arm64 binaries, a
// tarball of each with LICENSE, README, CHANGELOG and SECURITY, a CycloneDX
// SBOM of each binary, and SHA256SUMS.
//
//	go run ./cmd/release -version v1.2.3   # a release: clean tree, HEAD tagged v1.2.3
//	go run ./cmd/release -snapshot -clean  # version 0.0.0-SNAPSHOT-<commit>, any tree
//
// The build date is SOURCE_DATE_EPOCH, or else the commit time, so the same
// commit and Go toolchain give byte-identical artifacts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/driftd/driftd/internal/release"
)

func main() {
	version := flag.String("version", "", "release version, vMAJOR.MINOR.PATCH[-PRERELEASE]; HEAD must carry the tag and the tree be clean")
	snapshot := flag.Bool("snapshot", false, "build version 0.0.0-SNAPSHOT-<commit> from the tree as it is")
	out := flag.String("out", "dist", "output directory; must not exist or be empty")
	clean := flag.Bool("clean", false, "remove the output directory first")
	targets := flag.String("targets", "", "comma-separated GOOS/GOARCH subset of the release targets (default all: linux/amd64,linux/arm64)")
	flag.Parse()
	if flag.NArg() > 0 || (*version == "") == !*snapshot {
		fmt.Fprintln(os.Stderr, "usage: release (-version vX.Y.Z | -snapshot) [-out dist] [-clean] [-targets linux/amd64]")
		os.Exit(2)
	}
	opts := release.Options{Dir: ".", Out: *out, Version: *version, Snapshot: *snapshot, Log: os.Stderr}
	if *targets != "" {
		for _, s := range strings.Split(*targets, ",") {
			t, ok := parseTarget(s)
			if !ok {
				fmt.Fprintf(os.Stderr, "release: -targets %q: %q is not one of %v\n", *targets, s, release.Targets)
				os.Exit(2)
			}
			opts.Targets = append(opts.Targets, t)
		}
	}
	if *clean {
		abs, err := filepath.Abs(*out)
		if err == nil && (abs == "/" || abs == filepath.Dir(abs)) {
			err = fmt.Errorf("refusing to remove %s", abs)
		}
		if err == nil {
			err = os.RemoveAll(*out)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := release.Build(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range res.Artifacts {
		fmt.Printf("%s  %s\n", a.SHA256, filepath.Join(*out, a.Name))
	}
}

func parseTarget(s string) (release.Target, bool) {
	for _, t := range release.Targets {
		if t.String() == strings.TrimSpace(s) {
			return t, true
		}
	}
	return release.Target{}, false
}
