package alerting

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startAlertmanager runs a real Alertmanager on loopback (no clustering,
// temp storage) and returns its base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := alertmanagerBin
	if _, err := os.Stat(bin); err != nil {
		if p, lerr := exec.LookPath("prometheus-alertmanager"); lerr == nil {
			bin = p
		} else if p, lerr := exec.LookPath("alertmanager"); lerr == nil {
			bin = p
		} else {
			if os.Getenv("CI") != "" {
				t.Fatalf("Alertmanager is required in CI: %s not found", alertmanagerBin)
			}
			t.Skipf("SKIP: %s not installed (apt-get install prometheus-alertmanager) — Alertmanager integration not checked", alertmanagerBin)
		}
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var logBuf syncBuffer
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", logBuf.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready: %v\n%s", err, logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, base string) map[string]gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var list []gettableAlert
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]gettableAlert{}
	for _, a := range list {
		out[a.Labels["instance_id"]] = a
	}
	return out
}

func TestAlertmanagerRealFiringAndResolved(t *testing.T) {
	base := startAlertmanager(t)
	// A second, dead Alertmanager of the "HA pair": success if any accepts.
	dead := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	m := NewNotifyMetrics(nil)
	cfg := config.Alerting{
		ExternalURL: "http://driftd.example:9464",
		Sinks:       []config.AlertSink{{Name: "am", Type: "alertmanager", URLs: []string{dead, base}, ResendWindow: 10 * time.Minute, MaxRetries: 2}},
	}
	core, logs := observer.New(zapcore.WarnLevel)
	n, err := New(cfg, Options{Metrics: m, Backoff: fastBackoff, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctxTimeout(t, 5*time.Second))
	start := time.Now().UTC().Truncate(time.Second)
	n.Scan(start, []InstanceState{drifted("i-1", "web", fA, fB), drifted("i-2", "api", fB)})
	waitFor(t, "delivery 1", func() bool { return count(m, "am", ResultSuccess) == 1 })

	var got map[string]gettableAlert
	waitFor(t, "alerts listed", func() bool { got = amAlerts(t, base); return len(got) == 2 })
	a := got["i-1"]
	wantLabels := map[string]string{"alertname": "DriftdInstanceDrifted", "asg": "web", "ami": "ami-1", "severity": "high", "instance_id": "i-1"}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Errorf("label %s=%q want %q (all: %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Status.State != "active" {
		t.Errorf("state %q", a.Status.State)
	}
	if !strings.Contains(a.Annotations["summary"], "2 findings") || !strings.Contains(a.Annotations["description"], "openssl") {
		t.Errorf("annotations: %v", a.Annotations)
	}
	if a.GeneratorURL != "http://driftd.example:9464/?instance_id=i-1" {
		t.Errorf("generatorURL %q", a.GeneratorURL)
	}
	if !a.StartsAt.Equal(start) {
		t.Errorf("startsAt %s want %s", a.StartsAt, start)
	}
	if d := time.Until(a.EndsAt); d < 8*time.Minute || d > 11*time.Minute {
		t.Errorf("endsAt %s: want about now+10m", a.EndsAt)
	}
	if failures(m, "am", ReasonNetwork) != 0 || count(m, "am", ResultFailure) != 0 {
		t.Errorf("one dead Alertmanager of two must not fail the delivery")
	}
	if logs.FilterMessage("alertmanager member did not accept alerts").Len() == 0 {
		t.Errorf("the dead member must be logged")
	}

	// i-1 resolves; i-2 unchanged but re-sent so it keeps firing.
	n.Scan(time.Now().UTC(), []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync), drifted("i-2", "api", fB)})
	waitFor(t, "delivery 2", func() bool { return count(m, "am", ResultSuccess) == 2 })
	waitFor(t, "i-1 resolved", func() bool {
		got = amAlerts(t, base)
		r, listed := got["i-1"]
		return !listed || r.Status.State != "active" || !r.EndsAt.After(time.Now())
	})
	if r, listed := got["i-1"]; listed {
		t.Logf("i-1 after resolution: state=%s endsAt=%s", r.Status.State, r.EndsAt)
	} else {
		t.Logf("i-1 after resolution: no longer listed")
	}
	if got["i-2"].Status.State != "active" {
		t.Errorf("i-2 must still fire: %+v", got["i-2"])
	}
}

func TestAlertmanagerAllDownRetriedThenFails(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		if r.URL.Path != "/api/v2/alerts" {
			t.Errorf("path %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	m := NewNotifyMetrics(nil)
	n, _ := New(config.Alerting{Sinks: []config.AlertSink{{Name: "am", Type: "alertmanager", URL: srv.URL + "/", MaxRetries: 2}}},
		Options{Metrics: m, Backoff: fastBackoff})
	n.Scan(time.Now(), []InstanceState{drifted("i-1", "web", fA)})
	n.Close(ctxTimeout(t, 5*time.Second))
	if calls != 3 || count(m, "am", ResultFailure) != 1 || failures(m, "am", ReasonHTTP5xx) != 3 {
		t.Fatalf("calls=%d failure=%v 5xx=%v", calls, count(m, "am", ResultFailure), failures(m, "am", ReasonHTTP5xx))
	}
}

func TestAlertmanagerAlertsShape(t *testing.T) {
	now := t0
	s := NewAlertmanagerSink("am", []string{"http://x"}, nil, time.Hour, "", 1, func() time.Time { return now })
	b := BuildBatch("id", now, []Event{
		{Type: EventDriftResolved, Time: now, ASG: "web", AMI: "ami-1", InstanceID: "i-9", Severity: drift.SeverityLow, Since: now.Add(-time.Hour)},
		{Type: EventDriftResolved, Time: now, ASG: "web", AMI: "ami-1", InstanceID: "i-1", Severity: drift.SeverityLow, Since: now.Add(-time.Hour)},
	}, Limits{})
	b.Active = []Event{{Type: EventDriftDetected, ASG: "", AMI: "ami-1", InstanceID: "i-1", Severity: drift.SeverityHigh, Since: now.Add(-2 * time.Hour),
		Findings: []drift.Finding{fA, fB}, FindingsTotal: 7}}
	alerts := s.Alerts(b)
	if len(alerts) != 2 {
		t.Fatalf("alerts: %+v", alerts)
	}
	f := alerts[0]
	if _, has := f.Labels["asg"]; has || !f.EndsAt.Equal(now.Add(time.Hour)) || !f.StartsAt.Equal(now.Add(-2*time.Hour)) || f.GeneratorURL != "" {
		t.Errorf("firing: %+v", f)
	}
	if f.Annotations["description"] != fA.String()+"\n…and 6 more findings" {
		t.Errorf("description %q", f.Annotations["description"])
	}
	r := alerts[1]
	if r.Labels["instance_id"] != "i-9" || !r.EndsAt.Equal(now) {
		t.Errorf("resolved: %+v", r)
	}
	body, _ := json.Marshal(alerts)
	if !strings.Contains(string(body), `"startsAt":"`+now.Add(-2*time.Hour).Format(time.RFC3339)) {
		t.Errorf("wire shape: %s", body)
	}
}
