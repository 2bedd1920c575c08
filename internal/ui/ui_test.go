package ui

import (
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
	"github.com/driftd/driftd/remediation"
	"github.com/driftd/driftd/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

type fakeScans struct {
	last    *scan.Result
	prog    scan.Progress
	running bool
}

func (f *fakeScans) LastScan() *scan.Result          { return f.last }
func (f *fakeScans) Progress() (scan.Progress, bool) { return f.prog, f.running }

type fakeRem struct{ st remediation.Status }

func (f *fakeRem) Status() remediation.Status { return f.st }

const (
	web1 = "i-0aaaaaaaaaaaaaaa1"
	web2 = "i-0aaaaaaaaaaaaaaa2"
	api1 = "i-0bbbbbbbbbbbbbbb1"
	solo = "i-0ccccccccccccccc1"
	amiW = "ami-0123456789abcdef0"
	amiA = "ami-0fedcba9876543210"
)

func finding(name, exp, obs string, sev drift.Severity, rule string) drift.Finding {
	return drift.Finding{Category: drift.CategoryPackage, Name: name, Attribute: "version", Change: drift.ChangeChanged,
		Expected: exp, Observed: obs, Severity: sev, Rule: rule}
}

// fleet is four instances: web1 drifted (in sync first, then a widening
// gap, once not judged), web2 in sync, api1 unknown, solo (no group)
// exempt.
func fleet() *state.Store {
	s := state.New()
	rec := func(id, asg, ami string, v drift.Verdict, at time.Duration, fs ...drift.Finding) {
		r := &drift.Report{InstanceID: id, ASG: asg, AMI: ami, Verdict: v, Findings: fs, FindingsTotal: len(fs)}
		for _, f := range fs {
			r.Severity = max(r.Severity, f.Severity)
		}
		switch v {
		case drift.VerdictUnknown:
			r.Reasons = []string{"agent ConnectionLost since 2026-05-04T09:00:00Z"}
		case drift.VerdictExempt:
			r.Reasons = []string{"exempt by rule legacy-box"}
		case drift.VerdictDrifted:
			r.Reasons = []string{"1 package changed"}
		}
		s.Record(r, state.Inputs{BaselineVersion: "sha256:abc", BaselineSource: "s3", BaselineWhere: "s3://golden/" + ami + ".json",
			Captures: map[string]time.Time{"AWS:Application": t0.Add(at - time.Minute)}}, t0.Add(at))
	}
	rec(web1, "web", amiW, drift.VerdictInSync, 0)
	rec(web1, "web", amiW, drift.VerdictDrifted, time.Hour, finding("openssl-libs", "3.2.2-1.amzn2023", "3.0.8-1.amzn2023", drift.SeverityHigh, ""))
	rec(web1, "web", amiW, drift.VerdictUnknown, 2*time.Hour)
	rec(web1, "web", amiW, drift.VerdictDrifted, 3*time.Hour,
		finding("openssl-libs", "3.2.2-1.amzn2023", "3.0.8-1.amzn2023", drift.SeverityHigh, ""),
		finding("<script>alert(1)</script>", "1.0", "1.1\x1b[31m", drift.SeverityCritical, "sudoers-critical"))
	rec(web2, "web", amiW, drift.VerdictInSync, 3*time.Hour)
	rec(api1, "api", amiA, drift.VerdictUnknown, 3*time.Hour)
	rec(solo, "", amiA, drift.VerdictExempt, 3*time.Hour)
	s.RestoreFromTags("i-0ddddddddddddddd1", "drifted", "2026-05-01T00:00:00Z") // not scanned yet: not shown
	return s
}

func lastScan() *scan.Result {
	return &scan.Result{ID: 4, Started: t0.Add(3 * time.Hour), Finished: t0.Add(3*time.Hour + 8*time.Second), Duration: 8 * time.Second,
		Summary:  map[drift.Verdict]int{drift.VerdictDrifted: 1, drift.VerdictInSync: 1, drift.VerdictUnknown: 1, drift.VerdictExempt: 1},
		APICalls: scan.APICallStats{Total: 42}, Reused: 1}
}

func remStatus() remediation.Status {
	plan := &remediation.PlanResult{Now: t0.Add(3 * time.Hour), HourlyRemaining: 4,
		Fleet:   remediation.Breaker{Scope: "fleet"},
		Skipped: []remediation.Skip{{InstanceID: web1, Group: "web", Reason: remediation.SkipAwaitingApproval, Detail: "group web is in approve mode"}},
		Groups: []remediation.GroupStatus{
			{Name: "web", Mode: "approve", ModeSource: "config", Budget: "1", Allowed: 1, Remaining: 1, WindowOpen: true, Drifted: 1, Known: 2, Breaker: remediation.Breaker{Scope: "web"}},
			{Name: "api", Mode: "replace", ModeSource: "tag", Budget: "10%", Allowed: 1, Remaining: 0, WindowOpen: false, Known: 0,
				Breaker: remediation.Breaker{Scope: "api", Open: true, Kind: "failures", Detail: "3 consecutive failures"}, Blocked: remediation.SkipFailureBreaker},
		}}
	return remediation.Status{LastPlan: plan, Groups: plan.Groups,
		Approvals: []remediation.Approval{{InstanceID: api1, By: "alice", Created: t0.Add(2 * time.Hour), Expires: t0.Add(5 * time.Hour)}}}
}

func newTestHandler(t testing.TB, sc *fakeScans, rem Remediation) *Handler {
	t.Helper()
	h, err := New(Options{Fleet: fleet(), Scans: sc, Remediation: rem, Now: func() time.Time { return t0.Add(4 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rr.Result().Body)
	return rr.Code, string(b), rr.Result().Header
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

// TestPagesGolden renders every page of a fixed fleet and compares it
// with its golden file.
func TestPagesGolden(t *testing.T) {
	h := newTestHandler(t, &fakeScans{last: lastScan()}, &fakeRem{remStatus()})
	for _, tc := range []struct{ path, golden string }{
		{"/", "overview.html"},
		{"/instances", "instances.html"},
		{"/instances?group=web&verdict=drifted", "instances-filtered.html"},
		{"/instances/" + web1, "instance.html"},
		{"/instances/" + api1, "instance-approved.html"},
		{"/remediation", "remediation.html"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, body, hd := serve(t, h, tc.path)
			if code != 200 {
				t.Fatalf("GET %s: %d\n%s", tc.path, code, body)
			}
			if ct := hd.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			golden(t, tc.golden, body)
		})
	}
}

// TestNoInlineScriptOrHandlers: the pages work under a CSP without
// 'unsafe-inline': no inline script, style or on* attribute.
func TestNoInlineScriptOrHandlers(t *testing.T) {
	h := newTestHandler(t, &fakeScans{last: lastScan(), running: true, prog: scan.Progress{ID: 5, Phase: scan.PhaseComparing, Discovered: 4, Compared: 1}}, &fakeRem{remStatus()})
	for _, p := range []string{"/", "/instances", "/instances/" + web1, "/remediation"} {
		_, body, _ := serve(t, h, p)
		for _, bad := range []string{"<script>", " onclick=", " onsubmit=", " style=", "<style"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s holds %q", p, bad)
			}
		}
		if !strings.Contains(body, `<script src="/static/ui.js" defer></script>`) {
			t.Errorf("%s does not load the script", p)
		}
	}
}

// TestInventoryDataEscaped: names and values from inventory cannot inject
// markup, and control characters are shown escaped.
func TestInventoryDataEscaped(t *testing.T) {
	h := newTestHandler(t, &fakeScans{last: lastScan()}, nil)
	_, body, _ := serve(t, h, "/instances/"+web1)
	if strings.Contains(body, "<script>alert") {
		t.Fatal("a finding's name was not escaped")
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("escaped name missing")
	}
	if strings.Contains(body, "\x1b") || !strings.Contains(body, `1.1\x1b[31m`) {
		t.Error("control character not shown escaped")
	}
}

func TestFilters(t *testing.T) {
	h := newTestHandler(t, &fakeScans{last: lastScan()}, nil)
	for _, tc := range []struct {
		query string
		code  int
		rows  []string
		msg   string
	}{
		{"", 200, []string{web1, api1, solo, web2}, ""},
		{"?verdict=drifted", 200, []string{web1}, ""},
		{"?verdict=drifted,unknown", 200, []string{web1, api1}, ""},
		{"?verdict=drifted&verdict=in_sync", 200, []string{web1, web2}, ""},
		{"?group=web", 200, []string{web1, web2}, ""},
		{"?group=-", 200, []string{solo}, ""},
		{"?group=nosuch", 200, nil, ""},
		{"?ami=" + amiA, 200, []string{api1, solo}, ""},
		{"?ami=" + amiA + "&group=api", 200, []string{api1}, ""},
		{"?verdict=", 200, []string{web1, api1, solo, web2}, ""},
		{"?verdict=bogus", 400, nil, `verdict &#34;bogus&#34;: not one of in_sync, drifted`},
		{"?ami=ami-xyz", 400, nil, `ami &#34;ami-xyz&#34;: not an AMI id`},
		{"?group=%01web", 400, nil, `not an Auto Scaling group name`},
		{"?grp=web", 400, nil, `unknown parameter &#34;grp&#34;`},
	} {
		code, body, _ := serve(t, h, "/instances"+tc.query)
		if code != tc.code {
			t.Errorf("%s: %d, want %d", tc.query, code, tc.code)
			continue
		}
		if tc.msg != "" && !strings.Contains(body, tc.msg) {
			t.Errorf("%s: no %q in\n%s", tc.query, tc.msg, body)
		}
		if code != 200 {
			continue
		}
		var got []string
		for _, line := range strings.Split(body, "\n") {
			if _, rest, ok := strings.Cut(line, `<tr data-instance="`); ok {
				id, _, _ := strings.Cut(rest, `"`)
				got = append(got, id)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.rows, " ") {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.rows)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"verdict=drifted", "group=web&ami=ami-0123456789abcdef0", "group=-", "verdict=a,b,,c", "x=1", "group=%00"} {
		f.Add(s)
	}
	h := newTestHandler(f, &fakeScans{}, nil)
	f.Fuzz(func(t *testing.T, raw string) {
		rr := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/instances", nil)
		req.URL.RawQuery = raw
		h.ServeHTTP(rr, req)
		if rr.Code != 200 && rr.Code != 400 {
			t.Fatalf("%q: status %d", raw, rr.Code)
		}
		if q := req.URL.Query(); rr.Code == 200 {
			flt, err := parseFilter(q)
			if err != nil {
				t.Fatalf("%q: 200 with a filter error %v", raw, err)
			}
			// The canonical query parses to the same filter.
			again, err := parseFilter(mustQuery(t, flt.query()))
			if err != nil || again.query() != flt.query() {
				t.Fatalf("%q: canonical %q reparsed as %q (%v)", raw, flt.query(), again.query(), err)
			}
		}
	})
}

func TestNotFound(t *testing.T) {
	h := newTestHandler(t, &fakeScans{last: lastScan()}, nil)
	for _, p := range []string{"/instances/i-0123456789abcdef0", "/instances/i-0ddddddddddddddd1", "/nosuch"} {
		if code, body, _ := serve(t, h, p); code != 404 || !strings.Contains(body, "404 Not Found") {
			t.Errorf("%s: %d\n%s", p, code, body)
		}
	}
}

// TestWhileScanning: a running scan shows its progress above the last
// finished scan's results, and the page reloads itself; a first scan
// still running shows the progress alone.
func TestWhileScanning(t *testing.T) {
	prog := scan.Progress{ID: 5, Started: t0.Add(4 * time.Hour), Elapsed: 12 * time.Second, Phase: scan.PhaseComparing, Discovered: 4, Compared: 3,
		APICalls: 31, Throttled: 2, ThrottleWait: 1500 * time.Millisecond, ETA: 4 * time.Second}
	h := newTestHandler(t, &fakeScans{last: lastScan(), running: true, prog: prog}, nil)
	code, body, _ := serve(t, h, "/")
	if code != 200 {
		t.Fatal(code)
	}
	golden(t, "overview-scanning.html", body)
	for _, want := range []string{`<meta http-equiv="refresh" content="5">`, `<progress id="scan-progress" max="100" value="75"`,
		"3 of 4 instances compared", "31 API calls, 2 throttled, 1.5s waiting for rate limits, about 4s left", `data-scan="last"`, `data-group="web"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q", want)
		}
	}
	h = newTestHandler(t, &fakeScans{running: true, prog: scan.Progress{ID: 1, Phase: scan.PhaseDiscovering}}, nil)
	_, body, _ = serve(t, h, "/")
	if !strings.Contains(body, "0 of ? instances compared") || strings.Contains(body, `data-scan="none"`) {
		t.Errorf("first scan running:\n%s", body)
	}
	h = newTestHandler(t, &fakeScans{last: &scan.Result{ID: 2, Err: errors.New("DescribeInstances: AccessDenied")}}, nil)
	_, body, _ = serve(t, h, "/")
	if !strings.Contains(body, "failed: DescribeInstances: AccessDenied") || strings.Contains(body, "http-equiv") {
		t.Errorf("failed scan:\n%s", body)
	}
}

func TestStatic(t *testing.T) {
	h := newTestHandler(t, &fakeScans{}, nil)
	for _, p := range []string{"/static/ui.css", "/static/ui.js"} {
		code, body, hd := serve(t, h, p)
		if code != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", p, code, len(body))
		}
		if hd.Get("Content-Type") == "" {
			t.Errorf("%s: no content type", p)
		}
	}
	if code, _, _ := serve(t, h, "/static/nosuch.js"); code != 404 {
		t.Errorf("missing static file: %d", code)
	}
}

func mustQuery(t *testing.T, s string) map[string][]string {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
