package daemon

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

// Metrics are the daemon's own metrics: scans, collectors, API calls,
// configuration reloads and the fleet gauges (names, labels and help are an
// API; see docs/metrics.md). The engines register theirs (alerting's
// notifications, remediation's) on the same registry. Gauges describing
// fleet state are reset and re-set after every scan, so groups and AMIs that
// vanished do not linger.
type Metrics struct {
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
	// ScanAPICalls and ScanAPICallsLowerBound are the last full scan's API
	// calls next to their lower bound (see scan.Cost).
	ScanAPICalls           *prometheus.GaugeVec
	ScanAPICallsLowerBound *prometheus.GaugeVec

	typesMu sync.Mutex
	types   map[string]bool // configured types with a series
}

// NewMetrics creates the daemon metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer, version, goVersion string) *Metrics {
	m := &Metrics{
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
		}, []string{"version", "goversion"}),
		InventoryTypeUnavailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_inventory_type_unavailable",
			Help: "1 when SSM did not know the configured inventory type at the last scan that asked (InvalidTypeNameException: not collected), else 0.",
		}, []string{"type"}),
		ScanAPICalls: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_scan_api_calls",
			Help: "API call attempts of the last full scan, by service and operation (retries included)."}, []string{"service", "operation"}),
		ScanAPICallsLowerBound: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_scan_api_calls_lower_bound",
			Help: "Minimum API calls the last full scan needed for the same fleet and changes, by service and operation."}, []string{"service", "operation"}),
	}
	reg.MustRegister(m.Instances, m.Findings, m.InventoryAge, m.ScanDuration, m.Scans, m.LastSuccessfulRun,
		m.CollectorSuccess, m.CollectorDuration, m.CollectorErrors, m.APICalls, m.ConfigReloads, m.ConfigLastReload,
		m.BaselineErrors, m.BuildInfo, m.InventoryTypeUnavailable, m.ScanAPICalls, m.ScanAPICallsLowerBound)
	m.BuildInfo.WithLabelValues(version, goVersion).Set(1)
	for _, r := range []string{"success", "failure"} {
		m.Scans.WithLabelValues(r)
		m.ConfigReloads.WithLabelValues(r)
	}
	m.ConfigLastReload.Set(1)
	// Every collector × reason from the first scrape, so rate() and
	// increase() see the first error.
	for _, c := range []string{collectors.CollectorEC2, collectors.CollectorASG, collectors.CollectorImages,
		collectors.CollectorSSMAgents, collectors.CollectorInventory, collectors.CollectorBaselines} {
		for _, r := range collectors.Reasons {
			m.CollectorErrors.WithLabelValues(c, r)
		}
	}
	return m
}

// InitInventoryTypes gives driftd_inventory_type_unavailable a series for
// each configured type (0 until a scan finds it unavailable) and drops the
// series of types no longer configured.
func (m *Metrics) InitInventoryTypes(types []string) {
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
func (m *Metrics) SetInventoryTypes(settled map[string]bool) {
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

// fleetSample converts scan results to the metric gauges' input.
func fleetSample(res *scan.Result, now time.Time) []FleetInstance {
	out := make([]FleetInstance, 0, len(res.Instances))
	for _, ir := range res.Instances {
		fi := FleetInstance{ASG: ir.Report.ASG, AMI: ir.Report.AMI, Verdict: ir.Report.Verdict}
		if !ir.Report.OldestCapture.IsZero() {
			fi.InventoryAge = now.Sub(ir.Report.OldestCapture)
		}
		if ir.Report.Verdict == drift.VerdictDrifted && len(ir.History.Counts) > 0 {
			fi.Findings = map[FindingKey]int{}
			for k, n := range ir.History.Counts {
				cat, sev, _ := strings.Cut(k, "/")
				sv, _ := drift.ParseSeverity(sev)
				fi.Findings[FindingKey{Category: drift.Category(cat), Severity: sv}] += n
			}
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ASG < out[j].ASG })
	return out
}

// SetFleet replaces the fleet gauges with the state of the last scan.
func (m *Metrics) SetFleet(instances []FleetInstance) {
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
func (m *Metrics) ObserveCollector(name string, d time.Duration, ok bool) {
	m.CollectorDuration.WithLabelValues(name).Set(d.Seconds())
	v := 0.0
	if ok {
		v = 1
	}
	m.CollectorSuccess.WithLabelValues(name).Set(v)
}

// ObserveScan records a finished scan.
func (m *Metrics) ObserveScan(d time.Duration, ok bool, finished time.Time) {
	m.ScanDuration.Observe(d.Seconds())
	if ok {
		m.Scans.WithLabelValues("success").Inc()
		m.LastSuccessfulRun.Set(float64(finished.UnixNano()) / 1e9)
	} else {
		m.Scans.WithLabelValues("failure").Inc()
	}
}

// ObserveReload records a configuration reload.
func (m *Metrics) ObserveReload(ok bool) {
	if ok {
		m.ConfigReloads.WithLabelValues("success").Inc()
		m.ConfigLastReload.Set(1)
	} else {
		m.ConfigReloads.WithLabelValues("failure").Inc()
		m.ConfigLastReload.Set(0)
	}
}

// SetCost replaces the API cost gauges with a full scan's calls and lower
// bound ("service:Operation" → count).
func (m *Metrics) SetCost(calls, lowerBound map[string]int) {
	for _, g := range []struct {
		v *prometheus.GaugeVec
		n map[string]int
	}{{m.ScanAPICalls, calls}, {m.ScanAPICallsLowerBound, lowerBound}} {
		g.v.Reset()
		for op, n := range g.n {
			svc, o, _ := strings.Cut(op, ":")
			g.v.WithLabelValues(svc, o).Set(float64(n))
		}
	}
}

// collectorRecorder adapts the metrics to the collectors' recorders
// (collectors.Recorder, collectors.BaselineErrorRecorder).
type collectorRecorder struct{ m *Metrics }

func (r collectorRecorder) ObserveCollector(name string, d time.Duration, ok bool) {
	r.m.ObserveCollector(name, d, ok)
}

func (r collectorRecorder) CollectorError(name, reason string) {
	r.m.CollectorErrors.WithLabelValues(name, reason).Inc()
}

func (r collectorRecorder) BaselineError(source string) {
	r.m.BaselineErrors.WithLabelValues(source).Inc()
}
