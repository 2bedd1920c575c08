package alerting

import "github.com/prometheus/client_golang/prometheus"

// Delivery results (label values of driftd_notifications_total).
const (
	ResultSuccess = "success" // delivered (possibly after retries)
	ResultFailure = "failure" // given up: non-retryable error or retries exhausted
	ResultDropped = "dropped" // evicted from a full queue, or pending at shutdown
)

// Results lists every result label value.
var Results = []string{ResultSuccess, ResultFailure, ResultDropped}

// NotifyMetrics are the notification counters. Create them once per process
// (they survive config reloads) and pass them to every Notifier.
type NotifyMetrics struct {
	// Notifications counts notifications (batches) by sink and final result.
	Notifications *prometheus.CounterVec
	// Failures counts failed delivery attempts by sink and reason.
	Failures *prometheus.CounterVec
	// SecurityHubFindings counts findings sent to Security Hub by sink and
	// result: imported (accepted), failed (listed in FailedFindings; a
	// retried finding counts once per failed attempt).
	SecurityHubFindings *prometheus.CounterVec
}

// NewNotifyMetrics creates the counters and registers them on reg (nil: not
// registered, e.g. in tests).
func NewNotifyMetrics(reg prometheus.Registerer) *NotifyMetrics {
	m := &NotifyMetrics{
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_notifications_total",
			Help: "Notifications by sink and final result (success, failure, dropped).",
		}, []string{"sink", "result"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_notification_failures_total",
			Help: "Failed notification delivery attempts by sink and reason (timeout, network, http_4xx, http_5xx, throttled, encode, redirect, other).",
		}, []string{"sink", "reason"}),
		SecurityHubFindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_securityhub_findings_total",
			Help: "Findings sent to Security Hub by sink and result (imported, failed: listed in FailedFindings, once per failed attempt).",
		}, []string{"sink", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.Notifications, m.Failures, m.SecurityHubFindings)
	}
	return m
}

// InitSink pre-initialises every label combination of a sink to zero, so
// rate() and absent() behave from the first scrape.
func (m *NotifyMetrics) InitSink(sink string) {
	for _, r := range Results {
		m.Notifications.WithLabelValues(sink, r)
	}
	for _, r := range Reasons {
		m.Failures.WithLabelValues(sink, string(r))
	}
}
