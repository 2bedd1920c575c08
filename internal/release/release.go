// Package release builds driftd's release artifacts: static linux/amd64 and
// linux/arm64 binaries stamped with the version and git facts, a CycloneDX
// SBOM of each binary, a tarball per platform with the license and docs,
// and a SHA256SUMS file over all of them. The same commit, Go toolchain
// and SOURCE_DATE_EPOCH give byte-identical artifacts.
//
// cmd/release is the command line; the SBOM tool (cyclonedx-gomod) is
// pinned in the tools module beside this file.
package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/buildinfo"
)

// Target is a platform to build for.
type Target struct{ GOOS, GOARCH string }

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// Targets are the platforms of a release.
var Targets = []Target{{"linux", "amd64"}, {"linux", "arm64"}}

// MainPackage is the package a release builds, relative to the module root.
const MainPackage = "./cmd/driftd"

// DocFiles go into every tarball beside the binary.
var DocFiles = []string{"LICENSE", "README.md", "CHANGELOG.md", "SECURITY.md"}

// Stamp is what a build writes into internal/buildinfo.
type Stamp struct {
	Version   string
	Revision  string
	Branch    string
	BuildDate string // RFC 3339, UTC
	Modified  bool
}

// LDFlags are the linker flags of a release build: no symbol table or
// DWARF (-s -w), and the stamp.
func (s Stamp) LDFlags() string {
	x := func(name, v string) string { return "-X " + buildinfo.Package + "." + name + "=" + v }
	return strings.Join([]string{"-s", "-w",
		x("Version", s.Version), x("Revision", s.Revision), x("Branch", s.Branch),
		x("BuildDate", s.BuildDate), x("Modified", strconv.FormatBool(s.Modified)),
	}, " ")
}

// BuildArgs are the arguments of `go` that build MainPackage into out.
// -buildvcs=false: every git fact is in the stamp, so a build from a
// worktree, a clone or a source tree without .git (a container build)
// gives the same bytes.
func BuildArgs(s Stamp, out string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", s.LDFlags(), "-o", out, MainPackage}
}

