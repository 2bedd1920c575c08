// Package doctest runs the commands the documentation shows, so the docs
// cannot drift from the program again.
//
// A fenced block in README.md or docs/*.md preceded by the line
//
//	<!-- doc-test -->
//
// is run line by line, in the repository root, with the driftd binary built
// once from this tree first on PATH, against a simulated AWS region
// (`driftd sim` on a free port) that the test starts for the block:
// AWS_ENDPOINT_URL, AWS_REGION and static credentials point at it, and no
// inherited AWS_* variable reaches a command. Lines are read so:
//
//   - `# ...` after a command is a comment; `exit N` in it is the exit status
//     the command must end with (default 0), and text in double quotes in it
//     must appear in the command's output (a trailing "..." is left out);
//   - `export K=V ...` sets variables for the lines after it;
//   - a command ending in `&` runs in the background for the rest of the
//     block (a `driftd sim` there replaces the test's region: the block
//     talks to its own, once it accepts connections);
//   - `go run ./cmd/driftd` is the built binary; `go build`/`go install` of
//     ./cmd/driftd are done already; `go test` is not run (this is a test);
//   - the documented ports 4566 (the simulator) and 9464 (driftd's HTTP) are
//     replaced by free ones, and `driftd demo` is bounded (`--scans 1`) when
//     the line does not bound it.
package doctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const marker = "<!-- doc-test -->"

// block is one marked fenced block.
type block struct {
	file  string // repository-relative
	line  int    // of the first command line
	lines []string
}

func (b block) name() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// repoRoot is the module root (two levels up).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !bytes.Contains(b, []byte("module github.com/driftd/driftd\n")) {
		t.Fatalf("%s is not the module root (%v)", root, err)
	}
	return root
}

// parseBlocks returns the marked blocks of one Markdown document.
func parseBlocks(file string, data []byte) ([]block, error) {
	var out []block
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != marker {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j == len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			return nil, fmt.Errorf("%s:%d: %s is not followed by a fenced block", file, i+1, marker)
		}
		fence := strings.TrimSpace(lines[j])
		fence = fence[:len(fence)-len(strings.TrimLeft(fence, "`"))]
		b := block{file: file}
		k := j + 1
		for ; k < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[k]), fence); k++ {
			l := strings.TrimSpace(lines[k])
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if b.lines == nil {
				b.line = k + 1
			}
			b.lines = append(b.lines, l)
		}
		if k == len(lines) {
			return nil, fmt.Errorf("%s:%d: the fenced block is not closed", file, j+1)
		}
		if len(b.lines) == 0 {
			return nil, fmt.Errorf("%s:%d: the marked block has no command", file, j+1)
		}
		out = append(out, b)
		i = k
	}
	return out, nil
}

// splitComment separates a command from its trailing `# comment` (a `#`
// outside quotes that starts a word).
func splitComment(l string) (cmd, comment string) {
	var quote byte
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return strings.TrimSpace(l[:i]), strings.TrimSpace(l[i+1:])
		}
	}
	return strings.TrimSpace(l), ""
}

var exitRe = regexp.MustCompile(`\bexit (\d+)\b`)

