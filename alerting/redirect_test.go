package alerting

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/internal/config"
)

// TestSinksNeverFollowRedirects reproduces the probe: a webhook, Slack or
// Alertmanager URL answering 307 to another host. The other host receives
// nothing (no payload, no Referer carrying the secret path), the delivery
// fails once with reason "redirect" (not retried), and the logs name only
// the redirect's origin.
func TestSinksNeverFollowRedirects(t *testing.T) {
	const secret = "T000/B000/XXXXsecretXXXX"
	var elsewhere atomic.Int64
	var mu sync.Mutex
	var referers []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		mu.Lock()
		referers = append(referers, r.Header.Get("Referer"))
		mu.Unlock()
	}))
	defer other.Close()
	var asked atomic.Int64
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Location", other.URL+"/collect/"+secret)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	core, logs := observer.New(zapcore.DebugLevel)
	m := NewNotifyMetrics(nil)
	cfg := config.Alerting{Sinks: []config.AlertSink{
		{Name: "hook", Type: "webhook", URL: redirector.URL + "/services/" + secret + "?token=" + secret, Secret: "hmac-secret-value", MaxRetries: 3},
		{Name: "slack", Type: "slack", URL: redirector.URL + "/services/" + secret, MaxRetries: 3},
		{Name: "am", Type: "alertmanager", URL: redirector.URL + "/am/" + secret, MaxRetries: 3},
	}}
	cfg.ApplyDefaults()
	n, err := New(cfg, Options{Logger: zap.New(core), Metrics: m, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	if err := n.Close(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect target received %d requests (Referer %q)", elsewhere.Load(), referers)
	}
	if asked.Load() != 3 {
		t.Errorf("%d requests to the sinks, want 3 (one each, not retried)", asked.Load())
	}
	for _, s := range cfg.Sinks {
		if failures(m, s.Name, ReasonRedirect) != 1 || count(m, s.Name, ResultFailure) != 1 {
			t.Errorf("%s: redirect failures %v, failed notifications %v", s.Name, failures(m, s.Name, ReasonRedirect), count(m, s.Name, ResultFailure))
		}
	}
	text := allLogText(logs)
	if !strings.Contains(text, "HTTP 307: redirect to "+other.URL+" not followed") {
		t.Errorf("logs do not explain the redirect:\n%s", text)
	}
	if strings.Contains(text, "secretXXXX") || strings.Contains(text, "hmac-secret-value") {
		t.Errorf("a secret reached the logs:\n%s", text)
	}
}
