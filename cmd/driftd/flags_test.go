package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// parse parses args with driftd's command line and returns the globals and
// the selected command's struct.
func parse(t *testing.T, args ...string) (*Globals, any) {
	t.Helper()
	var g Globals
	p, err := newParser(&g)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &g, ctx.Selected().Target.Addr().Interface()
}

// TestConventionalFlagNames: the Prometheus-style names and the older
// spellings set the same value, for every command that reads a
// configuration file.
func TestConventionalFlagNames(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "driftd.yaml")
	config := func(cmd any) string {
		switch c := cmd.(type) {
		case *runCmd:
			return c.Config
		case *scanCmd:
			return c.Config
		case *planCmd:
			return c.Config
		case *validateCmd:
			return c.Config
		}
		t.Fatalf("unexpected command %T", cmd)
		return ""
	}
	for _, cmd := range []string{"run", "scan", "plan", "validate"} {
		for _, spelling := range [][]string{{"--config.file", cfg}, {"--config.file=" + cfg}, {"--config", cfg}, {"-c", cfg}} {
			_, c := parse(t, append([]string{cmd}, spelling...)...)
			if got := config(c); got != cfg {
				t.Errorf("%s %q: config %q, want %q", cmd, spelling, got, cfg)
			}
		}
	}

	for _, spelling := range [][]string{{"--web.listen-address", "127.0.0.1:0"}, {"--web.listen-address=127.0.0.1:0"}} {
		_, c := parse(t, append([]string{"run", "-c", cfg}, spelling...)...)
		if got := c.(*runCmd).WebListenAddress; got != "127.0.0.1:0" {
			t.Errorf("run %q: web.listen-address %q", spelling, got)
		}
	}
	for _, spelling := range [][]string{{"--web.listen-address", "127.0.0.1:0"}, {"--listen", "127.0.0.1:0"}} {
		_, c := parse(t, append([]string{"demo"}, spelling...)...)
		if got := c.(*demoCmd).Listen; got != "127.0.0.1:0" {
			t.Errorf("demo %q: listen %q", spelling, got)
		}
	}

	for _, args := range [][]string{
		{"--log.level", "debug", "--log.format", "logfmt", "validate", "-c", cfg},
		{"--log-level=debug", "--log-format=logfmt", "validate", "-c", cfg},
		{"validate", "-c", cfg, "--log.level=debug", "--log.format=logfmt"},
	} {
		g, _ := parse(t, args...)
		if g.LogLevel != "debug" || g.LogFormat != "logfmt" {
			t.Errorf("%q: log level %q format %q, want debug logfmt", args, g.LogLevel, g.LogFormat)
		}
	}
}

// TestNoUnrenamedFlags: no command still declares a flag under a name that
// flagRenames replaces, so help shows one convention.
func TestNoUnrenamedFlags(t *testing.T) {
	var g Globals
	p, err := newParser(&g)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *kong.Node)
	seen := 0
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Name == "config.file" {
				seen++
			}
			for _, r := range flagRenames {
				if f.Name == r.from && (r.command == "" || r.command == n.Path()) {
					t.Errorf("command %q still has --%s", n.Path(), f.Name)
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(p.Model.Node)
	if seen < 5 {
		t.Errorf("--config.file on %d commands, want every command that reads a configuration (run, scan, plan, validate, baseline ...)", seen)
	}
}

func TestRenameConflict(t *testing.T) {
	n := &kong.Node{Name: "x", Type: kong.CommandNode, Flags: []*kong.Flag{
		{Value: &kong.Value{Name: "config"}}, {Value: &kong.Value{Name: "config.file"}},
	}}
	err := renameFlags(n, flagRenames)
	if err == nil || !strings.Contains(err.Error(), "cannot rename --config to --config.file: the name is taken") {
		t.Errorf("err %v", err)
	}
}

// TestHelpShowsConventionalNames: `driftd run --help` lists the new names.
func TestHelpShowsConventionalNames(t *testing.T) {
	var g Globals
	var out bytes.Buffer
	p, err := newParser(&g)
	if err != nil {
		t.Fatal(err)
	}
	p.Stdout = &out
	exited := false
	p.Exit = func(int) { exited = true }
	_, _ = p.Parse([]string{"run", "--help"})
	if !exited {
		t.Fatal("--help did not exit")
	}
	for _, want := range []string{"--config.file=STRING", "--web.listen-address=ADDR", "--log.level=LEVEL", "--log.format=FORMAT", "logfmt"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run --help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestValidateWithConfigFile: the whole command line, both spellings.
func TestValidateWithConfigFile(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("baselines: [{dir: {path: .}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", "--config.file", good}, {"validate", "--config", good}, {"run", "--config.file=" + good, "--config.check"}} {
		if code := run(args); code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	if code := run([]string{"validate", "--config.file", filepath.Join(t.TempDir(), "missing.yaml")}); code == 0 {
		t.Error("missing file: exit 0")
	}
}

// TestDeployedCommandLinesParse: the command lines the shipped deployment
// files start driftd with (systemd unit, CloudFormation user data,
// container entrypoint and arguments) are accepted by driftd's parser.
func TestDeployedCommandLinesParse(t *testing.T) {
	execStart := regexp.MustCompile(`ExecStart=/usr/local/bin/driftd (.+)`)
	var lines [][]string
	for _, f := range []string{"../../deploy/systemd/driftd.service", "../../deploy/cloudformation/driftd.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := execStart.FindAllStringSubmatch(string(b), -1)
		if len(m) != 1 {
			t.Fatalf("%s: %d ExecStart lines starting driftd, want 1", f, len(m))
		}
		lines = append(lines, strings.Fields(m[0][1]))
	}
	b, err := os.ReadFile("../../deploy/container/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var container []string
	for _, inst := range []string{"ENTRYPOINT ", "CMD "} {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, inst); ok {
				var words []string
				if err := json.Unmarshal([]byte(rest), &words); err != nil {
					t.Fatalf("Containerfile %s%s: %v", inst, rest, err)
				}
				container = append(container, words...)
			}
		}
	}
	if len(container) < 2 || container[0] != "/usr/local/bin/driftd" {
		t.Fatalf("Containerfile ENTRYPOINT+CMD %q", container)
	}
	lines = append(lines, container[1:])
	for _, args := range lines {
		_, c := parse(t, args...)
		if r, ok := c.(*runCmd); !ok || r.Config != "/etc/driftd/driftd.yaml" {
			t.Errorf("%q: parsed as %#v, want driftd run with /etc/driftd/driftd.yaml", args, c)
		}
	}
}
