package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func sampleBatch() *Batch {
	fileF := drift.Finding{Category: drift.CategoryFile, Type: drift.TypeFileDigest, Name: "/etc/ssh/sshd_config", Attribute: "sha256",
		Change: drift.ChangeChanged, Expected: "9f86d08", Observed: "60303ae", Severity: drift.SeverityCritical}
	svcF := drift.Finding{Category: drift.CategoryService, Type: drift.TypeService, Name: "auditd", Attribute: "state",
		Change: drift.ChangeChanged, Expected: "running", Observed: "stopped", Severity: drift.SeverityHigh}
	addF := drift.Finding{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: "netcat", Change: drift.ChangeAdded,
		Observed: "1.219-1", Severity: drift.SeverityLow}
	evs := []Event{
		{Type: EventDriftDetected, Time: t0, ASG: "web", AMI: "ami-0abc", InstanceID: "i-0aaa", Severity: drift.SeverityCritical,
			Summary: Summarize([]drift.Finding{fileF, svcF, fA, addF}), Findings: []drift.Finding{fileF, svcF, fA, addF}, FindingsTotal: 4, Since: t0},
		{Type: EventDriftDetected, Time: t0, ASG: "web", AMI: "ami-0abc", InstanceID: "i-0bbb", Severity: drift.SeverityHigh,
			Summary: "1 finding (1 package), max severity high", Findings: []drift.Finding{fA}, FindingsTotal: 1, Since: t0, Repeat: true},
		{Type: EventDriftResolved, Time: t0, ASG: "web", AMI: "ami-0abc", InstanceID: "i-0ccc", Severity: drift.SeverityLow,
			Summary: "drift resolved: instance no longer present", Reason: "instance no longer present"},
		{Type: EventDriftChanged, Time: t0, ASG: "api<prod>", AMI: "ami-0def", InstanceID: "i-0ddd", Severity: drift.SeverityLow,
			Summary: "1 finding (1 package), max severity low", Findings: []drift.Finding{addF}, FindingsTotal: 1},
		{Type: EventBaselineMissing, Time: t0, AMI: "ami-0fff", Severity: drift.SeverityHigh, Summary: "no baseline manifest for AMI ami-0fff (3 instances)"},
		{Type: EventBreakerOpened, Time: t0, ASG: "web", Severity: drift.SeverityHigh, Summary: "40% of web drifted in one scan; remediation halted"},
	}
	return BuildBatch("20261125T120000Z-0123456789ab", t0, evs, Limits{MaxInstancesPerGroup: 3, MaxFindingsPerInstance: 3})
}

func TestSlackMessageGolden(t *testing.T) {
	b, err := MarshalSlack(SlackMessage(sampleBatch()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	golden(t, "slack_message.golden.json", out.Bytes())
}

func TestSlackMessageLimits(t *testing.T) {
	var evs []Event
	long := strings.Repeat("x", 400)
	for g := 0; g < 80; g++ {
		for i := 0; i < 20; i++ {
			evs = append(evs, Event{Type: EventDriftDetected, Time: t0, ASG: "asg-" + string(rune('a'+g%26)) + strings.Repeat("z", g/26),
				InstanceID: "i-" + long, Severity: drift.SeverityHigh, Summary: long})
		}
	}
	msg := SlackMessage(BuildBatch("id", t0, evs, Limits{MaxInstancesPerGroup: 20}))
	if len(msg.Blocks) > slackMaxBlocks {
		t.Errorf("%d blocks > %d", len(msg.Blocks), slackMaxBlocks)
	}
	for _, b := range msg.Blocks {
		if b.Text != nil && len([]rune(b.Text.Text)) > slackMaxText {
			t.Errorf("block text %d runes > %d", len([]rune(b.Text.Text)), slackMaxText)
		}
	}
}

func TestSlackSinkPostsToSecretURL(t *testing.T) {
	var body []byte
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		path = r.URL.Path
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "slack-url")
	if err := os.WriteFile(secretPath, []byte(srv.URL+"/services/T000/B000/XXXXSECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewNotifyMetrics(nil)
	n, err := New(config.Alerting{Sinks: []config.AlertSink{{Name: "chat", Type: "slack", SecretFile: secretPath}}}, Options{Metrics: m, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	if err := n.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if count(m, "chat", ResultSuccess) != 1 || path != "/services/T000/B000/XXXXSECRET" {
		t.Fatalf("success=%v path=%q", count(m, "chat", ResultSuccess), path)
	}
	var msg SlackPayload
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "1 drift.detected") || !strings.Contains(string(body), "openssl") {
		t.Errorf("message: %s", body)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
