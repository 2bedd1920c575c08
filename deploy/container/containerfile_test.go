// Package container holds driftd's Containerfile; the test checks the image
// runs as non-root from a static build and reproduces the build step to prove
// the binary is static and carries the version.
package container

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type stage struct {
	from  string
	lines []string // instructions after FROM, continuation lines joined
}

func parseContainerfile(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, stage{from: strings.TrimSpace(strings.TrimPrefix(line, "FROM "))})
			return
		}
		if len(stages) == 0 {
			return // ARG before the first FROM
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
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
	return stages
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

func TestContainerfileShape(t *testing.T) {
	st := parseContainerfile(t)
	if len(st) != 2 {
		t.Fatalf("want 2 stages (build, final), got %d", len(st))
	}
	if !strings.Contains(st[0].from, "golang:") || !strings.HasSuffix(st[0].from, " AS build") {
		t.Errorf("build stage FROM %q, want a golang image AS build", st[0].from)
	}
	final := st[1]
	if final.from != "gcr.io/distroless/static-debian12:nonroot" && final.from != "scratch" {
		t.Errorf("final stage FROM %q, want distroless static nonroot or scratch", final.from)
	}
	if u := find(final.lines, "USER "); len(u) != 1 || !strings.HasPrefix(u[0], "nonroot") {
		t.Errorf("final USER = %q, want nonroot", u)
	}
	if e := find(final.lines, "EXPOSE "); len(e) != 1 || e[0] != "9464" {
		t.Errorf("EXPOSE = %q, want 9464", e)
	}
	var ep []string
	if e := find(final.lines, "ENTRYPOINT "); len(e) != 1 || json.Unmarshal([]byte(e[0]), &ep) != nil || len(ep) != 2 || ep[1] != "run" {
		t.Errorf("ENTRYPOINT = %q, want exec form [driftd, run]", e)
	}
	run := strings.Join(find(st[0].lines, "RUN "), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "buildinfo.Version=${VERSION}"} {
		if !strings.Contains(run, want) {
			t.Errorf("build stage RUN lacks %q:\n%s", want, run)
		}
	}
}

// TestStaticBuild runs the Containerfile's build command on this machine and
// checks the result is a static ELF (no interpreter, no dynamic section) that
// reports the injected version.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP (-short): static build of driftd not checked")
	}
	st := parseContainerfile(t)
	var build string
	for _, r := range find(st[0].lines, "RUN ") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("no -ldflags \"...\" in %q", build)
	}
	ldflags := strings.ReplaceAll(m[1], "${VERSION}", "v9.9.9-test")
	out := filepath.Join(t.TempDir(), "driftd")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/driftd")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has program header %v: not static", p.Type)
		}
	}
	v, err := exec.Command(out, "version", "--json").Output()
	if err != nil {
		t.Fatalf("driftd version: %v", err)
	}
	var info struct{ Version string }
	if err := json.Unmarshal(v, &info); err != nil || info.Version != "v9.9.9-test" {
		t.Errorf("version output %s (err %v), want version v9.9.9-test", v, err)
	}
}
