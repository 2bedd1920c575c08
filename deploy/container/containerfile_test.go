// Package container holds driftd's Containerfile. The tests check its shape
// (digest-pinned bases, non-root, state volume, OCI labels) and that its
// build step is the release build of internal/release, whose binaries CI
// checks for being static (go run ./cmd/release -snapshot in .ci/run).
package container

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/release"
)

type stage struct {
	from  string
	lines []string // instructions after FROM, continuation lines joined
}

type containerfile struct {
	args   map[string]string // ARG before the first FROM, with defaults
	stages []stage
}

func parseContainerfile(t *testing.T) containerfile {
	t.Helper()
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	cf := containerfile{args: map[string]string{}}
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		switch {
		case line == "":
		case strings.HasPrefix(line, "FROM "):
			cf.stages = append(cf.stages, stage{from: strings.TrimSpace(strings.TrimPrefix(line, "FROM "))})
		case len(cf.stages) == 0 && strings.HasPrefix(line, "ARG "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "ARG "), "=")
			cf.args[k] = v
		case len(cf.stages) > 0:
			cf.stages[len(cf.stages)-1].lines = append(cf.stages[len(cf.stages)-1].lines, line)
		}
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return cf
}

func find(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, prefix)))
		}
	}
	return out
}

var digestPinned = regexp.MustCompile(`^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`)

func TestContainerfileShape(t *testing.T) {
	cf := parseContainerfile(t)
	if len(cf.stages) != 2 {
		t.Fatalf("want 2 stages (build, final), got %d", len(cf.stages))
	}
	for _, a := range []string{"GO_IMAGE", "BASE_IMAGE"} {
		if v := cf.args[a]; !digestPinned.MatchString(v) {
			t.Errorf("ARG %s=%q: want a base image pinned by tag and digest (image:tag@sha256:...)", a, v)
		}
	}
	if !strings.Contains(cf.args["GO_IMAGE"], "/golang:") || !strings.Contains(cf.args["BASE_IMAGE"], "distroless/static") {
		t.Errorf("GO_IMAGE %q, BASE_IMAGE %q: want golang and distroless static", cf.args["GO_IMAGE"], cf.args["BASE_IMAGE"])
	}
	if cf.stages[0].from != "--platform=$BUILDPLATFORM ${GO_IMAGE} AS build" {
		t.Errorf("build stage FROM %q, want it on the builder's platform from ${GO_IMAGE}", cf.stages[0].from)
	}
	final := cf.stages[1]
	if final.from != "${BASE_IMAGE}" {
		t.Errorf("final stage FROM %q, want ${BASE_IMAGE}", final.from)
	}
	u := find(final.lines, "USER ")
	if len(u) != 1 || !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(u[0]) {
		t.Fatalf("final USER = %q, want one numeric non-root uid:gid (Kubernetes runAsNonRoot checks numbers)", u)
	}
	if v := find(final.lines, "VOLUME "); len(v) != 1 || v[0] != `["/var/lib/driftd"]` {
		t.Errorf("VOLUME = %q, want [\"/var/lib/driftd\"]", v)
	}
	// The state directory exists in the image and belongs to USER, so a
	// fresh named volume is writable by driftd.
	if !slices.Contains(find(final.lines, "COPY "), "--from=build --chown="+u[0]+" /out/state /var/lib/driftd") {
		t.Errorf("no COPY of the state directory to /var/lib/driftd owned by %s in %q", u[0], find(final.lines, "COPY "))
	}
	if e := find(final.lines, "EXPOSE "); len(e) != 1 || e[0] != "9464" {
		t.Errorf("EXPOSE = %q, want 9464", e)
	}
	var ep []string
	if e := find(final.lines, "ENTRYPOINT "); len(e) != 1 || json.Unmarshal([]byte(e[0]), &ep) != nil || len(ep) != 2 || ep[1] != "run" {
		t.Errorf("ENTRYPOINT = %q, want exec form [driftd, run]", e)
	}
}

