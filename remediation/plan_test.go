package remediation

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// fixture builds a group "web-1" of n InService instances i-00..i-(n-1),
// the first `drifted` of them drifted (high, 3 scans), the rest in sync.
type fixture struct {
	in PlanInput
}

func newFixture(n, drifted int) *fixture {
	f := &fixture{in: PlanInput{
		Now: t0,
		Config: config.Remediation{
			Groups: []config.RemediationGroup{{Match: "web-*", Mode: "replace"}},
		},
		Groups: map[string]GroupFacts{},
	}}
	f.addGroup("web-1", n, drifted)
	return f
}

func (f *fixture) addGroup(name string, n, drifted int) {
	g := GroupFacts{Name: name, Desired: n}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("i-%s-%02d", name, i)
		g.Instances = append(g.Instances, GroupInstance{ID: id, LifecycleState: "InService", HealthStatus: "Healthy"})
		s := InstanceState{ID: id, ASG: name, Verdict: drift.VerdictInSync, ConsecutiveScans: 5, Since: t0.Add(-48 * time.Hour)}
		if i < drifted {
			s.Verdict, s.Severity, s.ConsecutiveScans = drift.VerdictDrifted, drift.SeverityHigh, 3
			s.Since = t0.Add(-time.Duration(24-i) * time.Hour)
			s.Reason = "package openssl changed"
		}
		f.in.Instances = append(f.in.Instances, s)
	}
	f.in.Groups[name] = g
}

func (f *fixture) inst(id string) *InstanceState {
	for i := range f.in.Instances {
		if f.in.Instances[i].ID == id {
			return &f.in.Instances[i]
		}
	}
	panic("no instance " + id)
}

func (f *fixture) member(group, id string) *GroupInstance {
	g := f.in.Groups[group]
	for i := range g.Instances {
		if g.Instances[i].ID == id {
			return &g.Instances[i]
		}
	}
	panic("no member " + id)
}

func (f *fixture) group() *config.RemediationGroup { return &f.in.Config.Groups[0] }

func (f *fixture) setFacts(name string, mut func(*GroupFacts)) {
	g := f.in.Groups[name]
	mut(&g)
	f.in.Groups[name] = g
}

// checkInvariants: every drifted instance appears exactly once.
func checkInvariants(t *testing.T, in PlanInput, p PlanResult) {
	t.Helper()
	seen := map[string]int{}
	for _, a := range p.Actions {
		if a.InstanceID != "" {
			seen[a.InstanceID]++
		}
		for _, c := range a.Covers {
			seen[c]++
		}
	}
	for _, s := range p.Skipped {
		seen[s.InstanceID]++
		if s.Reason == "" {
			t.Errorf("skip of %s without reason", s.InstanceID)
		}
	}
	for _, s := range in.Instances {
		want := 0
		if s.Verdict == drift.VerdictDrifted {
			want = 1
		}
		if seen[s.ID] != want {
			t.Errorf("%s (%s) appears %d times in the plan, want %d", s.ID, s.Verdict, seen[s.ID], want)
		}
	}
}

