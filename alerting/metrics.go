package alerting

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/buildinfo"
)

// DaemonMetrics are the scan-side metrics of driftd (names are an API; see
// docs/metrics.md). Gauges describing fleet state are reset and re-set after
// every scan, so groups and AMIs that vanished do not linger.
type DaemonMetrics struct {
	Instances         *prometheus.GaugeVec
	Findings          *prometheus.GaugeVec
	InventoryAge      *prometheus.GaugeVec
	ScanDuration      prometheus.Histogram
	Scans             *prometheus.CounterVec
	LastSuccessfulRun prometheus.Gauge
	CollectorSuccess  *prometheus.GaugeVec
	CollectorDuration *prometheus.GaugeVec
	CollectorErrors   *prometheus.CounterVec
	APICalls          *prometheus.CounterVec
	ConfigReloads     *prometheus.CounterVec
	ConfigLastReload  prometheus.Gauge
	BaselineErrors    *prometheus.CounterVec
	BuildInfo         *prometheus.GaugeVec
	// InventoryTypeUnavailable is 1 for a configured inventory type SSM did
	// not know at the last scan that asked (InvalidTypeNameException), else 0.
	InventoryTypeUnavailable *prometheus.GaugeVec

	typesMu sync.Mutex
	types   map[string]bool // configured types with a series
}

// NewDaemonMetrics creates the daemon metrics and registers them with reg.
func NewDaemonMetrics(reg prometheus.Registerer) *DaemonMetrics {
	m := &DaemonMetrics{
		Instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_instances", Help: "Instances by ASG, AMI and verdict in the last scan.",
		}, []string{"asg", "ami", "verdict"}),
		Findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_findings", Help: "Drift findings of drifted instances by ASG, category and severity in the last scan.",
		}, []string{"asg", "category", "severity"}),
		InventoryAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_inventory_age_seconds", Help: "Age of the oldest inventory capture in the group at the last scan.",
		}, []string{"asg"}),
		ScanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "driftd_scan_duration_seconds", Help: "Duration of scans.",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		Scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_scans_total", Help: "Scans by result (success, failure).",
		}, []string{"result"}),
		LastSuccessfulRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "driftd_last_successful_scan_timestamp_seconds", Help: "Unix time the last successful scan finished.",
		}),
		CollectorSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_collector_success", Help: "Whether the collector succeeded in the last scan (1) or not (0).",
		}, []string{"collector"}),
		CollectorDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_collector_duration_seconds", Help: "Duration of the collector's last run.",
		}, []string{"collector"}),
		CollectorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_collector_errors_total", Help: "Collector errors by collector and reason.",
		}, []string{"collector", "reason"}),
		APICalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_aws_api_calls_total", Help: "AWS API call attempts (retries included) by service, operation and result code (OK or the AWS error code).",
		}, []string{"service", "operation", "code"}),
		ConfigReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_config_reloads_total", Help: "Configuration reloads by result (success, failure).",
		}, []string{"result"}),
		ConfigLastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "driftd_config_last_reload_successful", Help: "Whether the last configuration reload succeeded (1) or not (0).",
		}),
		BaselineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_baseline_errors_total", Help: "Baseline resolution errors by source (missing manifests are not errors).",
		}, []string{"source"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_build_info", Help: "Build information; always 1.",
		}, buildinfo.LabelNames()),
		InventoryTypeUnavailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_inventory_type_unavailable",
			Help: "1 when SSM did not know the configured inventory type at the last scan that asked (InvalidTypeNameException: not collected), else 0.",
		}, []string{"type"}),
	}
	reg.MustRegister(m.Instances, m.Findings, m.InventoryAge, m.ScanDuration, m.Scans, m.LastSuccessfulRun,
		m.CollectorSuccess, m.CollectorDuration, m.CollectorErrors, m.APICalls, m.ConfigReloads, m.ConfigLastReload,
		m.BaselineErrors, m.BuildInfo, m.InventoryTypeUnavailable)
	m.BuildInfo.With(buildinfo.Labels()).Set(1)
	for _, r := range []string{"success", "failure"} {
		m.Scans.WithLabelValues(r)
		m.ConfigReloads.WithLabelValues(r)
	}
	m.ConfigLastReload.Set(1)
	return m
}