// BuildEnv is the environment of a release build on top of the caller's:
// static (no cgo), for the target, with the baseline instruction sets and
// no GOFLAGS or GOEXPERIMENT from the caller that would change the output.
func BuildEnv(t Target) []string {
	return []string{"CGO_ENABLED=0", "GOOS=" + t.GOOS, "GOARCH=" + t.GOARCH,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly", "GOEXPERIMENT="}
}

// Options of a release build.
type Options struct {
	Dir      string // module root: the git checkout to build
	Out      string // output directory; must not exist or be empty
	Version  string // vMAJOR.MINOR.PATCH[-PRERELEASE]; ignored with Snapshot
	Snapshot bool   // version 0.0.0-SNAPSHOT-<commit>; a modified tree is allowed
	Targets  []Target
	// SourceDateEpoch is the build date in Unix seconds; 0 means the
	// SOURCE_DATE_EPOCH environment variable, or else the commit time.
	SourceDateEpoch int64
	Go              string // the go command; "go" when empty
	// SBOMTool is a cyclonedx-gomod binary built by BuildSBOMTool; empty
	// builds one for this run.
	SBOMTool string
	Log      io.Writer // progress; nil is quiet
}

// Artifact is one file of a release.
type Artifact struct {
	Name   string // path relative to Out, slash-separated
	Kind   string // binary, archive, sbom, checksums
	Target Target // zero for SHA256SUMS
	SHA256 string
}

// Result of a release build.
type Result struct {
	Stamp     Stamp
	Artifacts []Artifact
}

var semverRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// SnapshotVersion is the version of a snapshot build of commit rev.
func SnapshotVersion(rev string) string { return "0.0.0-SNAPSHOT-" + short(rev) }

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// Build builds the release artifacts of opts.Dir into opts.Out.
func Build(ctx context.Context, opts Options) (*Result, error) {
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if len(opts.Targets) == 0 {
		opts.Targets = Targets
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, err
	}
	stamp, err := stampOf(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(out); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "release %s (revision %s, modified %t, built %s)\n", stamp.Version, stamp.Revision, stamp.Modified, stamp.BuildDate)
	mtime, _ := time.Parse(time.RFC3339, stamp.BuildDate)

	cdx := opts.SBOMTool
	if cdx == "" {
		tools, err := os.MkdirTemp("", "driftd-release-tools-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tools)
		cdx = filepath.Join(tools, "cyclonedx-gomod")
		if err := BuildSBOMTool(ctx, opts.Go, dir, cdx); err != nil {
			return nil, err
		}
	}

	res := &Result{Stamp: stamp}
	for _, t := range opts.Targets {
		base := fmt.Sprintf("driftd_%s_%s_%s", stamp.Version, t.GOOS, t.GOARCH)
		stage := filepath.Join(out, base)
		bin := filepath.Join(stage, "driftd")
		fmt.Fprintf(opts.Log, "build %s\n", t)
		cmd := exec.CommandContext(ctx, opts.Go, BuildArgs(stamp, bin)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), BuildEnv(t)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build for %s: %v\n%s", t, err, b)
		}
		if err := CheckBinary(bin, t); err != nil {
			return nil, err
		}
		for _, f := range DocFiles {
			if err := copyFile(filepath.Join(dir, f), filepath.Join(stage, f)); err != nil {
				return nil, err
			}
		}
		sbom := base + ".cdx.json"
		fmt.Fprintf(opts.Log, "sbom %s\n", sbom)
		if err := writeSBOM(ctx, cdx, bin, t, stamp.Version, filepath.Join(out, sbom)); err != nil {
			return nil, err
		}
		archive := base + ".tar.gz"
		if err := writeTarGz(filepath.Join(out, archive), stage, base, mtime); err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		res.Artifacts = append(res.Artifacts,
			Artifact{Name: archive, Kind: "archive", Target: t},
			Artifact{Name: base + "/driftd", Kind: "binary", Target: t},
			Artifact{Name: sbom, Kind: "sbom", Target: t})
	}
	sort.Slice(res.Artifacts, func(i, j int) bool { return res.Artifacts[i].Name < res.Artifacts[j].Name })
	var sums bytes.Buffer
	for i, a := range res.Artifacts {
		sum, err := fileSHA256(filepath.Join(out, filepath.FromSlash(a.Name)))
		if err != nil {
			return nil, err
		}
		res.Artifacts[i].SHA256 = sum
		fmt.Fprintf(&sums, "%s  %s\n", sum, a.Name)
	}
	if err := os.WriteFile(filepath.Join(out, ChecksumsFile), sums.Bytes(), 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sums.Bytes())
	res.Artifacts = append(res.Artifacts, Artifact{Name: ChecksumsFile, Kind: "checksums", SHA256: hex.EncodeToString(sum[:])})
	fmt.Fprintf(opts.Log, "wrote %s\n", filepath.Join(out, ChecksumsFile))
	return res, nil
}

// ChecksumsFile lists the SHA-256 of every other artifact in the format of
// sha256sum(1): `cd dist && sha256sum -c SHA256SUMS`.
const ChecksumsFile = "SHA256SUMS"

// stampOf reads the git facts of dir and decides the version.
func stampOf(ctx context.Context, dir string, opts Options) (Stamp, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(b)), nil
	}
	var s Stamp
	var err error
	if s.Revision, err = git("rev-parse", "--verify", "HEAD"); err != nil {
		return s, fmt.Errorf("release: %s is not a git checkout with a commit: %w", dir, err)
	}
	// Empty on a detached HEAD (a CI checkout of a tag or commit).
	s.Branch, _ = git("symbolic-ref", "--quiet", "--short", "HEAD")
	status, err := git("status", "--porcelain")
	if err != nil {
		return s, err
	}
	s.Modified = status != ""
	epoch := opts.SourceDateEpoch
	if epoch == 0 {
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			if epoch, err = strconv.ParseInt(v, 10, 64); err != nil || epoch <= 0 {
				return s, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds", v)
			}
		}
	}
	if epoch == 0 {
		ct, err := git("log", "-1", "--format=%ct", "HEAD")
		if err != nil {
			return s, err
		}
		if epoch, err = strconv.ParseInt(ct, 10, 64); err != nil {
			return s, fmt.Errorf("commit time %q: %w", ct, err)
		}
	}
	s.BuildDate = time.Unix(epoch, 0).UTC().Format(time.RFC3339)

	if opts.Snapshot {
		s.Version = SnapshotVersion(s.Revision)
		return s, nil
	}
	if !semverRE.MatchString(opts.Version) {
		return s, fmt.Errorf("release: version %q: want vMAJOR.MINOR.PATCH[-PRERELEASE] (or a snapshot)", opts.Version)
	}
	s.Version = opts.Version
	if s.Modified {
		return s, fmt.Errorf("release %s: the working tree has uncommitted changes:\n%s", s.Version, status)
	}
	tags, err := git("tag", "--points-at", "HEAD")
	if err != nil {
		return s, err
	}
	for _, t := range strings.Fields(tags) {
		if t == s.Version {
			return s, nil
		}
	}
	return s, fmt.Errorf("release %s: HEAD (%s) is not tagged %s; tag it first (git tag -a %s)", s.Version, short(s.Revision), s.Version, s.Version)
}