func summary(p PlanResult) string {
	var parts []string
	for _, a := range p.Actions {
		if a.Kind == ActionInstanceRefresh {
			parts = append(parts, fmt.Sprintf("refresh %s %v", a.Group, a.Covers))
		} else {
			parts = append(parts, "act "+a.InstanceID)
		}
	}
	for _, s := range p.Skipped {
		parts = append(parts, fmt.Sprintf("skip %s %s", s.InstanceID, s.Reason))
	}
	return strings.Join(parts, "; ")
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name string
		n, d int
		mut  func(f *fixture)
		want string
	}{
		{"default budget 1 acts on oldest drift", 10, 3, nil,
			"act i-web-1-00; skip i-web-1-01 max_in_flight; skip i-web-1-02 max_in_flight"},
		{"budget count 2 with max_in_flight 3", 10, 3, func(f *fixture) { f.group().Budget = "2"; f.group().MaxInFlight = 3 },
			"act i-web-1-00; act i-web-1-01; skip i-web-1-02 budget_exhausted"},
		{"budget 0 disables", 10, 1, func(f *fixture) { f.group().Budget = "0" },
			"skip i-web-1-00 budget_exhausted"},
		{"in-flight counted against budget", 10, 2, func(f *fixture) {
			f.group().Budget, f.group().MaxInFlight = "2", 3
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-gone", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
		}, "act i-web-1-00; skip i-web-1-01 budget_exhausted"},
		{"in-flight blocks at max_in_flight 1", 10, 1, func(f *fixture) {
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-gone", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
		}, "skip i-web-1-00 max_in_flight"},
		{"instance already in flight", 10, 1, func(f *fixture) {
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-web-1-00", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
		}, "skip i-web-1-00 already_in_flight"},
		{"action tag within timeout counts as in flight", 10, 1, func(f *fixture) {
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagAction: "set_instance_health@2026-06-10T11:50:00Z"}
		}, "skip i-web-1-00 already_in_flight"},
		{"old action tag is ignored", 10, 1, func(f *fixture) {
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagAction: "set_instance_health@2026-06-10T10:00:00Z"}
		}, "act i-web-1-00"},
		{"percent 10% of 19 rounds down to 1", 19, 3, func(f *fixture) { f.group().Budget = "10%"; f.group().MaxInFlight = 5 },
			"act i-web-1-00; skip i-web-1-01 budget_exhausted; skip i-web-1-02 budget_exhausted"},
		{"percent 10% of 20 is 2", 20, 3, func(f *fixture) { f.group().Budget = "10%"; f.group().MaxInFlight = 5 },
			"act i-web-1-00; act i-web-1-01; skip i-web-1-02 budget_exhausted"},
		{"percent 10% of 5 allows at least 1", 5, 2, func(f *fixture) {
			f.group().Budget, f.group().MaxInFlight = "10%", 5
			f.in.Config.Global.FleetBreakerPercent = ptr(100.0)
		},
			"act i-web-1-00; skip i-web-1-01 budget_exhausted"},
		{"percent 0% allows none", 10, 1, func(f *fixture) { f.group().Budget = "0%" },
			"skip i-web-1-00 budget_exhausted"},
		{"debounce", 10, 1, func(f *fixture) { f.inst("i-web-1-00").ConsecutiveScans = 2 },
			"skip i-web-1-00 debounce"},
		{"debounce configurable", 10, 1, func(f *fixture) { f.inst("i-web-1-00").ConsecutiveScans = 1; f.in.Config.DebounceScans = 1 },
			"act i-web-1-00"},
		{"below min severity", 10, 1, func(f *fixture) { f.inst("i-web-1-00").Severity = drift.SeverityLow },
			"skip i-web-1-00 below_min_severity"},
		{"critical reaches high", 10, 1, func(f *fixture) { f.inst("i-web-1-00").Severity = drift.SeverityCritical },
			"act i-web-1-00"},
		{"unknown stale no_baseline exempt are never candidates", 10, 0, func(f *fixture) {
			for i, v := range []drift.Verdict{drift.VerdictUnknown, drift.VerdictStale, drift.VerdictNoBaseline, drift.VerdictExempt} {
				s := f.inst(fmt.Sprintf("i-web-1-%02d", i))
				s.Verdict, s.Severity, s.ConsecutiveScans = v, drift.SeverityCritical, 10
			}
		}, ""},
		{"protect true", 10, 1, func(f *fixture) { f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "true"} },
			"skip i-web-1-00 protected"},
		{"protect until future", 10, 1, func(f *fixture) {
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "2026-06-10T13:00:00Z"}
		}, "skip i-web-1-00 protected"},
		{"protect expired", 10, 1, func(f *fixture) {
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "2026-06-10T11:00:00Z"}
		}, "act i-web-1-00"},
		{"protect garbage fails closed", 10, 1, func(f *fixture) {
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "tomorrow"}
		}, "skip i-web-1-00 protected"},
		{"next candidate when first protected", 10, 2, func(f *fixture) { f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "true"} },
			"act i-web-1-01; skip i-web-1-00 protected"},
		{"standby", 10, 1, func(f *fixture) { f.member("web-1", "i-web-1-00").LifecycleState = "Standby" },
			"skip i-web-1-00 not_in_service"},
		{"unhealthy member", 10, 1, func(f *fixture) { f.member("web-1", "i-web-1-00").HealthStatus = "UNHEALTHY" },
			"skip i-web-1-00 not_in_service"},
		{"not a member", 10, 1, func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Instances = g.Instances[1:]; g.Desired = 9 })
		}, "skip i-web-1-00 not_in_service"},
		{"instance refresh active", 10, 1, func(f *fixture) { f.setFacts("web-1", func(g *GroupFacts) { g.RefreshActive = true }) },
			"skip i-web-1-00 instance_refresh_active"},
		{"suspended ReplaceUnhealthy", 10, 1, func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.SuspendedProcesses = []string{"ReplaceUnhealthy"} })
		}, "skip i-web-1-00 processes_suspended"},
		{"suspended AZRebalance is harmless", 10, 1, func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.SuspendedProcesses = []string{"AZRebalance", "AlarmNotification"} })
		}, "act i-web-1-00"},
		{"group below desired", 10, 1, func(f *fixture) { f.member("web-1", "i-web-1-05").LifecycleState = "Pending" },
			"skip i-web-1-00 group_unhealthy"},
		{"own in-flight replacement does not make the group unhealthy", 10, 2, func(f *fixture) {
			f.group().Budget, f.group().MaxInFlight = "2", 2
			f.member("web-1", "i-web-1-05").LifecycleState = "Terminating"
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-web-1-05", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
		}, "act i-web-1-00; skip i-web-1-01 max_in_flight"},
		{"a second missing instance does", 10, 2, func(f *fixture) {
			f.group().Budget, f.group().MaxInFlight = "3", 3
			f.member("web-1", "i-web-1-05").LifecycleState = "Terminating"
			f.member("web-1", "i-web-1-06").LifecycleState = "Pending"
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-web-1-05", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
		}, "skip i-web-1-00 group_unhealthy; skip i-web-1-01 group_unhealthy"},
		{"group facts missing", 10, 1, func(f *fixture) { delete(f.in.Groups, "web-1") },
			"skip i-web-1-00 group_unknown"},
		{"not in asg", 10, 0, func(f *fixture) {
			f.in.Instances = append(f.in.Instances, InstanceState{ID: "i-solo", Verdict: drift.VerdictDrifted, Severity: drift.SeverityCritical, ConsecutiveScans: 9})
		}, "skip i-solo not_in_asg"},
		{"mode off by default", 10, 1, func(f *fixture) { f.in.Config.Groups = nil },
			"skip i-web-1-00 mode_off"},
		{"mode flag", 10, 1, func(f *fixture) { f.group().Mode = "flag" },
			"skip i-web-1-00 mode_flag"},
		{"first matching entry wins", 10, 1, func(f *fixture) {
			f.in.Config.Groups = []config.RemediationGroup{{Match: "web-1", Mode: "off"}, {Match: "web-*", Mode: "replace"}}
		}, "skip i-web-1-00 mode_off"},
		{"tag raises mode when allowed", 10, 1, func(f *fixture) {
			f.group().Mode = "flag"
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "replace"} })
		}, "act i-web-1-00"},
		{"tag may not raise mode when override disabled", 10, 1, func(f *fixture) {
			f.group().Mode = "flag"
			f.in.Config.AllowTagOverride = ptr(false)
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "replace"} })
		}, "skip i-web-1-00 mode_flag"},
		{"tag always lowers", 10, 1, func(f *fixture) {
			f.in.Config.AllowTagOverride = ptr(false)
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "off"} })
		}, "skip i-web-1-00 mode_off"},
		{"invalid tag turns group off", 10, 1, func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "yes please"} })
		}, "skip i-web-1-00 mode_off"},
		{"tag raises default-mode group", 10, 1, func(f *fixture) {
			f.in.Config.Groups = nil
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "replace"} })
		}, "act i-web-1-00"},
		{"approve without approval", 10, 1, func(f *fixture) { f.group().Mode = "approve" },
			"skip i-web-1-00 awaiting_approval"},
		{"approve with approval", 10, 2, func(f *fixture) {
			f.group().Mode = "approve"
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-01", Created: t0.Add(-time.Hour), Expires: t0.Add(time.Hour)}}
		}, "act i-web-1-01; skip i-web-1-00 awaiting_approval"},
		{"approve with expired approval", 10, 1, func(f *fixture) {
			f.group().Mode = "approve"
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-00", Created: t0.Add(-25 * time.Hour), Expires: t0}}
		}, "skip i-web-1-00 awaiting_approval"},
		{"approval does not bypass protection", 10, 1, func(f *fixture) {
			f.group().Mode = "approve"
			f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: "true"}
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-00", Expires: t0.Add(time.Hour)}}
		}, "skip i-web-1-00 protected"},
		{"kill switch", 10, 2, func(f *fixture) { f.in.KillSwitch = KillSwitch{Engaged: true, Source: "file"} },
			"skip i-web-1-00 kill_switch; skip i-web-1-01 kill_switch"},
		{"group breaker opens above drift share", 10, 6, func(f *fixture) { f.in.Config.Global.FleetBreakerPercent = ptr(100.0) },
			"skip i-web-1-00 group_breaker_open; skip i-web-1-01 group_breaker_open; skip i-web-1-02 group_breaker_open; skip i-web-1-03 group_breaker_open; skip i-web-1-04 group_breaker_open; skip i-web-1-05 group_breaker_open"},
		{"group breaker at exactly drift share stays closed", 10, 5, func(f *fixture) { f.in.Config.Global.FleetBreakerPercent = ptr(60.0) },
			"act i-web-1-00; skip i-web-1-01 max_in_flight; skip i-web-1-02 max_in_flight; skip i-web-1-03 max_in_flight; skip i-web-1-04 max_in_flight"},
		{"group breaker reset by operator", 4, 4, func(f *fixture) {
			f.in.Config.Global.FleetBreakerPercent = ptr(100.0)
			f.in.State.Groups = map[string]GroupHistory{"web-1": {Override: true}}
		}, "act i-web-1-00; skip i-web-1-01 max_in_flight; skip i-web-1-02 max_in_flight; skip i-web-1-03 max_in_flight"},
		{"fleet breaker", 10, 2, func(f *fixture) {
			f.addGroup("api-1", 5, 4)
			f.in.Config.Groups = append(f.in.Config.Groups, config.RemediationGroup{Match: "api-*", Mode: "replace", Breaker: config.RemediationBreaker{DriftPercent: ptr(100.0)}})
		}, "skip i-api-1-00 fleet_breaker_open; skip i-web-1-00 fleet_breaker_open; skip i-api-1-01 fleet_breaker_open; skip i-web-1-01 fleet_breaker_open; skip i-api-1-02 fleet_breaker_open; skip i-api-1-03 fleet_breaker_open"},
		{"fleet breaker reset", 10, 2, func(f *fixture) {
			f.addGroup("api-1", 5, 4)
			f.in.Config.Groups = append(f.in.Config.Groups, config.RemediationGroup{Match: "api-*", Mode: "replace", Breaker: config.RemediationBreaker{DriftPercent: ptr(100.0)}})
			f.in.State.FleetOverride = true
		}, "act i-api-1-00; act i-web-1-00; skip i-api-1-01 max_in_flight; skip i-web-1-01 max_in_flight; skip i-api-1-02 max_in_flight; skip i-api-1-03 max_in_flight"},
		{"K failures open the breaker", 10, 1, func(f *fixture) {
			f.in.State.Groups = map[string]GroupHistory{"web-1": {ConsecutiveFailures: 3, LastFailure: t0.Add(-48 * time.Hour)}}
		}, "skip i-web-1-00 failure_breaker_open"},
		{"one failure backs off", 10, 1, func(f *fixture) {
			f.in.State.Groups = map[string]GroupHistory{"web-1": {ConsecutiveFailures: 1, LastFailure: t0.Add(-9 * time.Minute)}}
		}, "skip i-web-1-00 failure_backoff"},
		{"one failure after backoff", 10, 1, func(f *fixture) {
			f.in.State.Groups = map[string]GroupHistory{"web-1": {ConsecutiveFailures: 1, LastFailure: t0.Add(-10 * time.Minute)}}
		}, "act i-web-1-00"},
		{"two failures double the backoff", 10, 1, func(f *fixture) {
			f.in.State.Groups = map[string]GroupHistory{"web-1": {ConsecutiveFailures: 2, LastFailure: t0.Add(-19 * time.Minute)}}
		}, "skip i-web-1-00 failure_backoff"},
		{"backoff capped", 10, 1, func(f *fixture) {
			f.group().Breaker = config.RemediationBreaker{MaxFailures: 10, Backoff: 10 * time.Minute, BackoffMax: 30 * time.Minute}
			f.in.State.Groups = map[string]GroupHistory{"web-1": {ConsecutiveFailures: 6, LastFailure: t0.Add(-30 * time.Minute)}}
		}, "act i-web-1-00"},
		{"hourly cap", 10, 1, func(f *fixture) {
			f.in.Config.Global.MaxPerHour = ptr(2)
			f.in.State.RecentActions = []time.Time{t0.Add(-59 * time.Minute), t0.Add(-time.Minute)}
		}, "skip i-web-1-00 hourly_cap"},
		{"hourly cap rolls", 10, 1, func(f *fixture) {
			f.in.Config.Global.MaxPerHour = ptr(2)
			f.in.State.RecentActions = []time.Time{t0.Add(-61 * time.Minute), t0.Add(-time.Minute)}
		}, "act i-web-1-00"},
		{"hourly cap across groups", 10, 1, func(f *fixture) {
			f.addGroup("web-2", 10, 1)
			f.in.Config.Global.MaxPerHour = ptr(1)
		}, "act i-web-1-00; skip i-web-2-00 hourly_cap"},
		{"misconfigured cron fails closed", 10, 1, func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 25 * * *", Duration: time.Hour}}
		}, "skip i-web-1-00 misconfigured"},
		{"unknown zone fails closed", 10, 1, func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "@daily", Duration: time.Hour, TimeZone: "Europe/Atlantis"}}
		}, "skip i-web-1-00 misconfigured"},
		{"bad budget fails closed", 10, 1, func(f *fixture) { f.group().Budget = "lots" },
			"skip i-web-1-00 misconfigured"},
		{"bad global key fails closed everywhere", 10, 1, func(f *fixture) { f.in.Config.MinSeverity = "urgent" },
			"skip i-web-1-00 misconfigured"},
		{"window closed", 10, 1, func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 2 * * *", Duration: 3 * time.Hour, TimeZone: "Europe/Berlin"}}
		}, "skip i-web-1-00 outside_window"},
		{"window open", 10, 1, func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 2 * * *", Duration: 3 * time.Hour, TimeZone: "Europe/Berlin"}}
			f.in.Now = time.Date(2026, 6, 10, 4, 59, 0, 0, mustLoc("Europe/Berlin"))
		}, "act i-web-1-00"},
		{"instance refresh when all drift is AMI drift", 10, 10, func(f *fixture) {
			for i := range f.in.Instances {
				f.in.Instances[i].AMIOnly = true
			}
		}, "refresh web-1 [i-web-1-00 i-web-1-01 i-web-1-02 i-web-1-03 i-web-1-04 i-web-1-05 i-web-1-06 i-web-1-07 i-web-1-08 i-web-1-09]"},
		{"mixed drift replaces one by one", 10, 2, func(f *fixture) { f.inst("i-web-1-00").AMIOnly = true },
			"act i-web-1-00; skip i-web-1-01 max_in_flight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(tc.n, tc.d)
			if tc.mut != nil {
				tc.mut(f)
			}
			p := Plan(f.in)
			checkInvariants(t, f.in, p)
			if got := summary(p); got != tc.want {
				t.Errorf("plan:\n got  %s\n want %s", got, tc.want)
			}
			if q := Plan(f.in); summary(q) != summary(p) {
				t.Errorf("plan is not deterministic")
			}
		})
	}
}

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestPlanActionDetails(t *testing.T) {
	f := newFixture(10, 10)
	for i := range f.in.Instances {
		f.in.Instances[i].AMIOnly = true
	}
	f.group().Budget = "20%"
	f.in.Config.Action = "terminate"
	p := Plan(f.in)
	if len(p.Actions) != 1 || p.Actions[0].MinHealthyPercentage != 80 || p.Actions[0].Kind != ActionInstanceRefresh {
		t.Fatalf("refresh action wrong: %+v", p.Actions)
	}
	f = newFixture(10, 1)
	f.in.Config.Action = "terminate"
	p = Plan(f.in)
	if len(p.Actions) != 1 || p.Actions[0].Kind != ActionTerminate || p.Actions[0].Reason != "package openssl changed" || p.Actions[0].Severity != drift.SeverityHigh {
		t.Fatalf("terminate action wrong: %+v", p.Actions)
	}
	gs := p.Groups[0]
	if gs.Name != "web-1" || gs.Mode != "replace" || gs.ModeSource != "config" || gs.Allowed != 1 || gs.Remaining != 0 || !gs.WindowOpen || gs.Drifted != 1 || gs.Known != 10 {
		t.Errorf("group status wrong: %+v", gs)
	}
	if p.HourlyRemaining != 9 {
		t.Errorf("hourly remaining %d, want 9", p.HourlyRemaining)
	}
}

