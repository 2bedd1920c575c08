package release

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureMain is the main package of the fixture module: it prints what the
// release stamped, so a test can run the binary and read the stamp back.
const fixtureMain = `package main

import (
	"fmt"

	"github.com/driftd/driftd/internal/buildinfo"
)

func main() {
	fmt.Printf("%s|%s|%s|%s|%s\n", buildinfo.Version, buildinfo.Revision, buildinfo.Branch, buildinfo.BuildDate, buildinfo.Modified)
}
`

// fixture makes a git checkout laid out like driftd (module path, main
// package, stamped variables, release docs, the pinned tools module) but
// with a main package that builds in a second, so the release logic is
// tested end to end without building driftd itself.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tools := func(name string) string {
		b, err := os.ReadFile(filepath.Join("tools", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	files := map[string]string{
		"go.mod":                          "module github.com/driftd/driftd\n\ngo 1.26\n",
		"cmd/driftd/main.go":              fixtureMain,
		"internal/buildinfo/buildinfo.go": "package buildinfo\n\nvar Version, Revision, Branch, BuildDate, Modified string\n",
		"internal/release/tools/go.mod":   tools("go.mod"),
		"internal/release/tools/go.sum":   tools("go.sum"),
	}
	for _, f := range DocFiles {
		files[f] = f + " of the fixture\n"
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "fixture")
	return dir
}

// fixtureCommitTime is the commit and author date of fixture commits.
const fixtureCommitTime = "2026-01-02T03:04:05Z"

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+fixtureCommitTime, "GIT_COMMITTER_DATE="+fixtureCommitTime, "SOURCE_DATE_EPOCH=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, b)
	}
	return strings.TrimSpace(string(b))
}

// sbomTool is cyclonedx-gomod built once for the tests that do not test
// building it (linking it takes seconds).
var sbomTool = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "driftd-release-test-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "cyclonedx-gomod")
	return out, BuildSBOMTool(context.Background(), "go", "../..", out)
})

