package alerting

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/internal/config"
)

// allLogText renders every captured entry with its fields.
func allLogText(logs *observer.ObservedLogs) string {
	var sb strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err == nil {
			sb.WriteString(buf.String())
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// TestSecretsNeverLoggedOrInErrors runs webhook and Slack sinks through
// successes and every kind of failure (network error, 4xx/5xx whose body
// echoes the request, timeout, bad secret files) and asserts no secret
// appears in logs or errors.
func TestSecretsNeverLoggedOrInErrors(t *testing.T) {
	const hmacSecret = "hmac-SECRET-4f1c2e9a7b"
	const slackToken = "XOXB-SLACK-TOKEN-93jd82"

	// A server that echoes the request path, query and headers in its error
	// bodies — the worst case for leaks.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusBadRequest
		if strings.Contains(r.URL.Path, "/fail5xx") {
			status = http.StatusBadGateway
		}
		if strings.Contains(r.URL.Path, "/slow") {
			select {
			case <-r.Context().Done():
			case <-time.After(300 * time.Millisecond):
			}
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, "bad request to "+r.URL.String()+" (raw "+r.URL.RawPath+r.URL.RawQuery+") sig="+r.Header.Get(HeaderSignature))
	}))
	defer echo.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	slackOK := write("slack-4xx", echo.URL+"/services/T1/B1/"+slackToken)
	slack5xx := write("slack-5xx", echo.URL+"/fail5xx/services/T1/B1/"+slackToken)
	slackDead := write("slack-dead", deadURL+"/services/T1/B1/"+slackToken+"?token="+slackToken)
	slackSlow := write("slack-slow", echo.URL+"/slow/services/T1/B1/"+slackToken)
	hmacFile := write("hmac", hmacSecret+"\n")

	core, logs := observer.New(zapcore.DebugLevel)
	m := NewNotifyMetrics(nil)
	cfg := config.Alerting{Sinks: []config.AlertSink{
		{Name: "hook-4xx", Type: "webhook", URL: echo.URL + "/hook?key=" + slackToken, SecretFile: hmacFile, MaxRetries: 1},
		{Name: "hook-dead", Type: "webhook", URL: deadURL + "/hook/" + slackToken, SecretEnv: "HMAC", MaxRetries: 1},
		{Name: "slack-4xx", Type: "slack", SecretFile: slackOK, MaxRetries: 1},
		{Name: "slack-5xx", Type: "slack", SecretFile: slack5xx, MaxRetries: 1},
		{Name: "slack-dead", Type: "slack", SecretFile: slackDead, MaxRetries: 1},
		{Name: "slack-slow", Type: "slack", SecretFile: slackSlow, MaxRetries: 1, Timeout: 50 * time.Millisecond},
		{Name: "slack-inline", Type: "slack", URL: deadURL + "/services/T1/B1/" + slackToken, MaxRetries: 0},
	}}
	cfg.ApplyDefaults()
	for i := range cfg.Sinks {
		if cfg.Sinks[i].Timeout == 10*time.Second {
			cfg.Sinks[i].Timeout = 2 * time.Second
		}
	}
	n, err := New(cfg, Options{
		Logger: zap.New(core), Metrics: m, Backoff: fastBackoff,
		Getenv: func(k string) string {
			if k == "HMAC" {
				return hmacSecret
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Scan(t0, []InstanceState{drifted("i-1", "web", fA)})
	if err := n.Close(ctxTimeout(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Sinks {
		if count(m, s.Name, ResultFailure) != 1 {
			t.Errorf("%s: expected one failed notification, got failure=%v success=%v", s.Name,
				count(m, s.Name, ResultFailure), count(m, s.Name, ResultSuccess))
		}
	}
	for _, want := range []struct {
		sink   string
		reason Reason
	}{{"hook-4xx", ReasonHTTP4xx}, {"slack-5xx", ReasonHTTP5xx}, {"slack-dead", ReasonNetwork}, {"slack-slow", ReasonTimeout}} {
		if failures(m, want.sink, want.reason) == 0 {
			t.Errorf("%s: no %s failure counted", want.sink, want.reason)
		}
	}
	text := allLogText(logs)
	if !strings.Contains(text, "notification failed") || !strings.Contains(text, "HTTP 400") {
		t.Fatalf("expected failure logs, got:\n%s", text)
	}
	if !strings.Contains(text, "inline") && !strings.Contains(text, "prefer secret_file") {
		t.Errorf("inline Slack URL must be warned about:\n%s", text)
	}
	for _, secret := range []string{hmacSecret, slackToken} {
		if strings.Contains(text, secret) {
			t.Errorf("secret %q appears in logs:\n%s", secret, text)
		}
	}

	// Direct sink errors (what a caller sees) are scrubbed as well.
	for _, s := range []Sink{
		NewSlackSink("s", deadURL+"/services/T/B/"+slackToken, nil),
		NewSlackSink("s", echo.URL+"/services/T/B/"+slackToken, nil),
		NewWebhookSink("w", echo.URL+"/x/"+slackToken, []byte(hmacSecret), nil, nil),
		NewSlackSink("s", "http://[::1]:namedport/"+slackToken, nil), // unparsable URL
	} {
		_, err := s.Notify(context.Background(), sampleBatch())
		if err == nil {
			t.Fatalf("%s: expected an error", s.Name())
		}
		for _, secret := range []string{hmacSecret, slackToken} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks %q: %v", secret, err)
			}
		}
		var se *SinkError
		if !errors.As(err, &se) || errors.Unwrap(err) != nil {
			t.Errorf("error is not an opaque SinkError: %T", err)
		}
	}

	// Secret-source errors name the source, not the content.
	for _, sc := range []config.AlertSink{
		{Name: "x", Type: "webhook", URL: "https://h/x", SecretFile: filepath.Join(dir, "missing")},
		{Name: "x", Type: "webhook", URL: "https://h/x", SecretFile: write("empty", " \n")},
		{Name: "x", Type: "webhook", URL: "https://h/x", SecretEnv: "UNSET_VAR"},
		{Name: "x", Type: "slack", SecretFile: write("notaurl", slackToken)},
	} {
		_, err := New(config.Alerting{Sinks: []config.AlertSink{sc}}, Options{Getenv: func(string) string { return "" }})
		if err == nil {
			t.Fatalf("%+v: expected an error", sc)
		}
		if strings.Contains(err.Error(), slackToken) || !strings.Contains(err.Error(), "alerting.sinks[0] (x)") {
			t.Errorf("secret source error: %v", err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"https://hooks.slack.com/services/T/B/X":    "https://hooks.slack.com/<redacted>",
		"http://user:pw@host:8080/p?q=1":            "http://host:8080/<redacted>",
		"not a url":                                 "<redacted-url>",
		"http://[::1]:namedport/x":                  "<redacted-url>",
		"https://alertmanager.example.com:9093/api": "https://alertmanager.example.com:9093/<redacted>",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
