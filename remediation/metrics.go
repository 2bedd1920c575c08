package remediation

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the remediation metrics (names are an API; see docs/metrics.md).
type Metrics struct {
	Remediations    *prometheus.CounterVec // driftd_remediations_total{asg,action,result}
	BudgetRemaining *prometheus.GaugeVec   // driftd_remediation_budget_remaining{asg}
	CircuitOpen     *prometheus.GaugeVec   // driftd_circuit_open{scope}
	KillSwitch      prometheus.Gauge       // driftd_killswitch_engaged
	Blocked         *prometheus.GaugeVec   // driftd_remediation_blocked{asg,reason}
}

// Result label values of driftd_remediations_total.
const (
	ResultStarted   = "started"
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	ResultSkipped   = "skipped" // vetoed by the hook or failed re-validation
	ResultDryRun    = "dry_run"
)

// NewMetrics creates the metrics and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Remediations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_remediations_total",
			Help: "Remediation actions by Auto Scaling group, action and result (started, succeeded, failed, skipped, dry_run).",
		}, []string{"asg", "action", "result"}),
		BudgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_remediation_budget_remaining",
			Help: "Replacements the group's budget still allows now (after in-flight replacements).",
		}, []string{"asg"}),
		CircuitOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_circuit_open",
			Help: "1 while a circuit breaker is open (scope: Auto Scaling group name or fleet).",
		}, []string{"scope"}),
		KillSwitch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "driftd_killswitch_engaged",
			Help: "1 while the remediation kill switch is engaged (or could not be read).",
		}),
		Blocked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "driftd_remediation_blocked",
			Help: "Drift candidates not acted on in the last cycle, by group and skip reason (group_state_unknown is present, 0 or more, for every group).",
		}, []string{"asg", "reason"}),
	}
	m.CircuitOpen.WithLabelValues(FleetScope).Set(0)
	if reg != nil {
		reg.MustRegister(m.Remediations, m.BudgetRemaining, m.CircuitOpen, m.KillSwitch, m.Blocked)
	}
	return m
}

// observePlan sets the gauges from a plan.
func (m *Metrics) observePlan(p PlanResult) {
	if p.KillSwitch.Engaged {
		m.KillSwitch.Set(1)
	} else {
		m.KillSwitch.Set(0)
	}
	m.CircuitOpen.WithLabelValues(FleetScope).Set(b2f(p.Fleet.Open))
	m.BudgetRemaining.Reset()
	m.Blocked.Reset()
	for _, g := range p.Groups {
		m.BudgetRemaining.WithLabelValues(g.Name).Set(float64(g.Remaining))
		m.CircuitOpen.WithLabelValues(g.Name).Set(b2f(g.Breaker.Open))
		// Present (0) for every group, so "state unknown" can be alerted on
		// and graphed without absent() tricks.
		m.Blocked.WithLabelValues(g.Name, string(SkipGroupStateUnknown)).Set(0)
	}
	counts := map[[2]string]int{}
	for _, s := range p.Skipped {
		counts[[2]string{s.Group, string(s.Reason)}]++
	}
	for k, n := range counts {
		m.Blocked.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