// wantExit is the exit status a line's comment asks for (default 0).
func wantExit(comment string) int {
	if m := exitRe.FindStringSubmatch(comment); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var quotedRe = regexp.MustCompile(`"([^"]+)"`)

// wantOutput is the text a line's comment quotes.
func wantOutput(comment string) []string {
	var out []string
	for _, m := range quotedRe.FindAllStringSubmatch(comment, -1) {
		q := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(m[1]), "..."), "…"))
		if q != "" {
			out = append(out, q)
		}
	}
	return out
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// driftdBinary builds cmd/driftd once per test binary.
func driftdBinary(t *testing.T, root string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "driftd-doctest-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "driftd"), "./cmd/driftd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/driftd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitListening waits until addr accepts connections or the process ends.
func waitListening(t *testing.T, addr string, done <-chan struct{}, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("the background command ended before listening on %s:\n%s", addr, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 60s:\n%s", addr, out.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run is one block's execution.
type run struct {
	t        *testing.T
	root     string
	env      map[string]string
	simPort  string // the documented 4566
	httpPort string // the documented 9464
	ran      []string
}

// baseEnv is the environment without any inherited AWS_* variable.
func (r *run) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "DRIFTD_") || k == "PATH" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true")
	for k, v := range r.env {
		out = append(out, k+"="+v)
	}
	return out
}

// substitute replaces the documented ports and the go commands.
func (r *run) substitute(cmd string) (string, bool) {
	cmd = strings.ReplaceAll(cmd, "127.0.0.1:4566", "127.0.0.1:"+r.simPort)
	cmd = strings.ReplaceAll(cmd, "localhost:4566", "127.0.0.1:"+r.simPort)
	cmd = strings.ReplaceAll(cmd, "127.0.0.1:9464", "127.0.0.1:"+r.httpPort)
	cmd = strings.ReplaceAll(cmd, "go run ./cmd/driftd", "driftd")
	f := strings.Fields(cmd)
	if len(f) >= 2 && f[0] == "go" {
		switch {
		case f[1] == "test":
			r.t.Logf("not run: %q (the test suite itself)", cmd)
			return "", false
		case (f[1] == "build" || f[1] == "install") && strings.HasSuffix(cmd, "./cmd/driftd"):
			r.t.Logf("not run: %q (built once by this test)", cmd)
			return "", false
		}
	}
	if len(f) >= 2 && f[0] == "driftd" && f[1] == "sim" && !strings.Contains(cmd, "--listen") {
		cmd = strings.Replace(cmd, "driftd sim", "driftd sim --listen 127.0.0.1:"+r.simPort, 1)
	}
	if len(f) >= 2 && f[0] == "driftd" && f[1] == "demo" {
		if !strings.Contains(cmd, "--listen") {
			cmd = strings.Replace(cmd, "driftd demo", "driftd demo --listen 127.0.0.1:"+r.httpPort, 1)
		}
		if !strings.Contains(cmd, "--scans") && !strings.Contains(cmd, "--duration") {
			cmd = strings.Replace(cmd, "driftd demo", "driftd demo --scans 1", 1)
		}
	}
	return cmd, true
}

// background starts a command for the rest of the block.
func (r *run) background(cmd string) {
	t := r.t
	c := exec.Command("bash", "-c", "exec "+cmd)
	c.Dir = r.root
	c.Env = r.environ()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }() //nolint:errcheck
	t.Cleanup(func() {
		syscall.Kill(-c.Process.Pid, syscall.SIGTERM) //nolint:errcheck
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-done
		}
	})
	if strings.HasPrefix(cmd, "driftd sim") {
		waitListening(t, "127.0.0.1:"+r.simPort, done, out)
	}
}

var exportRe = regexp.MustCompile(`^export\s+(.*)$`)

// line runs one documented line.
func (r *run) line(raw string) {
	t := r.t
	cmd, comment := splitComment(raw)
	if cmd == "" {
		return
	}
	cmd, ok := r.substitute(cmd)
	if !ok {
		return
	}
	r.ran = append(r.ran, cmd)
	if m := exportRe.FindStringSubmatch(cmd); m != nil {
		for _, kv := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%q: export of %q without a value", raw, kv)
			}
			r.env[k] = strings.Trim(v, `"'`)
		}
		return
	}
	if bg, ok := strings.CutSuffix(cmd, "&"); ok {
		r.background(strings.TrimSpace(bg))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", cmd)
	c.Dir = r.root
	c.Env = r.environ()
	out, err := c.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", cmd, err)
		}
		code = ee.ExitCode()
	}
	if want := wantExit(comment); code != want {
		t.Fatalf("%s\nexit %d, the documentation says %d; output:\n%s", cmd, code, want, out)
	}
	for _, want := range wantOutput(comment) {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("%s\nthe documentation says the output shows %q; output:\n%s", cmd, want, out)
		}
	}
	t.Logf("%s: exit %d, %d bytes of output", cmd, code, len(out))
}

