// Package e2e runs driftd end to end: the daemon built from this tree
// (`driftd run` with a real configuration) scans the simulated region
// (awssim, the demo scenario, served over HTTP on loopback), a real
// Prometheus scrapes it and evaluates the shipped rules, and a real
// Alertmanager delivers to a webhook receiver in the test.
//
// The shipped rules are used unchanged except for their durations: a
// test-only copy sets every `for:` to 2s and every group `interval:` to 1s
// (see shortenRules), so an alert that waits 15 minutes in production fires
// within seconds here.
//
// It needs /usr/bin/prometheus, prometheus-alertmanager and promtool
// (apt-get install -y prometheus prometheus-alertmanager). Without them it
// skips with a visible message, unless CI is set, when it fails.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/deploy/promexpr"
)

// emptyInDemo lists expressions that may legitimately return no series in
// this run, with the reason. They must still parse (Prometheus answers the
// query without error); only the "returns data" check is waived, and the
// test logs each waived expression that was in fact empty. Keys are
// Expr.Source values.
var emptyInDemo = map[string]string{
	// Missing manifests are not errors; no source fails in the demo, and the
	// counter has no series until one does.
	`driftd.json: panel "Baseline errors" ref A`: "no baseline source fails in the demo",
	`alerts.yml: alert DriftdBaselineErrors`:     "no baseline source fails in the demo",
	// Remediation is off (report-only) in the e2e configuration: no action
	// is planned, so no driftd_remediations_total series exists yet.
	`driftd.json: panel "Remediation actions" ref A`: "remediation off: no remediation has run",
	`alerts.yml: alert DriftdRemediationFailures`:    "remediation off: no remediation has run",
	// No reload happens during the test.
	`driftd.json: panel "Config reloads" ref A`: "no configuration reload during the test",
}

const (
	testBudget     = 3 * time.Minute
	scanEvery      = "2s"
	driftedASG     = "web" // the demo scenario drifts web[0] (package added) and web[1] (upgrade)
	forInTest      = "2s"
	alertDrift     = "DriftdDriftedInstances"
	scrapeJob      = "driftd"
	baselinePrefix = "/driftd/baselines/"
)

func TestEndToEnd(t *testing.T) {
	started := time.Now()
	promBin := requireBinary(t, "/usr/bin/prometheus", "prometheus")
	amBin := requireBinary(t, "/usr/bin/prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	promtool := requireBinary(t, "promtool")
	deadline := started.Add(testBudget)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	dir := t.TempDir()
	root := repoRoot(t)
	bin := buildDriftd(t, dir)
	t.Logf("built driftd in %s", time.Since(started).Round(time.Millisecond))

	// 1. The simulated region, with the demo fleet (6 groups, known drifts).
	sim := awssim.New(awssim.Options{LaunchDelay: -1, TerminateDelay: -1, InventoryDelay: -1})
	if err := sim.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	t.Cleanup(func() { _ = simSrv.Close() })
	simURL := "http://" + simLn.Addr().String()

	// 2. Baselines: the demo scenario publishes each AMI's manifest through
	// the simulated Parameter Store (an s3:// pointer, the manifests being
	// larger than a parameter holds); driftd reads them through its
	// ssm_parameter source, following the pointer to S3.

	// 3. driftd run with a real configuration file; its own notifications go
	// to a second receiver (driftd's webhook sink).
	notify := &notifyReceiver{}
	notifySrv := httptest.NewServer(notify)
	t.Cleanup(notifySrv.Close)
	driftdAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := filepath.Join(dir, "driftd.yaml")
	writeFile(t, cfg, fmt.Sprintf(`aws:
  region: us-east-1
  max_attempts: 2
selection:
  include_standalone: true
schedule:
  cron: "@every %s"
  timeout: %s
inventory:
  types: ["AWS:Application", "Custom:FileDigest", "Custom:SystemdUnit", "AWS:WindowsUpdate", "AWS:Service", "AWS:WindowsRole"]
  max_age: 26h
  concurrency: 16
  rate_limits: {ssm: 1000, ec2: 1000, autoscaling: 1000}
baselines:
  - ssm_parameter:
      name: "`+baselinePrefix+`{ami_id}"
http:
  listen: %s
log:
  level: info
  format: json
state:
  file: %s
alerting:
  sinks:
    - name: e2e-hook
      type: webhook
      url: %s/driftd
      secret_env: DRIFTD_E2E_WEBHOOK_SECRET
`, scanEvery, scanEvery, driftdAddr, filepath.Join(dir, "state.json"), notifySrv.URL))
	validate := exec.Command(bin, "validate", "--config", cfg)
	validate.Env = append(os.Environ(), "DRIFTD_E2E_WEBHOOK_SECRET=e2e-signing-secret")
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("driftd validate: %v\n%s", err, out)
	}
	driftd := start(t, "driftd", dir, "env", "-i",
		"PATH="+os.Getenv("PATH"), "HOME="+dir,
		"AWS_ENDPOINT_URL="+simURL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDE2ETEST", "AWS_SECRET_ACCESS_KEY=e2e-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"DRIFTD_E2E_WEBHOOK_SECRET=e2e-signing-secret",
		bin, "run", "--config", cfg)

	// 4. The webhook receiver and Alertmanager.
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	amAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	amCfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, amCfg, fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, asg]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s/alerts
        send_resolved: true
