package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireBinary returns the path of an external program the test needs. When
// absent it skips with a visible message, unless CI is set, when it fails.
func requireBinary(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found and CI is set: apt-get install -y prometheus prometheus-alertmanager", names[0])
	}
	t.Skipf("SKIP: %s not installed (apt-get install -y prometheus prometheus-alertmanager); end-to-end test not run", names[0])
	return ""
}

// freePort returns a free TCP port on the loopback interface.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// repoRoot is the module root (two levels above nothing: e2e/ sits in it).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// buildDriftd builds ./cmd/driftd into dir the way the Containerfile does
// (static, -trimpath), so this build and deploy/container's share the cache.
func buildDriftd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "driftd")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/driftd")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/driftd: %v\n%s", err, out)
	}
	return bin
}

// proc is a child process whose output goes to a log file, stopped (SIGTERM,
// then SIGKILL after 5 s) when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func start(t *testing.T, name, logDir string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		// Signal the process group we created, so children go too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- %s log (tail) ----\n%s", name, tail(logPath, 40))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every 200 ms until it returns true or the deadline
// passes; it fails the test with what on timeout.
func waitFor(t *testing.T, deadline time.Time, what string, procs []*proc, cond func() (bool, string)) {
	t.Helper()
	last := ""
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		for _, p := range procs {
			if p.exited() {
				t.Fatalf("waiting for %s: %s exited (%v)\n%s", what, p.name, p.err, tail(p.log, 40))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last: %s)", what, last)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func httpOK(u string) (bool, string) {
	resp, err := httpClient.Get(u)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == 200, resp.Status
}

// ---- Prometheus HTTP API ------------------------------------------------------

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// query runs an instant query; a parse or evaluation error is returned as err.
func query(ctx context.Context, promURL, q string) ([]promSample, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, promURL+"/api/v1/query", strings.NewReader(url.Values{"query": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var v []promSample
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, err
		}
		return v, nil
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, err
		}
		return []promSample{{Value: s}}, nil
	default:
		return nil, fmt.Errorf("unexpected result type %s", r.Data.ResultType)
	}
}

// ---- Alertmanager webhook receiver -------------------------------------------

type webhookAlert struct {
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

type webhookMsg struct {
	Version string         `json:"version"`
	Status  string         `json:"status"`
	Alerts  []webhookAlert `json:"alerts"`
}

type receiver struct {
	mu   sync.Mutex
	msgs []webhookMsg
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m webhookMsg
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	rc.mu.Lock()
	rc.msgs = append(rc.msgs, m)
	rc.mu.Unlock()
	w.WriteHeader(200)
}

// mark returns the number of messages received so far, for findSince.
func (rc *receiver) mark() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.msgs)
}

// find reports whether an alert with the name, the given labels and status
// was delivered.
func (rc *receiver) find(name string, labels map[string]string, status string) bool {
	return rc.findSince(0, name, labels, status)
}

// findSince is find over the messages received after mark.
func (rc *receiver) findSince(mark int, name string, labels map[string]string, status string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, m := range rc.msgs[mark:] {
		for _, a := range m.Alerts {
			if a.Labels["alertname"] != name || a.Status != status {
				continue
			}
			match := true
			for k, v := range labels {
				if a.Labels[k] != v {
					match = false
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

func (rc *receiver) summary() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var parts []string
	for _, m := range rc.msgs {
		for _, a := range m.Alerts {
			parts = append(parts, fmt.Sprintf("%s%v=%s", a.Labels["alertname"], a.Labels["asg"], a.Status))
		}
	}
	return strings.Join(parts, ", ")
}

// ---- rule files with shortened durations ------------------------------------

var (
	forRe      = regexp.MustCompile(`(?m)^(\s+for:\s*)\S+\s*$`)
	intervalRe = regexp.MustCompile(`(?m)^(\s+interval:\s*)\S+\s*$`)
)

// shortenRules writes a test-only copy of a shipped rule file with every
// `for:` set to forDur and every group `interval:` set to 1s, so alerts that
// wait 15 minutes in production fire within seconds here. Nothing else in the
// rules changes.
func shortenRules(t *testing.T, src, dstDir, forDur string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b = forRe.ReplaceAll(b, []byte("${1}"+forDur))
	b = intervalRe.ReplaceAll(b, []byte("${1}1s"))
	dst := filepath.Join(dstDir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func postJSON(u string, body any) (int, string, error) {
	b, _ := json.Marshal(body)
	resp, err := httpClient.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(rb), nil
}

// notifyReceiver records driftd's own webhook notifications by event type
// (any JSON body; event types found in "type"/"event_type" fields at any
// depth).
type notifyReceiver struct {
	mu     sync.Mutex
	events map[string]int
	bodies int
}

func (n *notifyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.events == nil {
		n.events = map[string]int{}
	}
	n.bodies++
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			for k, v := range t {
				if s, ok := v.(string); ok && (k == "type" || k == "event_type" || k == "event") && strings.Contains(s, ".") {
					n.events[s]++
				}
				walk(v)
			}
		case []any:
			for _, v := range t {
				walk(v)
			}
		}
	}
	walk(v)
	w.WriteHeader(200)
}

func (n *notifyReceiver) count(event string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.events[event]
}

func (n *notifyReceiver) summary() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return fmt.Sprintf("%d bodies, events %v", n.bodies, n.events)
}