// TestOCILabels: the final image carries the OCI annotations a registry and
// a scanner read, the version facts come from the build arguments, and the
// license is the repository's.
func TestOCILabels(t *testing.T) {
	cf := parseContainerfile(t)
	labels := map[string]string{}
	for _, l := range find(cf.stages[1].lines, "LABEL ") {
		for _, m := range regexp.MustCompile(`(\S+)="([^"]*)"`).FindAllStringSubmatch(l, -1) {
			labels[m[1]] = m[2]
		}
	}
	want := map[string]string{
		"org.opencontainers.image.title":    "driftd",
		"org.opencontainers.image.source":   "https://github.com/driftd/driftd",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  "${VERSION}",
		"org.opencontainers.image.revision": "${REVISION}",
		"org.opencontainers.image.created":  "${BUILD_DATE}",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("LABEL %s=%q, want %q", k, labels[k], v)
		}
	}
	for _, k := range []string{"description", "url", "documentation", "base.name"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("LABEL org.opencontainers.image.%s missing", k)
		}
	}
	if base, _, _ := strings.Cut(cf.args["BASE_IMAGE"], "@"); labels["org.opencontainers.image.base.name"] != base {
		t.Errorf("base.name %q, want the pinned base %q", labels["org.opencontainers.image.base.name"], base)
	}
	lic, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lic), "Apache License") || !strings.Contains(string(lic), "Version 2.0") {
		t.Errorf("LICENSE is not the Apache License 2.0 the label claims")
	}
	for _, a := range []string{"VERSION", "REVISION", "BUILD_DATE"} {
		if len(find(cf.stages[1].lines, "ARG "+a)) != 1 {
			t.Errorf("final stage does not declare ARG %s, so its label would be empty", a)
		}
	}
}

// TestBuildIsTheReleaseBuild: the Containerfile's go build has exactly the
// arguments and environment of internal/release's build, with the stamp
// from build arguments, so an image's binary is a release binary.
func TestBuildIsTheReleaseBuild(t *testing.T) {
	cf := parseContainerfile(t)
	var build string
	for _, r := range find(cf.stages[0].lines, "RUN ") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	if build == "" {
		t.Fatal("no RUN ... go build in the build stage")
	}
	cmd, _, _ := strings.Cut(build, "&&")
	words := shellWords(t, cmd)
	i := slices.Index(words, "go")
	if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
		t.Fatalf("cannot find `go build` in %q", words)
	}
	env, args := words[:i], words[i+1:]

	stamp := release.Stamp{Version: "${VERSION}", Revision: "${REVISION}", Branch: "${BRANCH}", BuildDate: "${BUILD_DATE}"}
	want := release.BuildArgs(stamp, "/out/driftd")
	for j, w := range want {
		want[j] = strings.Replace(w, "buildinfo.Modified=false", "buildinfo.Modified=${MODIFIED}", 1)
	}
	if strings.Join(args, "\n") != strings.Join(want, "\n") {
		t.Errorf("go arguments\n %q\nwant (internal/release.BuildArgs)\n %q", args, want)
	}
	wantEnv := release.BuildEnv(release.Target{GOOS: "${TARGETOS}", GOARCH: "${TARGETARCH}"})
	if strings.Join(env, " ") != strings.Join(wantEnv, " ") {
		t.Errorf("environment %q, want (internal/release.BuildEnv) %q", env, wantEnv)
	}
	declared := strings.Join(find(cf.stages[0].lines, "ARG "), " ")
	for _, a := range []string{"TARGETOS", "TARGETARCH", "VERSION", "REVISION", "BRANCH", "BUILD_DATE", "MODIFIED=false"} {
		if !strings.Contains(" "+declared+" ", " "+a) {
			t.Errorf("build stage does not declare ARG %s (declared: %s)", a, declared)
		}
	}
}

// shellWords splits a RUN command the way sh does for the words used here:
// blanks separate, double quotes group.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestDockerignore: the build context leaves out .git (the version comes
// from build arguments) and build outputs, and keeps what the build needs.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, p := range []string{".git", "dist"} {
		if !slices.Contains(patterns, p) {
			t.Errorf(".dockerignore does not exclude %s (patterns %q)", p, patterns)
		}
	}
	for _, p := range patterns {
		for _, need := range []string{"go.mod", "go.sum", "cmd", "cmd/driftd", "internal", "LICENSE"} {
			if p == need || p == "*" || p == "**" || strings.HasPrefix(need, p+"/") {
				t.Errorf(".dockerignore pattern %q excludes %s, which the build needs", p, need)
			}
		}
	}
}
