package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/internal/webauth"
)

// TestControlPlaneProbes replays issue 13's HTTP probes against a daemon
// with its engines on the simulated region, both breakers open (web: 5 of
// 6 drifted, 83 %; fleet: 5 of 10, 50 %):
//   - unauthenticated approvals and breaker resets answer 401, change
//     nothing, and the next cycle replaces nothing;
//   - a text/plain POST from a foreign Origin (a web page riding an
//     operator's browser credentials) answers 415;
//   - 3,000 approvals with a 60 KB "by" and 3,000 resets of made-up 60 KB
//     scopes are all refused, with memory, state, the status answer and
//     the audit log bounded;
//   - /-/reload without --web.enable-lifecycle is refused;
//   - the audit records survive a restart (the store reopened).
func TestControlPlaneProbes(t *testing.T) {
	b := newBlastDaemon(t)
	fleet := remediationFleet{web: 6, webDrifted: 5, api: 4}
	if err := b.sim.LoadScenario(fleet.scenario()); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "golden", SSMParameter: &config.SSMParameterBaseline{Name: "/driftd/baselines/{ami_id}"}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	c.AWS.RetryMode, c.AWS.MaxAttempts, c.AWS.MaxBackoff = "standard", 2, 5*time.Millisecond
	c.Remediation = config.Remediation{DebounceScans: 2, MinSeverity: "low", Groups: []config.RemediationGroup{
		{Match: "web", Mode: "replace", Budget: "6", MaxInFlight: 6}, {Match: "api", Mode: "flag"}}}
	c.Remediation.ApplyDefaults()
	c.State.File = filepath.Join(t.TempDir(), "state.json")
	var tok string
	c.HTTP.Auth.Tokens, tok = operatorToken(t)
	a, err := New(context.Background(), Options{Config: c, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(b.url)}})
	must(t, err)
	eng, err := a.AttachEngines(zap.NewNop())
	must(t, err)
	defer func() { _ = eng.Close(context.Background()) }()
	must(t, a.SetWeb(WebOptions{})) // no --web.enable-lifecycle
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	scanAndReplaced := func() []string {
		t.Helper()
		b.sim.ResetCalls()
		if _, err := a.Scan(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		return decisionsOf(eng.Remediation.Status().LastPlan, b.sim.Calls()).health
	}
	scanAndReplaced()
	if got := scanAndReplaced(); len(got) != 0 {
		t.Fatalf("replaced %v with both breakers open", got)
	}
	open := 0
	for _, br := range eng.Remediation.Status().Breakers {
		if br.Open {
			open++
		}
	}
	if open != 2 {
		t.Fatalf("breakers %+v, want fleet and web open", eng.Remediation.Status().Breakers)
	}
	victim := b.sim.GroupMembers("web")[0]

	// Unauthenticated mutations.
	for _, m := range []struct{ method, path, body string }{
		{"POST", "/api/v1/approvals", `{"instance_id":"` + victim + `","by":"mallory"}`},
		{"POST", "/api/v1/remediation/breakers/reset", `{"scope":"fleet"}`},
		{"POST", "/api/v1/remediation/breakers/reset", `{"scope":"web"}`},
		{"DELETE", "/api/v1/approvals/" + victim, ``},
		{"POST", "/-/reload", ``},
	} {
		resp := send(t, m.method, srv.URL+m.path, "", m.body)
		resp.Body.Close()
		want := http.StatusUnauthorized
		if m.path == "/-/reload" {
			want = http.StatusForbidden // lifecycle off: refused whoever asks
		}
		if resp.StatusCode != want || (want == 401 && resp.Header.Get("WWW-Authenticate") == "") {
			t.Errorf("unauthenticated %s %s: %d, want %d", m.method, m.path, resp.StatusCode, want)
		}
	}
	// A browser form riding the operator's credentials.
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/remediation/breakers/reset", strings.NewReader(`{"scope":"fleet"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain cross-origin reset: %d, want 415", resp.StatusCode)
	}
	st := eng.Remediation.Status()
	if len(st.Approvals) != 0 || st.History["web"].Override {
		t.Fatalf("state changed by refused requests: approvals %+v, web %+v", st.Approvals, st.History["web"])
	}
	if got := scanAndReplaced(); len(got) != 0 {
		t.Fatalf("next cycle replaced %v after refused requests", got)
	}

	// The flood, by an authenticated operator.
	t0 := time.Now()
	defer func() { t.Logf("flood %v", time.Since(t0)) }()
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	big := strings.Repeat("x", 60<<10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	work := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				path := "/api/v1/approvals"
				if strings.HasPrefix(body, `{"scope"`) {
					path = "/api/v1/remediation/breakers/reset"
				}
				resp := send(t, "POST", srv.URL+path, tok, body)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	n := 3000
	if testing.Short() || raceEnabled {
		n = 300 // the race detector makes 360 MB of JSON slow; the bounds are the same
	}
	for i := range n {
		work <- fmt.Sprintf(`{"instance_id":%q,"by":"%s"}`, victim, big)
		work <- fmt.Sprintf(`{"scope":"made-up-%d-%s"}`, i, big)
	}
	close(work)
	wg.Wait()
	if codes[http.StatusBadRequest] != 2*n {
		t.Fatalf("flood answers %v, want %d × 400", codes, 2*n)
	}
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	if grow := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grow > 32<<20 {
		t.Errorf("heap grew by %d MB during the flood", grow>>20)
	}
	if st := eng.Remediation.Status(); len(st.Approvals) != 0 || len(st.History) > 2 {
		t.Errorf("flood left state: %d approvals, history %v", len(st.Approvals), st.History)
	}
	body := get(t, srv, "/api/v1/remediation", 401) // reads need a viewer: auth is configured
	_ = body
	sreq, _ := http.NewRequest("GET", srv.URL+"/api/v1/remediation", nil)
	sreq.Header.Set("Authorization", "Bearer "+tok)
	sresp, err := http.DefaultClient.Do(sreq)
	must(t, err)
	status, _ := io.ReadAll(sresp.Body)
	sresp.Body.Close()
	if sresp.StatusCode != 200 || len(status) > 64<<10 {
		t.Errorf("GET /api/v1/remediation: %d, %d bytes", sresp.StatusCode, len(status))
	}

	// The audit log through the API (a viewer route).
	areq, _ := http.NewRequest("GET", srv.URL+"/api/v1/audit?limit=5", nil)
	areq.Header.Set("Authorization", "Bearer "+tok)
	aresp, err := http.DefaultClient.Do(areq)
	must(t, err)
	var page struct {
		Records []webauth.Record `json:"records"`
		Next    string           `json:"next"`
	}
	must(t, json.NewDecoder(aresp.Body).Decode(&page))
	aresp.Body.Close()
	if aresp.StatusCode != 200 || len(page.Records) != 5 || page.Next == "" || page.Records[0].Identity != "ops" {
		t.Errorf("GET /api/v1/audit: %d, %+v", aresp.StatusCode, page)
	}

	// The audit log, reopened as after a restart: the refusals are there,
	// bounded, none carrying the 60 KB values.
	store := ha.OpenFileStore(c.State.File+".audit", ha.FileStoreOptions{})
	entries, _, err := store.AuditList(context.Background(), "", ha.MaxAuditList)
	must(t, err)
	byDecision := map[string]int{}
	var suppressed int64
	for _, e := range entries {
		var r webauth.Record
		must(t, json.Unmarshal(e.Data, &r))
		byDecision[r.Decision]++
		suppressed += r.Suppressed
		for _, v := range r.Body {
			if len(v) > webauth.MaxAuditField+len("…") {
				t.Fatalf("audit record keeps a %d-byte value", len(v))
			}
		}
	}
	// Refusals are recorded at RefusedPerMinute a minute after a burst of as many.
	if limit := webauth.RefusedPerMinute + int(time.Since(t0).Seconds())*webauth.RefusedPerMinute/60 + 5; byDecision[webauth.DecisionUnauthenticated] != 4 || len(entries) > limit {
		t.Errorf("audit decisions %v (%d records)", byDecision, len(entries))
	}
	if pending := int64(2*n + 4 - len(entries)); suppressed > pending {
		t.Errorf("suppressed count %d exceeds the unrecorded requests %d", suppressed, pending)
	}
}
