package alerting

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/driftd/driftd/internal/config"
)

// TestMetricsPreinitialisedAndLint scrapes a registry holding the
// notification metrics of two sinks: every (sink, reason) and (sink, result)
// exists at 0 before anything happens, and promtool accepts the exposition.
func TestMetricsPreinitialisedAndLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewNotifyMetrics(reg)
	n, err := New(config.Alerting{Sinks: []config.AlertSink{
		{Name: "hook", Type: "webhook", URL: "http://127.0.0.1:9/x", Secret: "s3cr3t-value"},
		{Name: "am", Type: "alertmanager", URL: "http://127.0.0.1:9"},
	}}, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if got := testutil.CollectAndCount(m.Failures); got != 2*len(Reasons) {
		t.Errorf("failure series %d, want %d", got, 2*len(Reasons))
	}
	if got := testutil.CollectAndCount(m.Notifications); got != 2*len(Results) {
		t.Errorf("notification series %d, want %d", got, 2*len(Results))
	}
	want := `
# HELP driftd_notification_failures_total Failed notification delivery attempts by sink and reason (timeout, network, http_4xx, http_5xx, throttled, encode, redirect, other).
# TYPE driftd_notification_failures_total counter
driftd_notification_failures_total{reason="encode",sink="hook"} 0
driftd_notification_failures_total{reason="http_4xx",sink="hook"} 0
driftd_notification_failures_total{reason="http_5xx",sink="hook"} 0
driftd_notification_failures_total{reason="network",sink="hook"} 0
driftd_notification_failures_total{reason="other",sink="hook"} 0
driftd_notification_failures_total{reason="redirect",sink="hook"} 0
driftd_notification_failures_total{reason="throttled",sink="hook"} 0
driftd_notification_failures_total{reason="timeout",sink="hook"} 0
`
	if err := testutil.CollectAndCompare(onlySink(m.Failures, "hook"), strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "instance_id") || strings.Contains(string(body), "s3cr3t") {
		t.Fatal("metrics carry an instance id or a secret")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is required in CI")
		}
		t.Skip("SKIP: promtool not installed — exposition lint not checked")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// onlySink collects the series of one sink (for an exact comparison).
type sinkFilter struct {
	c    prometheus.Collector
	sink string
}

func onlySink(c prometheus.Collector, sink string) prometheus.Collector { return sinkFilter{c, sink} }

func (f sinkFilter) Describe(ch chan<- *prometheus.Desc) { f.c.Describe(ch) }
func (f sinkFilter) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 100)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		if metricHasSink(m, f.sink) {
			ch <- m
		}
	}
}
