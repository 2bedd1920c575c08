package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/awsclients"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/scan"
)

// chromiumPath finds headless Chromium. The test is skipped only when
// Chromium is missing and DRIFTD_REQUIRE_CHROMIUM is unset; CI sets it,
// so a missing browser fails there.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("DRIFTD_REQUIRE_CHROMIUM") != "" {
		t.Fatal("DRIFTD_REQUIRE_CHROMIUM is set but no chromium binary was found (Debian package chromium)")
	}
	t.Skip("chromium not installed (set DRIFTD_REQUIRE_CHROMIUM=1 to make this a failure)")
	return ""
}

// approveGroup is the demo group (Amazon Linux, rpm) run in approve mode;
// breakerGroup (one of its three instances drifted in the demo) has a
// drift-share breaker that opens.
const (
	approveGroup = "ingest"
	breakerGroup = "edge"
)

// pageEnv is a demo-style daemon on the simulated region: the demo fleet
// and its published baselines, remediation in approve mode for the web
// group (dry run; the demo's web and worker groups carry driftd:remediation
// tags of their own), the engines attached and the page mounted, served on a
// free port behind a switch that can deny the mutating API (as an
// authenticating front would: 403).
type pageEnv struct {
	sim  *awssim.Sim
	d    *daemon.Daemon
	eng  *daemon.Engines
	url  string
	deny atomic.Bool
	// anonymous: the proxy adds no token, so the API answers 401.
	anonymous atomic.Bool
}

// pageOperatorToken is the operator's bearer token in the browser tests.
const pageOperatorToken = "page-test-operator-token-0123456789"

