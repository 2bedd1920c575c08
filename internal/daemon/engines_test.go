package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/config"
)

// receiver collects webhook deliveries.
type receiver struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var payload struct {
		Groups []struct {
			Events []map[string]any `json:"events"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(b, &payload); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	for _, g := range payload.Groups {
		r.events = append(r.events, g.Events...)
	}
	r.mu.Unlock()
}

func (r *receiver) types(instance string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if instance == "" || e["instance_id"] == instance {
			out = append(out, fmt.Sprint(e["type"]))
		}
	}
	return out
}

func (r *receiver) waitFor(t *testing.T, instance, typ string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, got := range r.types(instance) {
			if got == typ {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event for %q; got %v", typ, instance, r.types(""))
}

// TestDriftIsAnnouncedAndRemediated runs the daemon with both engines
// attached against the simulated region: one drifted instance in an opted-in
// group is announced on the webhook, then replaced through SetInstanceHealth,
// and nothing else is touched.
func TestDriftIsAnnouncedAndRemediated(t *testing.T) {
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-base", Packages: []awssim.PackageSpec{
		{Name: "bash", Version: "5.2.15", Release: "1.amzn2023.0.2"},
		{Name: "curl", Version: "8.5.0", Release: "1.amzn2023.0.4"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddLaunchTemplate("web-lt", "m6i.large", ami); err != nil {
		t.Fatal(err)
	}
	ids, err := sim.AddGroup(awssim.GroupSpec{Name: "web", LaunchTemplateName: "web-lt", Min: 0, Max: 10, Desired: 4}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := sim.Manifest(ami)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ami+".json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	drifted := ids[1]
	if err := sim.Inject(drifted, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.93", Release: "1.amzn2023"}}); err != nil {
		t.Fatal(err)
	}

	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	t.Setenv("ENGINES_TEST_SECRET", "s3cr3t")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
baselines:
  - dir: {path: %q}
inventory:
  rate_limits: {ssm: 2000, ec2: 2000, autoscaling: 2000}
alerting:
  sinks:
    - {name: hook, type: webhook, url: %q, secret_env: ENGINES_TEST_SECRET, timeout: 2s}
remediation:
  debounce_scans: 1
  min_severity: low
  groups:
    - {match: web, mode: replace, budget: "1"}
`, dir, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), Options{Config: cfg, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String("http://" + srv.Addr())}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := a.AttachEngines(zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })

	sim.ResetCalls()
	res, err := a.Scan(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary["drifted"]; got != 1 {
		t.Fatalf("drifted = %d, want 1 (summary %v)", got, res.Summary)
	}
	rcv.waitFor(t, drifted, "drift.detected")
	rcv.waitFor(t, drifted, "remediation.started")

	var health []string
	for _, c := range sim.Calls() {
		if c.Operation == "SetInstanceHealth" || c.Operation == "TerminateInstanceInAutoScalingGroup" {
			health = append(health, c.Params)
		}
	}
	if len(health) != 1 || !strings.Contains(health[0], drifted) {
		t.Fatalf("replacement calls = %v, want exactly one for %s", health, drifted)
	}
	for _, typ := range rcv.types("") {
		if typ == "drift.resolved" {
			t.Fatalf("unexpected resolution in %v", rcv.types(""))
		}
	}

	// A partial scan (one instance refreshed by an inventory event) never
	// drives remediation and resolves nothing it did not look at.
	before := len(sim.Calls())
	if _, err := a.Scan(context.Background(), []string{ids[0]}); err != nil {
		t.Fatal(err)
	}
	for _, c := range sim.Calls()[before:] {
		if c.Operation == "SetInstanceHealth" {
			t.Fatalf("partial scan acted: %+v", c)
		}
	}
}