func TestMain(m *testing.M) {
	code := m.Run()
	if p, err := sbomTool(); err == nil {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// build runs Build with the shared SBOM tool.
func build(t *testing.T, opts Options) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if opts.SBOMTool == "" {
		tool, err := sbomTool()
		if err != nil {
			t.Fatalf("building cyclonedx-gomod: %v", err)
		}
		opts.SBOMTool = tool
	}
	return Build(ctx, opts)
}

// TestSnapshotBuild builds a snapshot of the fixture for both targets and
// checks every artifact: static binaries for the right machine carrying the
// stamp, tarballs with the binary and the docs, SBOMs naming the version,
// and a SHA256SUMS that sha256sum -c accepts.
func TestSnapshotBuild(t *testing.T) {
	dir := fixture(t)
	rev := git(t, dir, "rev-parse", "HEAD")
	out := filepath.Join(t.TempDir(), "dist")
	// No SBOMTool: this build also builds cyclonedx-gomod from the tools module.
	t.Setenv("SOURCE_DATE_EPOCH", "")
	res, err := Build(context.Background(), Options{Dir: dir, Out: out, Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	version := "0.0.0-SNAPSHOT-" + rev[:12]
	want := Stamp{Version: version, Revision: rev, Branch: "main", BuildDate: fixtureCommitTime, Modified: false}
	if res.Stamp != want {
		t.Errorf("stamp %+v, want %+v", res.Stamp, want)
	}
	var names []string
	for _, a := range res.Artifacts {
		names = append(names, a.Kind+" "+a.Name)
	}
	wantNames := []string{}
	for _, arch := range []string{"amd64", "arm64"} {
		base := "driftd_" + version + "_linux_" + arch
		wantNames = append(wantNames, "sbom "+base+".cdx.json", "archive "+base+".tar.gz", "binary "+base+"/driftd")
	}
	wantNames = append(wantNames, "checksums SHA256SUMS")
	if strings.Join(names, "\n") != strings.Join(wantNames, "\n") {
		t.Errorf("artifacts:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(wantNames, "\n"))
	}

	for _, a := range res.Artifacts {
		p := filepath.Join(out, filepath.FromSlash(a.Name))
		switch a.Kind {
		case "binary":
			if err := CheckBinary(p, a.Target); err != nil {
				t.Error(err)
			}
			if a.Target.GOOS == runtime.GOOS && a.Target.GOARCH == runtime.GOARCH {
				got, err := exec.Command(p).Output()
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				wantOut := strings.Join([]string{version, rev, "main", fixtureCommitTime, "false"}, "|")
				if strings.TrimSpace(string(got)) != wantOut {
					t.Errorf("%s prints %q, want the stamp %q", a.Name, got, wantOut)
				}
			}
		case "archive":
			checkTarball(t, p, strings.TrimSuffix(a.Name, ".tar.gz"))
		case "sbom":
			checkSBOM(t, p, version, a.Target)
		}
	}

	// sha256sum(1) accepts SHA256SUMS, and it lists every other artifact.
	cmd := exec.Command("sha256sum", "--check", "--strict", ChecksumsFile)
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, b)
	}
	sums, err := os.ReadFile(filepath.Join(out, ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(sums), "\n"); n != len(res.Artifacts)-1 {
		t.Errorf("SHA256SUMS has %d lines, want %d:\n%s", n, len(res.Artifacts)-1, sums)
	}
}

func checkTarball(t *testing.T, path, prefix string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got[h.Name] = h.Mode
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(mustTime(t, fixtureCommitTime)) {
			t.Errorf("%s: %s owner %d:%d mtime %v, want 0:0 and the commit time", path, h.Name, h.Uid, h.Gid, h.ModTime)
		}
	}
	want := map[string]int64{prefix + "/": 0o755, prefix + "/driftd": 0o755}
	for _, d := range DocFiles {
		want[prefix+"/"+d] = 0o644
	}
	if len(got) != len(want) {
		t.Errorf("%s holds %v, want %v", path, got, want)
	}
	for name, mode := range want {
		if m, ok := got[name]; !ok || m != mode {
			t.Errorf("%s: %s mode %o (present %t), want %o", path, name, m, ok, mode)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func checkSBOM(t *testing.T, path, version string, target Target) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Timestamp string `json:"timestamp"`
			Component struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				PURL    string `json:"purl"`
			} `json:"component"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := bom.Metadata.Component
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" || c.Name != "github.com/driftd/driftd" || c.Version != version {
		t.Errorf("%s: bomFormat %q spec %q component %s@%s, want CycloneDX github.com/driftd/driftd@%s", path, bom.BOMFormat, bom.SpecVersion, c.Name, c.Version, version)
	}
	if !strings.Contains(c.PURL, "goos="+target.GOOS) || !strings.Contains(c.PURL, "goarch="+target.GOARCH) {
		t.Errorf("%s: purl %q does not name %s", path, c.PURL, target)
	}
	if bom.Metadata.Timestamp != "" {
		t.Errorf("%s: timestamp %q makes the SBOM irreproducible", path, bom.Metadata.Timestamp)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("%s: serialNumber %q, want a version 8 urn:uuid", path, bom.SerialNumber)
	}
}

// TestReproducible: two builds of the same commit give the same bytes,
// whatever the output directory.
func TestReproducible(t *testing.T) {
	dir := fixture(t)
	targets := []Target{{"linux", "arm64"}}
	a, err := build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "a"), Snapshot: true, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "b"), Snapshot: true, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Artifacts) != 4 || len(a.Artifacts) != len(b.Artifacts) {
		t.Fatalf("artifacts %v and %v", a.Artifacts, b.Artifacts)
	}
	for i := range a.Artifacts {
		if a.Artifacts[i] != b.Artifacts[i] {
			t.Errorf("build 1 %+v, build 2 %+v", a.Artifacts[i], b.Artifacts[i])
		}
	}
}

// TestReleaseChecks: a release (not a snapshot) needs a valid version, a
// clean tree and HEAD tagged with that version; the error says which.
func TestReleaseChecks(t *testing.T) {
	dir := fixture(t)
	amd64 := []Target{{"linux", "amd64"}}
	for _, tc := range []struct {
		name, version, want string
	}{
		{"not semver", "1.2.3", `version "1.2.3": want vMAJOR.MINOR.PATCH`},
		{"leading zero", "v1.02.3", `version "v1.02.3"`},
		{"untagged", "v1.2.3", "HEAD (" + git(t, dir, "rev-parse", "--short=12", "HEAD") + ") is not tagged v1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "d"), Version: tc.version, Targets: amd64})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}

	git(t, dir, "tag", "-a", "-m", "v1.2.3-rc.1", "v1.2.3-rc.1")
	res, err := build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "d"), Version: "v1.2.3-rc.1", Targets: amd64})
	if err != nil {
		t.Fatalf("tagged clean release: %v", err)
	}
	if res.Stamp.Version != "v1.2.3-rc.1" || res.Stamp.Modified || !strings.HasPrefix(res.Artifacts[0].Name, "driftd_v1.2.3-rc.1_linux_amd64") {
		t.Errorf("release stamp %+v, artifacts %v", res.Stamp, res.Artifacts)
	}

	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "d"), Version: "v1.2.3-rc.1", Targets: amd64})
	if err == nil || !strings.Contains(err.Error(), "uncommitted changes") || !strings.Contains(err.Error(), "README.md") {
		t.Fatalf("dirty tree: err %v, want uncommitted changes naming README.md", err)
	}
	res, err = build(t, Options{Dir: dir, Out: filepath.Join(t.TempDir(), "d"), Snapshot: true, Targets: amd64})
	if err != nil || !res.Stamp.Modified {
		t.Fatalf("snapshot of a dirty tree: err %v, stamp %+v, want built and marked modified", err, res)
	}
}

func TestBuildRefuses(t *testing.T) {
	dir := fixture(t)
	full := filepath.Join(t.TempDir(), "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	for _, tc := range []struct {
		name string
		opts Options
		env  string
		want string
	}{
		{"output not empty", Options{Dir: dir, Out: full, Snapshot: true}, "", "output directory " + full + " is not empty"},
		{"not a checkout", Options{Dir: t.TempDir(), Out: t.TempDir(), Snapshot: true}, "", "is not a git checkout with a commit"},
		{"bad SOURCE_DATE_EPOCH", Options{Dir: dir, Out: t.TempDir(), Snapshot: true}, "yesterday", `SOURCE_DATE_EPOCH="yesterday": want Unix seconds`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tc.env)
			_, err := Build(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestSourceDateEpoch: SOURCE_DATE_EPOCH overrides the commit time.
func TestSourceDateEpoch(t *testing.T) {
	dir := fixture(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	s, err := stampOf(context.Background(), dir, Options{Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.BuildDate != "2023-11-14T22:13:20Z" {
		t.Errorf("build date %q, want 2023-11-14T22:13:20Z", s.BuildDate)
	}
}

func TestLDFlagsAndBuildArgs(t *testing.T) {
	s := Stamp{Version: "v1.2.3", Revision: "abc", Branch: "main", BuildDate: "2026-01-02T03:04:05Z", Modified: true}
	got := strings.Join(BuildArgs(s, "/o/driftd"), " ")
	want := "build -trimpath -buildvcs=false -ldflags -s -w" +
		" -X github.com/driftd/driftd/internal/buildinfo.Version=v1.2.3" +
		" -X github.com/driftd/driftd/internal/buildinfo.Revision=abc" +
		" -X github.com/driftd/driftd/internal/buildinfo.Branch=main" +
		" -X github.com/driftd/driftd/internal/buildinfo.BuildDate=2026-01-02T03:04:05Z" +
		" -X github.com/driftd/driftd/internal/buildinfo.Modified=true -o /o/driftd ./cmd/driftd"
	if got != want {
		t.Errorf("BuildArgs:\n got %s\nwant %s", got, want)
	}
	env := strings.Join(BuildEnv(Target{"linux", "arm64"}), " ")
	for _, w := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"} {
		if !strings.Contains(env, w) {
			t.Errorf("BuildEnv %q lacks %s", env, w)
		}
	}
}

func TestSerialOf(t *testing.T) {
	got := serialOf("86d19f4feb9334efcf929fc70a8bb244e2705b318479081c3ab4e5675d4737fa")
	if want := "urn:uuid:86d19f4f-eb93-84ef-8f92-9fc70a8bb244"; got != want {
		t.Errorf("serialOf = %s, want %s", got, want)
	}
}

// TestCheckBinary: what is not a static binary for the target is refused
// with the reason.
func TestCheckBinary(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n# a shell script is not an ELF executable, whatever its length.\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary itself: built with cgo allowed and without -trimpath.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := Target{runtime.GOOS, runtime.GOARCH}
	other := Target{"linux", "arm64"}
	if host == other {
		other = Target{"linux", "amd64"}
	}
	cases := []struct {
		name, path string
		target     Target
		want       string
	}{
		{"not ELF", notELF, host, "bad magic number"},
		{"no such target", self, Target{"plan9", "386"}, "no release target plan9/386"},
		{"wrong machine", self, other, "ELF machine"},
	}
	if _, ok := machines[host]; ok {
		cases = append(cases, struct {
			name, path string
			target     Target
			want       string
		}{"test binary", self, host, ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBinary(tc.path, tc.target)
			if err == nil {
				t.Fatalf("CheckBinary(%s, %s) accepted it", tc.path, tc.target)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("err %q, want it to name the file and contain %q", err, tc.want)
			}
		})
	}
}
