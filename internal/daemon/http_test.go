package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

func get(t *testing.T, srv *httptest.Server, path string, wantStatus int) []byte {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, wantStatus)
	}
	return b
}

func TestHTTPAPI(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	a := f.app(t, f.config())
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	get(t, srv, "/-/healthy", 200)
	get(t, srv, "/-/ready", 503)
	get(t, srv, "/api/v1/scan", 404)
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	get(t, srv, "/-/ready", 200)

	var list struct {
		Instances []InstanceSummary `json:"instances"`
		Count     int               `json:"count"`
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances", 200), &list))
	if list.Count != 7 {
		t.Errorf("instances: %d", list.Count)
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances?verdict=drifted&asg=web", 200), &list))
	if list.Count != 1 || list.Instances[0].InstanceID != f.web[0] || list.Instances[0].Findings != 1 || list.Instances[0].Severity == "" {
		t.Errorf("drifted filter: %+v", list)
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances?asg=api", 200), &list))
	if list.Count != 3 {
		t.Errorf("asg filter: %d", list.Count)
	}
	var one struct {
		InstanceSummary
		TopFindings []drift.Finding `json:"top_findings"`
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances/"+f.web[0], 200), &one))
	if one.Verdict != drift.VerdictDrifted || len(one.TopFindings) != 1 || one.TopFindings[0].Name != "curl" || one.FirstDrifted == "" {
		t.Errorf("instance detail %+v", one)
	}
	get(t, srv, "/api/v1/instances/i-00000000000000000", 404)
	var scan map[string]any
	must(t, json.Unmarshal(get(t, srv, "/api/v1/scan", 200), &scan))
	calls, _ := scan["api_calls"].(map[string]any)
	byOp, _ := calls["by_operation"].(map[string]any)
	if scan["success"] != true || byOp["ssm:ListInventoryEntries"] == nil || byOp["ec2:DescribeInstances"] == nil {
		t.Errorf("scan summary %v", scan)
	}
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("reload: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/-/reload")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", resp.StatusCode)
	}
}

// TestMetricsPromtool scrapes /metrics after a scan and checks it with
// promtool; it also checks the fleet gauges are reset between scans.
func TestMetricsPromtool(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))
	a := f.app(t, f.config())
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	body := string(get(t, srv, "/metrics", 200))
	for _, want := range []string{
		`driftd_instances{ami="` + f.amiA + `",asg="web",verdict="drifted"} 1`,
		`driftd_instances{ami="` + f.amiA + `",asg="web",verdict="in_sync"} 3`,
		`driftd_instances{ami="` + f.amiB + `",asg="api",verdict="in_sync"} 3`,
		`driftd_findings{asg="web",category="package",severity="low"} 1`,
		`driftd_scans_total{result="success"} 1`,
		`driftd_collector_success{collector="ssm_inventory"} 1`,
		`driftd_collector_success{collector="ec2_instances"} 1`,
		`driftd_aws_api_calls_total{code="OK",operation="ListInventoryEntries",service="ssm"}`,
		`driftd_build_info{`,
		`driftd_inventory_age_seconds{asg="web"}`,
		`driftd_last_successful_scan_timestamp_seconds`,
		`driftd_config_last_reload_successful 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "i-") && strings.Contains(body, `instance`) && strings.Contains(body, f.web[0]) {
		t.Error("an instance id leaked into a metric label")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not installed (CI is set): apt-get install -y prometheus")
		}
		t.Skip("SKIPPED: promtool not installed; apt-get install -y prometheus to run the check")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	// The whole web group now gone from the selection: its series vanish.
	a.rt.Load().cfg.Selection.ASGNames = []string{"api"}
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	body = string(get(t, srv, "/metrics", 200))
	if strings.Contains(body, `asg="web"`) {
		t.Error("series of a vanished group linger after the next scan")
	}
}

func TestExtraRoutesAndReloadHooks(t *testing.T) {
	f := newFixture(t)
	a := f.app(t, f.config())
	a.Handle("GET /api/v1/remediation", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("engine")) }))
	var reloaded *config.Config
	a.OnReload(func(c *config.Config) { reloaded = c })
	var seen []int64
	a.AddObserver(scan.ObserverFunc(func(_ context.Context, r *scan.Result) { seen = append(seen, r.ID) }))
	a.AddObserver(scan.ObserverFunc(func(context.Context, *scan.Result) { panic("observer bug") }))
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	if b := get(t, srv, "/api/v1/remediation", 200); string(b) != "engine" {
		t.Errorf("extra route: %q", b)
	}
	get(t, srv, "/-/healthy", 200)
	get(t, srv, "/nope", 404)
	must(t, a.Reload(context.Background()))
	if reloaded != a.Config() {
		t.Error("reload hook not called with the new configuration")
	}
	for range 2 {
		if _, err := a.Scan(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Errorf("observer saw scans %v (a panicking observer must not stop the others)", seen)
	}
}