func newPageEnv(t *testing.T) *pageEnv {
	t.Helper()
	sim := awssim.New(awssim.Options{})
	sc := awssim.DemoScenario()
	if err := sim.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, _, docs, err := demoBaselines(sim, sc)
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL)}
	sim.S3().CreateBucket(demoBucket)
	seeder := awsclients.New(*awsCfg)
	seed, err := publish.SeedDemo(t.Context(), seeder.S3, seeder.SSM, demoBucket, docs)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := (&demoCmd{Interval: time.Hour, Listen: "127.0.0.1:0"}).config(seed)
	if err != nil {
		t.Fatal(err)
	}
	// The API admits operators only; the server in front of it plays the
	// authenticating proxy of a real deployment and adds the operator's
	// bearer token to the browser's requests (the daemon still checks it,
	// and the JSON content type of every mutation).
	tokenFile := filepath.Join(t.TempDir(), "operator.token")
	if err := os.WriteFile(tokenFile, []byte(pageOperatorToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Auth.Tokens = []config.TokenAuth{{Name: "page-operator", File: tokenFile, Role: "operator"}}
	hundred := 100.0
	r := &cfg.Remediation
	r.ModeDefault, r.DryRun, r.DebounceScans, r.MinSeverity = "off", true, 1, "info"
	r.Global.FleetBreakerPercent = &hundred
	ten := 10.0 // one drifted instance of three opens breakerGroup's drift-share breaker
	r.Groups = append(r.Groups[:0], configGroup(approveGroup, "approve", &hundred), configGroup(breakerGroup, "approve", &ten))
	r.ApplyDefaults()
	d, err := daemon.New(t.Context(), daemon.Options{Config: cfg, AWS: awsCfg, Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := d.AttachEngines(zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := mountPage(d, eng.Remediation); err != nil {
		t.Fatal(err)
	}
	e := &pageEnv{sim: sim, d: d, eng: eng}
	api := d.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && e.deny.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"operator role required"}`))
			return
		}
		if !e.anonymous.Load() {
			r.Header.Set("Authorization", "Bearer "+pageOperatorToken)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func (e *pageEnv) scan(t *testing.T) *scan.Result {
	t.Helper()
	res, err := e.d.Scan(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// browser starts headless Chromium for one test (a fresh profile; the
// browser stops with the test).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no timeout on this first call
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// stepTimeout bounds each group of browser steps.
const stepTimeout = 30 * time.Second

func inBrowser(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestPageInBrowser drives the operator page in headless Chromium: an
// injected drift shows within one scan; the approve button changes the
// plan; a 403 from the API is shown on the page; revoke and breaker reset
// work; the page works while a scan runs.
func TestPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newPageEnv(t)
	ctx := browser(t)
	first := e.scan(t)

	// An in-sync instance of the approve group gets a package nobody baked into its AMI.
	var target string
	for _, ir := range first.Instances {
		if ir.Report.ASG == approveGroup && ir.Report.Verdict == drift.VerdictInSync {
			target = ir.Report.InstanceID
			break
		}
	}
	if target == "" {
		t.Fatal("no in-sync " + approveGroup + " instance in the demo fleet")
	}
	if err := e.sim.Inject(target, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "tcpdump", Version: "4.99.1", Release: "1.amzn2023"}}); err != nil {
		t.Fatal(err)
	}
	e.scan(t)

	// Within one scan: listed as drifted, its finding on its page.
	inBrowser(t, ctx, "instance list", chromedp.Navigate(e.url+"/instances?verdict=drifted&group="+approveGroup),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance="`+target+`"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-instance="`+target+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#findings`)))
	verdict := value(t, ctx, "verdict", chromedp.Text(chromedp.CSS(`#verdict`)))
	findings := value(t, ctx, "findings", chromedp.Text(chromedp.CSS(`#findings`)))
	if !strings.HasPrefix(verdict, "drifted") || !strings.Contains(findings, "tcpdump") || !strings.Contains(findings, "4.99.1") {
		t.Fatalf("instance page: verdict %q, findings %q", verdict, findings)
	}
	bands := value(t, ctx, "drift-gap chart", chromedp.Evaluate[int](`document.querySelectorAll('#gap-chart rect.band.v-drifted').length`))
	if bands != 1 {
		t.Errorf("chart: %d drifted bands, want 1", bands)
	}

	// The plan waits for approval; a denied approval (403) is shown.
	skipRow := `#rem-skipped tr[data-instance="` + target + `"][data-reason="awaiting_approval"]`
	inBrowser(t, ctx, "remediation page", chromedp.Navigate(e.url+"/remediation"), chromedp.WaitVisible(chromedp.CSS(skipRow)))
	e.deny.Store(true)
	inBrowser(t, ctx, "denied approval", chromedp.WaitEnabled(chromedp.CSS(skipRow+` button`)),
		chromedp.Click(chromedp.CSS(skipRow+` button`)),
		chromedp.WaitVisible(chromedp.CSS(skipRow+` output[data-status="403"]`)))
	denied := value(t, ctx, "403 message", chromedp.Text(chromedp.CSS(skipRow+` output`)))
	if !strings.Contains(denied, "Not allowed (403)") || !strings.Contains(denied, "operator role required") {
		t.Errorf("403 shown as %q", denied)
	}
	if len(e.eng.Remediation.Approvals()) != 0 {
		t.Fatal("a denied approval was recorded")
	}

	// Without the operator's token the daemon itself refuses (401), and the
	// page says so.
	e.deny.Store(false)
	e.anonymous.Store(true)
	inBrowser(t, ctx, "anonymous approval", chromedp.Click(chromedp.CSS(skipRow+` button`)),
		chromedp.WaitVisible(chromedp.CSS(skipRow+` output[data-status="401"]`)))
	if msg := value(t, ctx, "401 message", chromedp.Text(chromedp.CSS(skipRow+` output`))); !strings.Contains(msg, "Not signed in (401)") {
		t.Errorf("401 shown as %q", msg)
	}
	if len(e.eng.Remediation.Approvals()) != 0 {
		t.Fatal("an unauthenticated approval was recorded")
	}

	// Approved: the approval is listed, and the next plan acts on it.
	e.anonymous.Store(false)
	inBrowser(t, ctx, "approval", chromedp.Click(chromedp.CSS(skipRow+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`#rem-approvals tr[data-instance="`+target+`"]`)))
	if a := e.eng.Remediation.Approvals(); len(a) != 1 || a[0].InstanceID != target {
		t.Fatalf("approvals after the click: %+v", a)
	}
	e.scan(t)
	inBrowser(t, ctx, "plan after approval", chromedp.Navigate(e.url+"/remediation"),
		chromedp.WaitVisible(chromedp.CSS(`#rem-actions tr[data-instance="`+target+`"]`)))
	action := value(t, ctx, "planned action", chromedp.Text(chromedp.CSS(`#rem-actions tr[data-instance="`+target+`"]`)))
	if !strings.Contains(action, "approved") {
		t.Errorf("planned action %q", action)
	}
	stillWaiting := value(t, ctx, "skips", chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, skipRow)))
	if stillWaiting != 0 {
		t.Error("the approved instance still awaits approval")
	}

	// Revoke the approval; reset the open breaker: the next plan no longer
	// blocks that group on it.
	approvalRow := `#rem-approvals tr[data-instance="` + target + `"]`
	breakerRow := `#rem-groups tr[data-group="` + breakerGroup + `"]`
	if row := value(t, ctx, "breaker group", chromedp.Text(chromedp.CSS(breakerRow))); !strings.Contains(row, "group_breaker_open") {
		t.Fatalf("%s is not blocked by its breaker: %q", breakerGroup, row)
	}
	inBrowser(t, ctx, "revoke", chromedp.WaitEnabled(chromedp.CSS(approvalRow+` button`)), chromedp.Click(chromedp.CSS(approvalRow+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`#no-approvals`)))
	if a := e.eng.Remediation.Approvals(); len(a) != 0 {
		t.Errorf("approvals after revoking: %+v", a)
	}
	inBrowser(t, ctx, "breaker reset", chromedp.WaitEnabled(chromedp.CSS(breakerRow+` button`)), chromedp.Click(chromedp.CSS(breakerRow+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`#rem-groups`)))
	deadline := time.Now().Add(10 * time.Second)
	for !e.eng.Remediation.Status().History[breakerGroup].Override {
		if time.Now().After(deadline) {
			t.Fatal("the reset button did not reset the breaker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.scan(t)
	inBrowser(t, ctx, "plan after the reset", chromedp.Navigate(e.url+"/remediation"), chromedp.WaitVisible(chromedp.CSS(breakerRow)))
	if row := value(t, ctx, "breaker group after reset", chromedp.Text(chromedp.CSS(breakerRow))); strings.Contains(row, "group_breaker_open") {
		t.Errorf("%s still blocked by its breaker after the reset: %q", breakerGroup, row)
	}

	// While a scan runs, the page shows its progress over the last
	// results (inventory reads slowed down so the scan is caught running).
	if _, err := e.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.d.Scan(context.WithoutCancel(t.Context()), nil); done <- err }()
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, ok := e.d.Progress(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slowed scan never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	inBrowser(t, ctx, "page while scanning", chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#scan-progress`)))
	banner := value(t, ctx, "scan banner", chromedp.Text(chromedp.CSS(`#scan`)))
	groups := value(t, ctx, "group row", chromedp.Text(chromedp.CSS(`#groups tr[data-group="`+approveGroup+`"]`)))
	if !strings.Contains(banner, "running") || !strings.Contains(banner, "Last scan 4") {
		t.Errorf("scan banner while scanning: %q", banner)
	}
	if !strings.Contains(groups, approveGroup) {
		t.Errorf("group row while scanning: %q", groups)
	}
	var body map[string]json.RawMessage
	resp, err := http.Get(e.url + "/api/v1/scan")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(body["running"]) != "true" || len(body["progress"]) == 0 {
		t.Errorf("/api/v1/scan while scanning: running=%s progress=%s", body["running"], body["progress"])
	}
}

func configGroup(match, mode string, driftPercent *float64) config.RemediationGroup {
	return config.RemediationGroup{Match: match, Mode: mode, Budget: "1", Breaker: config.RemediationBreaker{DriftPercent: driftPercent}}
}