func TestPlanBreakerStatus(t *testing.T) {
	f := newFixture(10, 6)
	p := Plan(f.in)
	if !p.Groups[0].Breaker.Open || p.Groups[0].Breaker.Kind != "drift_share" {
		t.Errorf("group breaker not reported open: %+v", p.Groups[0].Breaker)
	}
	if !p.Fleet.Open {
		t.Errorf("fleet breaker (60%% > 30%%) not open: %+v", p.Fleet)
	}
	// Condition clears: 2 of 10 drifted.
	f = newFixture(10, 2)
	p = Plan(f.in)
	if p.Groups[0].Breaker.Open || p.Fleet.Open {
		t.Errorf("breakers should be closed: %+v %+v", p.Groups[0].Breaker, p.Fleet)
	}
	// AMI-only drift never trips the breaker.
	f = newFixture(10, 10)
	for i := range f.in.Instances {
		f.in.Instances[i].AMIOnly = true
	}
	if p = Plan(f.in); p.Groups[0].Breaker.Open || p.Fleet.Open {
		t.Errorf("AMI rollout tripped a breaker")
	}
}

func TestPlanTags(t *testing.T) {
	f := newFixture(4, 2)
	f.group().Mode = "flag"
	f.inst("i-web-1-01").Tags = map[string]string{drift.TagStatus: "drifted", drift.TagSince: "x", drift.TagReason: "y"} // unchanged: no call
	f.inst("i-web-1-02").Tags = map[string]string{drift.TagStatus: "drifted", drift.TagReason: "old"}                    // returned in sync
	f.inst("i-web-1-03").Tags = map[string]string{}                                                                      // in sync, never flagged: no call
	p := Plan(f.in)
	sort.Slice(p.Tags, func(i, j int) bool { return p.Tags[i].InstanceID < p.Tags[j].InstanceID })
	if len(p.Tags) != 2 {
		t.Fatalf("want 2 tag changes, got %+v", p.Tags)
	}
	a, b := p.Tags[0], p.Tags[1]
	if a.InstanceID != "i-web-1-00" || a.Set[drift.TagStatus] != "drifted" || a.Set[drift.TagSince] != "2026-06-09T12:00:00Z" || a.Set[drift.TagReason] != "package openssl changed" || len(a.Delete) != 0 {
		t.Errorf("drift tag wrong: %+v", a)
	}
	if b.InstanceID != "i-web-1-02" || b.Set[drift.TagStatus] != "in_sync" || len(b.Delete) != 1 || b.Delete[0] != drift.TagReason {
		t.Errorf("in-sync tag wrong: %+v", b)
	}
	// Not yet debounced: no tag.
	f.inst("i-web-1-00").ConsecutiveScans = 1
	if p = Plan(f.in); len(p.Tags) != 1 {
		t.Errorf("undebounced drift tagged: %+v", p.Tags)
	}
	// Tagging disabled, mode off, kill switch: no tags at all.
	for _, mut := range []func(*fixture){
		func(f *fixture) { f.in.Config.Tagging.Enabled = ptr(false) },
		func(f *fixture) { f.group().Mode = "off" },
		func(f *fixture) { f.in.KillSwitch.Engaged = true },
	} {
		g := newFixture(4, 2)
		g.group().Mode = "flag"
		mut(g)
		if p := Plan(g.in); len(p.Tags) != 0 {
			t.Errorf("tags written: %+v", p.Tags)
		}
	}
}

func TestPlanDoesNotMutateConfig(t *testing.T) {
	f := newFixture(3, 1)
	_ = Plan(f.in)
	if f.group().Budget != "" || f.in.Config.ModeDefault != "" {
		t.Errorf("Plan mutated its input config: %+v", f.in.Config)
	}
}

// BenchmarkPlan: 50 groups of 20 instances (1000), 10% drifted, budgets, windows.
func BenchmarkPlan(b *testing.B) {
	f := &fixture{in: PlanInput{Now: t0, Groups: map[string]GroupFacts{},
		Config: config.Remediation{Groups: []config.RemediationGroup{{Match: "web-*", Mode: "replace", Budget: "10%",
			Windows: []config.RemediationWindow{{Schedule: "0 * * * *", Duration: 30 * time.Minute, TimeZone: "Europe/Berlin"}}}}}}}
	for g := 0; g < 50; g++ {
		f.addGroup(fmt.Sprintf("web-%02d", g), 20, 2)
	}
	b.ReportAllocs()
	for b.Loop() {
		p := Plan(f.in)
		if len(p.Groups) != 50 {
			b.Fatal("bad plan")
		}
	}
}
