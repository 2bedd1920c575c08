package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/driftd/driftd/alerting"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

const secret = "receiver-test-secret"

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const body = `{"version":"1","id":"d-1","source":"driftd","time":"2026-11-25T12:00:00Z","event_count":1,"truncated_events":0,` +
	`"groups":[{"asg":"web","event_count":1,"truncated_events":0,"events":[{"type":"drift.detected","time":"2026-11-25T12:00:00Z",` +
	`"asg":"web","ami":"ami-1","instance_id":"i-1","severity":"high","summary":"1 finding"}]}]}`

func post(t *testing.T, h http.Handler, method, ts, sig, delivery, b string) int {
	t.Helper()
	req := httptest.NewRequest(method, "/", strings.NewReader(b))
	if ts != "" {
		req.Header.Set("X-Driftd-Timestamp", ts)
	}
	if sig != "" {
		req.Header.Set("X-Driftd-Signature", sig)
	}
	if delivery != "" {
		req.Header.Set("X-Driftd-Delivery", delivery)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestHandlerVerification(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := alerting.Sign([]byte(secret), ts, []byte(body))
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10)
	badVersion := strings.Replace(body, `"version":"1"`, `"version":"9"`, 1)
	cases := []struct {
		name, method, ts, sig, delivery, body string
		want                                  int
		printed                               bool
	}{
		{"valid", "POST", ts, sig, "d-1", body, 204, true},
		{"duplicate delivery acknowledged, not printed", "POST", ts, sig, "d-1", body, 200, false},
		{"tampered body", "POST", ts, sig, "d-2", strings.Replace(body, "i-1", "i-2", 1), 401, false},
		{"wrong secret", "POST", ts, alerting.Sign([]byte("other"), ts, []byte(body)), "d-3", body, 401, false},
		{"replayed (old timestamp, re-signed)", "POST", old, alerting.Sign([]byte(secret), old, []byte(body)), "d-4", body, 401, false},
		{"future timestamp", "POST", future, alerting.Sign([]byte(secret), future, []byte(body)), "d-5", body, 401, false},
		{"timestamp swapped", "POST", strconv.FormatInt(now.Unix()-1, 10), sig, "d-6", body, 401, false},
		{"missing signature", "POST", ts, "", "d-7", body, 401, false},
		{"missing timestamp", "POST", "", sig, "d-8", body, 401, false},
		{"not hex", "POST", ts, "sha256=zz", "d-9", body, 401, false},
		{"GET", "GET", ts, sig, "d-10", body, 405, false},
		{"unsupported version", "POST", ts, alerting.Sign([]byte(secret), ts, []byte(badVersion)), "d-11", badVersion, 400, false},
		{"invalid JSON, valid signature", "POST", ts, alerting.Sign([]byte(secret), ts, []byte("{")), "d-12", "{", 400, false},
	}
	var out lockedBuf
	h := NewHandler([]byte(secret), 5*time.Minute, func() time.Time { return now }, &out)
	for _, tc := range cases {
		before := out.String()
		if got := post(t, h, tc.method, tc.ts, tc.sig, tc.delivery, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
		if printed := out.String() != before; printed != tc.printed {
			t.Errorf("%s: printed=%v", tc.name, printed)
		}
	}
	want := "delivery d-1: 1 events (0 not listed)\n2026-11-25T12:00:00Z drift.detected         asg=web instance=i-1 ami=ami-1 severity=high — 1 finding\n"
	if out.String() != want {
		t.Errorf("output:\n%q\nwant\n%q", out.String(), want)
	}
}

// TestEndToEndWithDriftdNotifier sends real notifications from the alerting
// package to the receiver: the right secret is accepted and printed, a wrong
// one is rejected with 401 and not retried by driftd.
func TestEndToEndWithDriftdNotifier(t *testing.T) {
	var out lockedBuf
	srv := httptest.NewServer(NewHandler([]byte(secret), 5*time.Minute, time.Now, &out))
	defer srv.Close()
	fA := drift.Finding{Category: drift.CategoryPackage, Name: "openssl", Attribute: "version", Change: drift.ChangeChanged,
		Expected: "3.0.8", Observed: "3.0.9", Severity: drift.SeverityHigh}
	for _, tc := range []struct {
		secret  string
		success float64
		printed bool
	}{{secret, 1, true}, {"wrong-secret", 0, false}} {
		m := alerting.NewNotifyMetrics(nil)
		n, err := alerting.New(config.Alerting{Sinks: []config.AlertSink{{Name: "rx", Type: "webhook", URL: srv.URL, Secret: tc.secret, MaxRetries: 3}}},
			alerting.Options{Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		before := out.String()
		n.Scan(time.Now(), []alerting.InstanceState{
			{InstanceID: "i-1", ASG: "web", AMI: "ami-1", Verdict: drift.VerdictDrifted, Severity: drift.SeverityHigh, Findings: []drift.Finding{fA}},
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if got := testutil.ToFloat64(m.Notifications.WithLabelValues("rx", "success")); got != tc.success {
			t.Errorf("secret %q: success=%v", tc.secret, got)
		}
		printed := strings.Contains(strings.TrimPrefix(out.String(), before), "drift.detected")
		if printed != tc.printed {
			t.Errorf("secret %q: printed=%v\n%s", tc.secret, printed, out.String())
		}
		if !tc.printed && testutil.ToFloat64(m.Failures.WithLabelValues("rx", "http_4xx")) != 1 {
			t.Errorf("a rejected signature must be one non-retried 4xx failure")
		}
	}
}

func TestRunFlagsAndSecret(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-nope"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
	stderr.Reset()
	if code := run(nil, func(string) string { return "" }, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "no secret") {
		t.Errorf("no secret: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-secret-file", filepath.Join(t.TempDir(), "absent")}, func(string) string { return "" }, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("absent secret file: exit %d", code)
	}
	p := filepath.Join(t.TempDir(), "s")
	os.WriteFile(p, []byte(" s3cret \n"), 0o600)
	if s, err := loadSecret(p, nil); err != nil || string(s) != "s3cret" {
		t.Errorf("loadSecret: %q %v", s, err)
	}
	// A listen error is exit 1 (port 1 on loopback is privileged or in use).
	if code := run([]string{"-listen", "127.0.0.1:-1"}, func(string) string { return "x" }, &bytes.Buffer{}, &bytes.Buffer{}); code != 1 {
		t.Errorf("listen error: exit %d", code)
	}
}

// FuzzHandler feeds arbitrary bodies and headers: never a panic, never a
// 2xx without a valid signature.
func FuzzHandler(f *testing.F) {
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(body, ts, alerting.Sign([]byte(secret), ts, []byte(body)))
	f.Add("{", ts, "sha256=00")
	f.Add(`{"version":"1","groups":[{"events":[{}]}]}`, "-1", "")
	f.Add("", "99999999999999999999", "sha256=")
	f.Fuzz(func(t *testing.T, b, ts, sig string) {
		h := NewHandler([]byte(secret), 5*time.Minute, func() time.Time { return now }, &bytes.Buffer{})
		code := post(t, h, "POST", ts, sig, "", b)
		valid := Verify([]byte(secret), ts, sig, []byte(b), now, 5*time.Minute) == nil
		if code < 300 && !valid {
			t.Fatalf("accepted an unverified request: %d", code)
		}
	})
}
