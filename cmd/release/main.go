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
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/driftd/driftd/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: 0 on success, 1 when the build fails, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "release version, vMAJOR.MINOR.PATCH[-PRERELEASE]; HEAD must carry the tag and the tree be clean")
	snapshot := fs.Bool("snapshot", false, "build version 0.0.0-SNAPSHOT-<commit> from the tree as it is")
	dir := fs.String("C", ".", "the driftd checkout to build")
	out := fs.String("out", "dist", "output directory; must not exist or be empty")
	clean := fs.Bool("clean", false, "remove the output directory first")
	targets := fs.String("targets", "", "comma-separated subset of the release targets (default all: linux/amd64,linux/arm64)")
	const usage = "usage: release (-version vX.Y.Z | -snapshot) [-C dir] [-out dist] [-clean] [-targets linux/amd64]"
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*version == "") == !*snapshot {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	opts := release.Options{Dir: *dir, Out: *out, Version: *version, Snapshot: *snapshot, Log: stderr}
	if *targets != "" {
		for _, s := range strings.Split(*targets, ",") {
			t, ok := parseTarget(s)
			if !ok {
				fmt.Fprintf(stderr, "release: -targets %q: %q is not one of %v\n", *targets, s, release.Targets)
				return 2
			}
			opts.Targets = append(opts.Targets, t)
		}
	}
	if *clean {
		if err := removeOut(*out); err != nil {
			fmt.Fprintln(stderr, "release:", err)
			return 1
		}
	}
	res, err := release.Build(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, a := range res.Artifacts {
		fmt.Fprintf(stdout, "%s  %s\n", a.SHA256, filepath.Join(*out, a.Name))
	}
	return 0
}

// removeOut removes the output directory for -clean, refusing a filesystem
// root.
func removeOut(out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if abs == filepath.Dir(abs) {
		return fmt.Errorf("-clean: refusing to remove %s", abs)
	}
	return os.RemoveAll(abs)
}

func parseTarget(s string) (release.Target, bool) {
	for _, t := range release.Targets {
		if t.String() == strings.TrimSpace(s) {
			return t, true
		}
	}
	return release.Target{}, false
}