`, hook.URL))
	am := start(t, "alertmanager", dir, amBin,
		"--config.file="+amCfg,
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=")

	// 5. Prometheus with the shipped rules (durations shortened).
	rulesDir := filepath.Join(dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	alertsFile := shortenRules(t, filepath.Join(root, "deploy/prometheus/alerts.yml"), rulesDir, forInTest)
	recordingFile := shortenRules(t, filepath.Join(root, "deploy/prometheus/recording.yml"), rulesDir, forInTest)
	if out, err := exec.Command(promtool, "check", "rules", alertsFile, recordingFile).CombinedOutput(); err != nil {
		t.Fatalf("shortened rules do not check: %v\n%s", err, out)
	}
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promCfg, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
  - %s
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, recordingFile, alertsFile, amAddr, scrapeJob, driftdAddr))
	prom := start(t, "prometheus", dir, promBin,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr,
		"--rules.alert.resend-delay=1s",
		"--rules.alert.for-grace-period=1s")
	promURL := "http://" + promAddr
	procs := []*proc{driftd, am, prom}

	waitFor(t, deadline, "driftd /metrics", procs, func() (bool, string) { return httpOK("http://" + driftdAddr + "/metrics") })
	waitFor(t, deadline, "alertmanager ready", procs, func() (bool, string) { return httpOK("http://" + amAddr + "/-/ready") })
	waitFor(t, deadline, "prometheus ready", procs, func() (bool, string) { return httpOK(promURL + "/-/ready") })

	// 6. The scrape is healthy.
	waitFor(t, deadline, "up == 1", procs, func() (bool, string) {
		v, err := query(ctx, promURL, fmt.Sprintf(`up{job=%q} == 1`, scrapeJob))
		if err != nil {
			return false, err.Error()
		}
		return len(v) == 1, fmt.Sprintf("%d series", len(v))
	})
	t.Logf("scrape healthy after %s", time.Since(started).Round(time.Millisecond))

	// 7. The exposition passes promtool check metrics (names, help, types).
	checkMetrics(t, promtool, "http://"+driftdAddr+"/metrics")

	// 8. driftd has scanned the demo fleet and sees the drift in web.
	waitFor(t, deadline, "a successful scan with drifted instances in "+driftedASG, procs, func() (bool, string) {
		v, err := query(ctx, promURL, fmt.Sprintf(`sum by (asg) (driftd_instances{verdict="drifted",asg=%q}) > 0`, driftedASG))
		if err != nil {
			return false, err.Error()
		}
		return len(v) == 1, fmt.Sprintf("%d series", len(v))
	})

	// 9. Every shipped PromQL expression parses and (unless documented
	// otherwise) returns data from this Prometheus.
	checkExpressions(t, ctx, deadline, promURL, root, procs)

	// Every loaded rule evaluates without error (evaluation-time errors,
	// e.g. many-to-many matches, do not show in promtool check rules).
	checkRuleHealth(t, ctx, deadline, promURL, procs)

	// 10. The drift alert fires and reaches the receiver through Alertmanager.
	waitFor(t, deadline, alertDrift+" firing at the receiver", procs, func() (bool, string) {
		return rc.find(alertDrift, map[string]string{"asg": driftedASG, "severity": "warning"}, "firing"), rc.summary()
	})
	t.Logf("%s{asg=%q} delivered firing after %s", alertDrift, driftedASG, time.Since(started).Round(time.Millisecond))
	// driftd itself announced the drift through its webhook sink.
	waitFor(t, deadline, "driftd's own drift.detected notification", procs, func() (bool, string) {
		return notify.count("drift.detected") > 0, notify.summary()
	})

	// 11. Heal the group in the simulator; the alert resolves. Only a
	// resolution delivered after the heal counts.
	mark := rc.mark()
	healed := time.Now()
	members := len(sim.GroupMembers(driftedASG))
	for i := range members {
		// Through the simulator's admin API, as an operator would.
		code, body, err := postJSON(simURL+"/_awssim/inject", map[string]any{"group": driftedASG, "index": i, "action": awssim.DriftHeal})
		if err != nil || code != http.StatusOK {
			t.Fatalf("POST /_awssim/inject heal %s[%d]: %d %s %v", driftedASG, i, code, body, err)
		}
	}
	if members == 0 {
		t.Fatalf("group %s has no members", driftedASG)
	}
	// Gauges are re-set after every scan, so a group with no drifted
	// instance has no drifted series at all; require the group itself to be
	// reported, so an empty answer cannot come from a broken scrape.
	waitFor(t, deadline, "no drifted instance left in "+driftedASG, procs, func() (bool, string) {
		drifted, err1 := query(ctx, promURL, fmt.Sprintf(`sum(driftd_instances{verdict="drifted",asg=%q}) > 0`, driftedASG))
		group, err2 := query(ctx, promURL, fmt.Sprintf(`sum(driftd_instances{verdict="in_sync",asg=%q}) > 0`, driftedASG))
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		return len(drifted) == 0 && len(group) == 1, fmt.Sprintf("drifted %v, in_sync %v", drifted, group)
	})
	waitFor(t, deadline, alertDrift+" resolved at the receiver", procs, func() (bool, string) {
		return rc.findSince(mark, alertDrift, map[string]string{"asg": driftedASG}, "resolved"), rc.summary()
	})
	t.Logf("%s{asg=%q} delivered resolved %s after the heal", alertDrift, driftedASG, time.Since(healed).Round(time.Millisecond))
	// The other groups' drift is untouched: api still drifts.
	if v, err := query(ctx, promURL, `sum by (asg) (driftd_instances{verdict="drifted",asg="api"}) > 0`); err != nil || len(v) != 1 {
		t.Errorf("api should still be drifted after healing web: %v %v", v, err)
	}
	// The undrifted members of the Debian (amd64 SBOM baseline, agent
	// reports x86_64), arm64 and Windows groups are in sync.
	v, err := query(ctx, promURL, `sum by (asg) (driftd_instances{verdict="in_sync",asg=~"api|edge|ingest|iis"})`)
	inSync := map[string]string{}
	for _, s := range v {
		inSync[s.Metric["asg"]] = fmt.Sprint(s.Value[1])
	}
	if want := map[string]string{"api": "7", "edge": "2", "ingest": "3", "iis": "1"}; err != nil || !reflect.DeepEqual(inSync, want) {
		t.Errorf("in_sync instances per group %v (%v), want %v", inSync, err, want)
	}
	// The Windows group's findings by category: a KB added (update), an
	// application upgraded (package), a service disabled and stopped
	// (service: start type and status).
	v, err = query(ctx, promURL, `sum by (category) (driftd_findings{asg="iis"})`)
	byCategory := map[string]string{}
	for _, s := range v {
		byCategory[s.Metric["category"]] = fmt.Sprint(s.Value[1])
	}
	if want := map[string]string{"update": "1", "package": "1", "service": "2"}; err != nil || !reflect.DeepEqual(byCategory, want) {
		t.Errorf("iis findings by category %v (%v), want %v", byCategory, err, want)
	}
	t.Logf("end to end in %s (budget %s)", time.Since(started).Round(time.Millisecond), testBudget)
}

// checkMetrics runs `promtool check metrics` on a scrape of driftd.
func checkMetrics(t *testing.T, promtool, u string) {
	t.Helper()
	resp, err := httpClient.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = resp.Body
	out, err := cmd.CombinedOutput()
	if err != nil {
		// promtool exits 1 for lint problems and prints them; treat any as failure.
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// checkExpressions queries every dashboard and rule expression. Each must
// parse (no error from Prometheus); each must return data unless listed in
// emptyInDemo. Alert expressions are checked twice: as written (parse) and
// without their threshold (the watched series must exist). Rate windows need
// a few scrapes, so data is awaited until the deadline.
func checkExpressions(t *testing.T, ctx context.Context, deadline time.Time, promURL, root string, procs []*proc) {
	t.Helper()
	dash, err := promexpr.DashboardExprs(filepath.Join(root, "deploy/grafana/driftd.json"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := promexpr.RuleExprs(filepath.Join(root, "deploy/prometheus/alerts.yml"), filepath.Join(root, "deploy/prometheus/recording.yml"))
	if err != nil {
		t.Fatal(err)
	}
	all := append(dash, rules...)
	pending := map[string]string{}    // source -> query that must return data
	mayBeEmpty := map[string]string{} // source -> query allowed to return nothing
	for _, e := range all {
		q := promexpr.Resolve(e.Expr)
		if _, err := query(ctx, promURL, q); err != nil {
			t.Errorf("%s: Prometheus rejects %q: %v", e.Source, q, err)
			continue
		}
		if e.Alert != "" {
			q = promexpr.StripThreshold(q)
		}
		if _, ok := emptyInDemo[e.Source]; ok {
			mayBeEmpty[e.Source] = q
			continue
		}
		pending[e.Source] = q
	}
	for src := range emptyInDemo {
		found := false
		for _, e := range all {
			found = found || e.Source == src
		}
		if !found {
			t.Errorf("emptyInDemo lists %q, which is no longer a shipped expression", src)
		}
	}
	if t.Failed() {
		return
	}
	// At most ~60 s for rate windows to fill, within the overall budget.
	dl := time.Now().Add(60 * time.Second)
	if dl.After(deadline) {
		dl = deadline
	}
	waitFor(t, dl, "every shipped expression to return data", procs, func() (bool, string) {
		for src, q := range pending {
			v, err := query(ctx, promURL, q)
			if err == nil && len(v) > 0 {
				delete(pending, src)
			}
		}
		var left []string
		for src, q := range pending {
			left = append(left, src+": "+q)
		}
		sort.Strings(left)
		return len(pending) == 0, strings.Join(left, "; ")
	})
	empty := 0
	for src, q := range mayBeEmpty {
		if v, err := query(ctx, promURL, q); err == nil && len(v) == 0 {
			empty++
			t.Logf("parses, returns no data (waived: %s): %s", emptyInDemo[src], src)
		}
	}
	t.Logf("%d shipped expressions parse; %d returned data; %d empty with a documented reason", len(all), len(all)-empty, empty)
}

// checkRuleHealth waits until Prometheus has evaluated every rule group and
// fails if any rule reports an evaluation error.
func checkRuleHealth(t *testing.T, ctx context.Context, deadline time.Time, promURL string, procs []*proc) {
	t.Helper()
	type rule struct {
		Name      string `json:"name"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
	}
	var rules []rule
	waitFor(t, deadline, "every rule evaluated", procs, func() (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, promURL+"/api/v1/rules", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Groups []struct {
					Rules []rule `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return false, err.Error()
		}
		rules = rules[:0]
		for _, g := range r.Data.Groups {
			rules = append(rules, g.Rules...)
		}
		for _, rl := range rules {
			if rl.Health == "unknown" {
				return false, rl.Name + " not evaluated yet"
			}
		}
		return len(rules) > 0, fmt.Sprintf("%d rules", len(rules))
	})
	for _, rl := range rules {
		if rl.Health != "ok" || rl.LastError != "" {
			t.Errorf("rule %s: health %s: %s", rl.Name, rl.Health, rl.LastError)
		}
	}
	t.Logf("%d rules loaded and evaluating without error", len(rules))
}