// startRegion starts `driftd sim` (the demo fleet) for a block whose lines
// do not start their own.
func (r *run) startRegion() {
	r.background("driftd sim --listen 127.0.0.1:" + r.simPort)
}

func collectBlocks(t *testing.T, root string) []block {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var all []block
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		bs, err := parseBlocks(rel, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, bs...)
	}
	return all
}

// covered are the commands the marked blocks must show between them: the
// first hour of a new user.
var covered = []string{
	"driftd demo",
	"driftd sim",
	"driftd validate --config examples/driftd.yaml",
	"driftd validate --config examples/sim.yaml",
	"driftd scan --config examples/sim.yaml",
	"driftd plan --config examples/sim.yaml",
	"driftd baseline show",
	"driftd baseline diff",
}

// TestDocumentedCommands runs every marked block.
func TestDocumentedCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds driftd and runs the documented commands")
	}
	root := repoRoot(t)
	blocks := collectBlocks(t, root)
	driftdBinary(t, root)
	for _, b := range blocks {
		t.Run(b.name(), func(t *testing.T) {
			r := &run{t: t, root: root, env: map[string]string{}, simPort: freePort(t), httpPort: freePort(t)}
			ownSim := false
			for _, l := range b.lines {
				if c, _ := splitComment(l); strings.HasPrefix(strings.TrimPrefix(c, "go run ./cmd/"), "driftd sim") && strings.HasSuffix(c, "&") {
					ownSim = true
				}
			}
			if !ownSim {
				r.startRegion()
				r.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:" + r.simPort
				r.env["AWS_REGION"] = "us-east-1"
				r.env["AWS_ACCESS_KEY_ID"], r.env["AWS_SECRET_ACCESS_KEY"] = "sim", "sim"
			}
			for _, l := range b.lines {
				r.line(l)
			}
		})
	}
}

// TestMarkedBlocksCoverTheFirstHour: the marked blocks show the commands of
// a new user's first hour between them, so unmarking one is noticed.
func TestMarkedBlocksCoverTheFirstHour(t *testing.T) {
	var all []string
	for _, b := range collectBlocks(t, repoRoot(t)) {
		for _, l := range b.lines {
			c, _ := splitComment(l)
			all = append(all, strings.ReplaceAll(c, "go run ./cmd/driftd", "driftd"))
		}
	}
	for _, want := range covered {
		found := false
		for _, c := range all {
			if strings.HasPrefix(c, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no marked block runs %q: mark the block that shows it with %s", want, marker)
		}
	}
}

// TestParseBlocks: the parser finds marked blocks, skips comments and
// blank lines, and refuses a marker without a block.
func TestParseBlocks(t *testing.T) {
	doc := "text\n" + marker + "\n```sh\n# a comment\ndriftd sim &   # the region\n\nexport A=1\ndriftd scan --config x.yaml   # exit 1: drift\n```\n" +
		"```sh\ndriftd not-marked\n```\n"
	bs, err := parseBlocks("x.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].line != 5 || len(bs[0].lines) != 3 {
		t.Fatalf("blocks %+v", bs)
	}
	cmd, comment := splitComment(bs[0].lines[2])
	if cmd != "driftd scan --config x.yaml" || wantExit(comment) != 1 {
		t.Errorf("command %q comment %q (exit %d)", cmd, comment, wantExit(comment))
	}
	if got := wantOutput(`exit 0, and the warning "found 0 running instances ..." and "x"`); !slices.Equal(got, []string{"found 0 running instances", "x"}) {
		t.Errorf("quoted output %q", got)
	}
	if c, _ := splitComment(`driftd x --name "a # b"`); c != `driftd x --name "a # b"` {
		t.Errorf("a quoted # is not a comment: %q", c)
	}
	for _, bad := range []string{marker + "\ntext\n", marker + "\n```sh\ndriftd x\n", marker + "\n```sh\n# only a comment\n```\n"} {
		if _, err := parseBlocks("bad.md", []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