// InitInventoryTypes gives driftd_inventory_type_unavailable a series for
// each configured type (0 until a scan finds it unavailable) and drops the
// series of types no longer configured.
func (m *DaemonMetrics) InitInventoryTypes(types []string) {
	m.typesMu.Lock()
	defer m.typesMu.Unlock()
	want := make(map[string]bool, len(types))
	for _, t := range types {
		want[t] = true
		if !m.types[t] {
			m.InventoryTypeUnavailable.WithLabelValues(t).Set(0)
		}
	}
	for t := range m.types {
		if !want[t] {
			m.InventoryTypeUnavailable.DeleteLabelValues(t)
		}
	}
	m.types = want
}

// SetInventoryTypes records what a scan learned: type → unavailable. Types
// the scan did not ask about keep their value; unconfigured ones are ignored.
func (m *DaemonMetrics) SetInventoryTypes(settled map[string]bool) {
	m.typesMu.Lock()
	defer m.typesMu.Unlock()
	for t, unavailable := range settled {
		if !m.types[t] {
			continue
		}
		v := 0.0
		if unavailable {
			v = 1
		}
		m.InventoryTypeUnavailable.WithLabelValues(t).Set(v)
	}
}

// FleetInstance is one instance's contribution to the fleet gauges.
type FleetInstance struct {
	ASG      string
	AMI      string
	Verdict  drift.Verdict
	Findings map[FindingKey]int
	// InventoryAge is the age of the oldest capture compared (0 = none).
	InventoryAge time.Duration
}

// FindingKey groups findings for driftd_findings.
type FindingKey struct {
	Category drift.Category
	Severity drift.Severity
}

// SetFleet replaces the fleet gauges with the state of the last scan.
func (m *DaemonMetrics) SetFleet(instances []FleetInstance) {
	type ik struct{ asg, ami, verdict string }
	type fk struct{ asg, cat, sev string }
	inst := map[ik]float64{}
	finds := map[fk]float64{}
	age := map[string]float64{}
	for _, in := range instances {
		inst[ik{in.ASG, in.AMI, string(in.Verdict)}]++
		for k, n := range in.Findings {
			finds[fk{in.ASG, string(k.Category), k.Severity.String()}] += float64(n)
		}
		if in.InventoryAge > 0 {
			if s := in.InventoryAge.Seconds(); s > age[in.ASG] {
				age[in.ASG] = s
			}
		}
	}
	m.Instances.Reset()
	m.Findings.Reset()
	m.InventoryAge.Reset()
	for k, v := range inst {
		m.Instances.WithLabelValues(k.asg, k.ami, k.verdict).Set(v)
	}
	for k, v := range finds {
		m.Findings.WithLabelValues(k.asg, k.cat, k.sev).Set(v)
	}
	for k, v := range age {
		m.InventoryAge.WithLabelValues(k).Set(v)
	}
}

// ObserveCollector records one timed collector run.
func (m *DaemonMetrics) ObserveCollector(name string, d time.Duration, ok bool) {
	m.CollectorDuration.WithLabelValues(name).Set(d.Seconds())
	v := 0.0
	if ok {
		v = 1
	}
	m.CollectorSuccess.WithLabelValues(name).Set(v)
}

// ObserveScan records a finished scan.
func (m *DaemonMetrics) ObserveScan(d time.Duration, ok bool, finished time.Time) {
	m.ScanDuration.Observe(d.Seconds())
	if ok {
		m.Scans.WithLabelValues("success").Inc()
		m.LastSuccessfulRun.Set(float64(finished.UnixNano()) / 1e9)
	} else {
		m.Scans.WithLabelValues("failure").Inc()
	}
}

// ObserveReload records a configuration reload.
func (m *DaemonMetrics) ObserveReload(ok bool) {
	if ok {
		m.ConfigReloads.WithLabelValues("success").Inc()
		m.ConfigLastReload.Set(1)
	} else {
		m.ConfigReloads.WithLabelValues("failure").Inc()
		m.ConfigLastReload.Set(0)
	}
}