// emptyDir makes sure dir exists and is empty.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("release: output directory %s is not empty (remove it, or pass -clean)", dir)
	}
	return nil
}

// BuildSBOMTool builds cyclonedx-gomod, pinned in dir's
// internal/release/tools, into out for the machine running the release.
// The SBOM records the tool's own hashes, so it is built with -trimpath:
// the same on every machine.
func BuildSBOMTool(ctx context.Context, goCmd, dir, out string) error {
	cmd := exec.CommandContext(ctx, goCmd, "-C", filepath.Join(dir, "internal", "release", "tools"),
		"build", "-trimpath", "-buildvcs=false", "-o", out, "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod")
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building cyclonedx-gomod: %v\n%s", err, b)
	}
	return nil
}

// writeSBOM writes the CycloneDX SBOM of bin: the modules the toolchain
// recorded in the binary, with their checksums, and the build settings.
// The serial number derives from the binary's SHA-256 and no timestamp is
// written, so the SBOM is as reproducible as the binary. cyclonedx-gomod
// takes the package URLs' goos and goarch from `go env`, hence the target's
// GOOS and GOARCH in its environment.
func writeSBOM(ctx context.Context, cdx, bin string, t Target, version, out string) error {
	sum, err := fileSHA256(bin)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, cdx, "bin", "-json", "-notimestamp", "-serial", serialOf(sum),
		"-version", version, "-output", out, bin)
	cmd.Env = append(os.Environ(), "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cyclonedx-gomod bin %s: %v\n%s", bin, err, b)
	}
	return nil
}

// serialOf is a urn:uuid (RFC 9562 version 8, custom) made of a SHA-256.
func serialOf(sha256hex string) string {
	b, _ := hex.DecodeString(sha256hex[:32])
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeTarGz packs the files of dir under prefix/ with fixed owners, modes
// and mtime, in name order.
func writeTarGz(out, dir, prefix string, mtime time.Time) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	hdr := func(name string, mode int64, typ byte, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: size, ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(prefix+"/", 0o755, tar.TypeDir, 0)); err != nil {
		return err
	}
	for _, e := range ents { // ReadDir sorts by name
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if e.Name() == "driftd" {
			mode = 0o755
		}
		if err := tw.WriteHeader(hdr(prefix+"/"+e.Name(), mode, tar.TypeReg, int64(len(b)))); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
