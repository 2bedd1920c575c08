package remediation

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// gateCtxFor builds, as Plan does, the context in which the gates judge
// instance id of the fixture.
func gateCtxFor(t *testing.T, f *fixture, id string) *gateCtx {
	t.Helper()
	in := f.in
	pol := compile(in.Config)
	insts := byDriftAge(in.Instances)
	fleet := fleetBreaker(insts, pol.fleetPct, in.State.FleetOverride)
	groupFail, _ := indexReadFailures(in.ReadFailures)
	pc := newPlanCtx(in, pol, fleet.Open)
	_, tallies := groupInstances(insts, in.Groups, groupFail)
	c := &gateCtx{planCtx: pc}
	for i := range insts {
		if insts[i].ID == id {
			c.s = &insts[i]
		}
	}
	if c.s == nil {
		t.Fatalf("no instance %s", id)
	}
	if c.s.ASG != "" {
		c.g = newGroupEval(pc, c.s.ASG, groupFail[c.s.ASG], tallies[c.s.ASG])
		c.g.evalGates(&gateCtx{planCtx: pc, g: c.g})
	}
	return c
}

type gateCase struct {
	name   string
	id     string           // the instance judged; "" is i-web-1-00
	setup  func(f *fixture) // before the context is built
	mut    func(c *gateCtx) // after
	want   SkipReason       // "" when the gate lets the instance through
	detail string           // expected in the detail of a block
}

func approveMode(f *fixture) { f.group().Mode = "approve" }

func failing(call, code string) func(f *fixture) {
	return func(f *fixture) {
		f.in.ReadFailures = append(f.in.ReadFailures, ReadFailure{Group: "web-1", Call: call, Code: code, Error: "boom"})
	}
}

func history(h GroupHistory) func(f *fixture) {
	return func(f *fixture) { f.in.State.Groups = map[string]GroupHistory{"web-1": h} }
}

func inFlightOther(f *fixture) {
	f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-web-1-03", Kind: ActionSetInstanceHealth, Started: t0.Add(-time.Minute)}}
}

func actionTag(v string) func(f *fixture) {
	return func(f *fixture) { f.inst("i-web-1-00").Tags = map[string]string{drift.TagAction: v} }
}

func instTags(tags map[string]string) func(f *fixture) {
	return func(f *fixture) { f.inst("i-web-1-00").Tags = tags }
}

func protectTag(v string) func(f *fixture) {
	return func(f *fixture) { f.inst("i-web-1-00").Tags = map[string]string{drift.TagProtect: v} }
}

// gateCases: per gate (by name), cases where it lets the instance through
// and cases where it blocks. The fixture is newFixture(4, 1): a replace
// group web-1 of 4 healthy InService members, i-web-1-00 drifted (high, 3
// scans), budget 1, max_in_flight 1, no windows.
var gateCases = map[string][]gateCase{
	"not_in_asg": {
		{name: "in a group"},
		{name: "outside any group", id: "i-solo", setup: func(f *fixture) {
			f.in.Instances = append(f.in.Instances, InstanceState{ID: "i-solo", Verdict: drift.VerdictDrifted, Severity: drift.SeverityCritical, ConsecutiveScans: 9})
		}, want: SkipNotInGroup, detail: "can only be flagged"},
	},
	"group_unreadable": {
		{name: "read"},
		{name: "refreshes unread: mode known", setup: failing(CallDescribeRefreshes, "AccessDenied")},
		{name: "description unread but no tag could raise off", setup: func(f *fixture) {
			f.group().Mode = "off"
			f.in.Config.AllowTagOverride = ptr(false)
			failing(CallDescribeGroups, "AccessDenied")(f)
		}},
		{name: "description unread", setup: failing(CallDescribeGroups, "AccessDenied"), want: SkipGroupStateUnknown,
			detail: "DescribeAutoScalingGroups failed with AccessDenied; group state unknown this cycle: boom (its driftd:remediation tag, and so its mode, are unknown"},
		{name: "description unread in off mode a tag could raise", setup: func(f *fixture) {
			f.group().Mode = "off"
			failing(CallDescribeGroups, "")(f)
		}, want: SkipGroupStateUnknown, detail: "DescribeAutoScalingGroups failed; group state unknown"},
	},
	"mode_off": {
		{name: "replace"},
		{name: "flag", setup: func(f *fixture) { f.group().Mode = "flag" }},
		{name: "default off", setup: func(f *fixture) { f.in.Config.Groups = nil }, want: SkipModeOff, detail: "report only"},
		{name: "invalid tag turns off", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "yes"} })
		}, want: SkipModeOff},
	},
	"mode_flag": {
		{name: "replace"},
		{name: "approve", setup: approveMode},
		{name: "flag", setup: func(f *fixture) { f.group().Mode = "flag" }, want: SkipModeFlag, detail: "tagged, never replaced"},
		{name: "tag lowers to flag", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "flag"} })
		}, want: SkipModeFlag},
	},
	"global_misconfigured": {
		{name: "valid"},
		{name: "group error is not global", setup: func(f *fixture) { f.group().Budget = "lots" }},
		{name: "bad min_severity", setup: func(f *fixture) { f.in.Config.MinSeverity = "urgent" }, want: SkipMisconfigured, detail: "min_severity"},
	},
	"managed_by_other_controller": {
		{name: "no controller tag"},
		{name: "other tags", setup: instTags(map[string]string{"Name": "web", "k8s.io/cluster-autoscaler/enabled": "true", "karpenter.k8s.aws/ec2nodeclass": "x"})},
		{name: "karpenter node", setup: instTags(map[string]string{"karpenter.sh/nodepool": "default"}), want: SkipForeignController,
			detail: `instance tag karpenter.sh/nodepool="default": managed by karpenter, which replaces its own instances`},
		{name: "karpenter v1alpha5 node", setup: instTags(map[string]string{"karpenter.sh/provisioner-name": "default"}), want: SkipForeignController,
			detail: "managed by karpenter"},
		{name: "karpenter allowed fleet-wide", setup: func(f *fixture) {
			instTags(map[string]string{"karpenter.sh/nodepool": "default"})(f)
			f.in.Config.ForeignControllers.Allow = []string{"karpenter"}
		}},
		{name: "eks node group tag on the instance", setup: instTags(map[string]string{"eks:nodegroup-name": "ng-1"}), want: SkipForeignController,
			detail: `instance tag eks:nodegroup-name="ng-1": managed by eks`},
		{name: "eks node group tag on the group", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) {
				g.Tags = map[string]string{"eks:nodegroup-name": "ng-1", "eks:cluster-name": "prod"}
			})
		}, want: SkipForeignController, detail: `group tag eks:nodegroup-name="ng-1"`},
		{name: "tag only AWS can write", setup: instTags(map[string]string{"aws:eks:cluster-name": "prod"}), want: SkipForeignController, detail: "managed by eks"},
		{name: "eks allowed in the group's entry", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{"eks:nodegroup-name": "ng-1"} })
			f.group().ForeignControllers.Allow = []string{"eks"}
		}},
		{name: "another controller allowed", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{"eks:nodegroup-name": "ng-1"} })
			f.in.Config.ForeignControllers.Allow = []string{"karpenter"}
			f.group().ForeignControllers.Allow = []string{"karpenter"}
		}, want: SkipForeignController, detail: "allow with remediation.foreign_controllers.allow: [eks]"},
		{name: "the group's allowance is its own", setup: func(f *fixture) {
			f.addGroup("api-1", 2, 1)
			f.setFacts("api-1", func(g *GroupFacts) { g.Tags = map[string]string{"eks:nodegroup-name": "ng-api"} })
			f.in.Config.Groups = append(f.in.Config.Groups, config.RemediationGroup{Match: "api-*", Mode: "replace"})
			f.group().ForeignControllers.Allow = []string{"eks"}
		}, id: "i-api-1-00", want: SkipForeignController, detail: "ng-api"},
		{name: "tags not read this cycle", setup: func(f *fixture) { f.inst("i-web-1-00").Tags = nil }},
	},
	"debounce": {
		{name: "3 of 3 scans"},
		{name: "1 of 1 scan", setup: func(f *fixture) { f.in.Config.DebounceScans = 1; f.inst("i-web-1-00").ConsecutiveScans = 1 }},
		{name: "2 of 3 scans", setup: func(f *fixture) { f.inst("i-web-1-00").ConsecutiveScans = 2 }, want: SkipDebounce,
			detail: "drifted for 2 of 3 required consecutive scans"},
	},
	"below_min_severity": {
		{name: "high reaches high"},
		{name: "critical reaches high", setup: func(f *fixture) { f.inst("i-web-1-00").Severity = drift.SeverityCritical }},
		{name: "low with min_severity low", setup: func(f *fixture) {
			f.in.Config.MinSeverity = "low"
			f.inst("i-web-1-00").Severity = drift.SeverityLow
		}},
		{name: "low", setup: func(f *fixture) { f.inst("i-web-1-00").Severity = drift.SeverityLow }, want: SkipSeverity,
			detail: "severity low is below min_severity high"},
	},
	"in_flight": {
		{name: "nothing in flight"},
		{name: "another instance in flight", setup: inFlightOther},
		{name: "remembered", setup: func(f *fixture) {
			f.in.State.InFlight = []InFlight{{Group: "web-1", InstanceID: "i-web-1-00", Kind: ActionTerminate, Started: t0.Add(-time.Minute)}}
		}, want: SkipInFlight, detail: "terminate started 2026-06-10T11:59:00Z"},
	},
	"action_tag": {
		{name: "no tag"},
		{name: "unparsable", setup: actionTag("set_instance_health")},
		{name: "as old as replacement_timeout", setup: actionTag("set_instance_health@2026-06-10T11:40:00Z")},
		{name: "more than a minute ahead", setup: actionTag("set_instance_health@2026-06-10T12:01:01Z")},
		{name: "younger than replacement_timeout", setup: actionTag("set_instance_health@2026-06-10T11:40:01Z"), want: SkipInFlight,
			detail: "instance tag driftd:action records set_instance_health at 2026-06-10T11:40:01Z"},
		{name: "a minute ahead", setup: actionTag("terminate@2026-06-10T12:01:00Z"), want: SkipInFlight, detail: "records terminate"},
	},
	"kill_switch": {
		{name: "released"},
		{name: "engaged", setup: func(f *fixture) { f.in.KillSwitch = KillSwitch{Engaged: true, Source: "ssm", Detail: "value on"} },
			want: SkipKillSwitch, detail: "kill switch engaged (ssm): value on"},
	},
	"protected": {
		{name: "no tag"},
		{name: "false", setup: protectTag("false")},
		{name: "expired", setup: protectTag("2026-06-10T12:00:00Z")},
		{name: "true", setup: protectTag(" TRUE "), want: SkipProtected, detail: "driftd:protect=true"},
		{name: "until later", setup: protectTag("2026-06-10T12:00:01Z"), want: SkipProtected, detail: "driftd:protect until 2026-06-10T12:00:01Z"},
		{name: "garbage fails closed", setup: protectTag("tomorrow"), want: SkipProtected, detail: "treated as protected"},
	},
	"not_in_service": {
		{name: "InService and Healthy"},
		{name: "health unknown", setup: func(f *fixture) { f.member("web-1", "i-web-1-00").HealthStatus = "" }},
		{name: "HEALTHY", setup: func(f *fixture) { f.member("web-1", "i-web-1-00").HealthStatus = "HEALTHY" }},
		{name: "no facts: membership unknown", setup: func(f *fixture) { delete(f.in.Groups, "web-1") }},
		{name: "Standby", setup: func(f *fixture) { f.member("web-1", "i-web-1-00").LifecycleState = "Standby" },
			want: SkipNotInService, detail: "lifecycle state Standby"},
		{name: "Unhealthy", setup: func(f *fixture) { f.member("web-1", "i-web-1-00").HealthStatus = "Unhealthy" },
			want: SkipNotInService, detail: "health status Unhealthy"},
		{name: "not a member", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.Instances = g.Instances[1:] })
		}, want: SkipNotInService, detail: "not a member of the group"},
	},
	"group_gates": {
		{name: "group not blocked"},
		{name: "flag group's refresh does not matter", setup: func(f *fixture) {
			f.group().Mode = "flag"
			f.setFacts("web-1", func(g *GroupFacts) { g.RefreshActive = true })
		}},
		{name: "group blocked", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.SuspendedProcesses = []string{"Terminate"} })
		}, want: SkipSuspended, detail: "suspended processes: Terminate"},
		{name: "first group gate wins", setup: func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 2 * * *", Duration: time.Hour}}
			f.setFacts("web-1", func(g *GroupFacts) { g.RefreshActive = true })
		}, want: SkipRefreshActive},
	},
	"awaiting_approval": {
		{name: "replace mode"},
		{name: "approved", setup: func(f *fixture) {
			approveMode(f)
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-00", Expires: t0.Add(time.Second)}}
		}},
		{name: "the later of two approvals counts", setup: func(f *fixture) {
			approveMode(f)
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-00", Expires: t0.Add(time.Hour)}, {InstanceID: "i-web-1-00", Expires: t0}}
		}},
		{name: "no approval", setup: approveMode, want: SkipAwaitingApproval, detail: "run `driftd approve i-web-1-00`"},
		{name: "another instance's approval", setup: func(f *fixture) {
			approveMode(f)
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-01", Expires: t0.Add(time.Hour)}}
		}, want: SkipAwaitingApproval},
		{name: "expired now", setup: func(f *fixture) {
			approveMode(f)
			f.in.State.Approvals = []Approval{{InstanceID: "i-web-1-00", Expires: t0}}
		}, want: SkipAwaitingApproval, detail: "approval expired at 2026-06-10T12:00:00Z"},
	},
	"group_misconfigured": {
		{name: "valid"},
		{name: "bad budget", setup: func(f *fixture) { f.group().Budget = "lots" }, want: SkipMisconfigured, detail: "remediation.groups[0].budget"},
		{name: "bad window zone", setup: func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "@daily", Duration: time.Hour, TimeZone: "Mars/Base"}}
		}, want: SkipMisconfigured, detail: "remediation.groups[0].windows[0].timezone"},
	},
	"group_read_failed": {
		{name: "all read"},
		{name: "another group's read failed", setup: func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{{Group: "web-2", Call: CallDescribeRefreshes, Error: "boom"}}
		}},
		{name: "refreshes unread", setup: failing(CallDescribeRefreshes, "Throttling"), want: SkipGroupStateUnknown,
			detail: "DescribeInstanceRefreshes failed with Throttling; group state unknown this cycle: boom"},
		{name: "instances unread, no code", setup: failing(CallDescribeInstances, ""), want: SkipGroupStateUnknown,
			detail: "DescribeInstances failed; group state unknown this cycle: boom"},
	},
	"group_unknown": {
		{name: "facts known"},
		{name: "no facts", setup: func(f *fixture) { delete(f.in.Groups, "web-1") }, want: SkipGroupUnknown, detail: "did not return it"},
	},
	"fleet_breaker": {
		{name: "1 of 9 drifted"},
		{name: "5 of 9 drifted, reset", setup: func(f *fixture) { f.addGroup("api-1", 5, 4); f.in.State.FleetOverride = true }},
		{name: "AMI-only drift does not count", setup: func(f *fixture) {
			f.addGroup("api-1", 5, 4)
			for _, id := range []string{"i-api-1-00", "i-api-1-01", "i-api-1-02", "i-api-1-03"} {
				f.inst(id).AMIOnly = true
			}
		}},
		{name: "5 of 9 drifted", setup: func(f *fixture) { f.addGroup("api-1", 5, 4) }, want: SkipFleetBreaker, detail: "fleet breaker open"},
	},
	"group_breaker": {
		{name: "1 of 4 drifted"},
		{name: "2 of 4 is not more than 50%", setup: func(f *fixture) { f.inst("i-web-1-01").Verdict = drift.VerdictDrifted }},
		{name: "reset by an operator", setup: func(f *fixture) {
			f.inst("i-web-1-01").Verdict, f.inst("i-web-1-02").Verdict = drift.VerdictDrifted, drift.VerdictDrifted
			history(GroupHistory{Override: true})(f)
		}},
		{name: "failures breaker is not the drift-share breaker", setup: history(GroupHistory{ConsecutiveFailures: 3})},
		{name: "3 of 4 drifted", setup: func(f *fixture) {
			f.inst("i-web-1-01").Verdict, f.inst("i-web-1-02").Verdict = drift.VerdictDrifted, drift.VerdictDrifted
		}, want: SkipGroupBreaker, detail: "3 of 4 instances (75%) drifted, more than 50%: suspect the baseline"},
	},
	"failure_breaker": {
		{name: "no failures"},
		{name: "2 of 3 failures", setup: history(GroupHistory{ConsecutiveFailures: 2})},
		{name: "3 of 3 failures", setup: history(GroupHistory{ConsecutiveFailures: 3}), want: SkipFailureBreaker,
			detail: "3 consecutive failed replacements (max_failures 3); reset with `driftd approve --reset-breaker web-1`"},
	},
	"failure_backoff": {
		{name: "no failures"},
		{name: "one failure 10m ago", setup: history(GroupHistory{ConsecutiveFailures: 1, LastFailure: t0.Add(-10 * time.Minute)})},
		{name: "at max_failures the breaker decides", setup: history(GroupHistory{ConsecutiveFailures: 3, LastFailure: t0})},
		{name: "one failure 9m ago", setup: history(GroupHistory{ConsecutiveFailures: 1, LastFailure: t0.Add(-9 * time.Minute)}),
			want: SkipBackoff, detail: "1 failed replacement(s); next attempt after 2026-06-10T12:01:00Z"},
		{name: "two failures 19m ago", setup: history(GroupHistory{ConsecutiveFailures: 2, LastFailure: t0.Add(-19 * time.Minute)}),
			want: SkipBackoff, detail: "next attempt after 2026-06-10T12:01:00Z"},
	},
	"instance_refresh_active": {
		{name: "none"},
		{name: "active", setup: func(f *fixture) { f.setFacts("web-1", func(g *GroupFacts) { g.RefreshActive = true }) },
			want: SkipRefreshActive, detail: "an instance refresh is in progress"},
	},
	"processes_suspended": {
		{name: "none"},
		{name: "harmless", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.SuspendedProcesses = []string{"AZRebalance", "AlarmNotification"} })
		}},
		{name: "Launch and Terminate", setup: func(f *fixture) {
			f.setFacts("web-1", func(g *GroupFacts) { g.SuspendedProcesses = []string{"AZRebalance", "Launch", "Terminate"} })
		}, want: SkipSuspended, detail: "suspended processes: Launch, Terminate"},
	},
	"group_unhealthy": {
		{name: "4 of 4"},
		{name: "no facts: group_unknown decides", setup: func(f *fixture) { delete(f.in.Groups, "web-1") }},
		{name: "own replacement in flight is expected missing", setup: func(f *fixture) {
			inFlightOther(f)
			f.member("web-1", "i-web-1-03").LifecycleState = "Terminating"
		}},
		{name: "3 of 4", setup: func(f *fixture) { f.member("web-1", "i-web-1-02").LifecycleState = "Pending" },
			want: SkipGroupUnhealthy, detail: "3 healthy InService of desired 4 (0 replacements in flight)"},
		{name: "member in Standby", setup: func(f *fixture) { f.member("web-1", "i-web-1-02").LifecycleState = "Standby" },
			want: SkipGroupUnhealthy, detail: "3 healthy InService of desired 4"},
		{name: "unhealthy member", setup: func(f *fixture) { f.member("web-1", "i-web-1-02").HealthStatus = "Unhealthy" },
			want: SkipGroupUnhealthy},
		{name: "desired 0", setup: func(f *fixture) { f.setFacts("web-1", func(g *GroupFacts) { g.Desired = 0 }) },
			want: SkipGroupUnhealthy, detail: "of desired 0"},
	},
	"outside_window": {
		{name: "no windows"},
		{name: "window open", setup: func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 12 * * *", Duration: time.Minute}}
		}},
		{name: "window closed", setup: func(f *fixture) {
			f.group().Windows = []config.RemediationWindow{{Schedule: "0 2 * * *", Duration: 3 * time.Hour, TimeZone: "Europe/Berlin"}}
		}, want: SkipOutsideWindow, detail: "next window opens 2026-06-11T02:00:00+02:00"},
	},
	"max_in_flight": {
		{name: "0 of 1"},
		{name: "1 of 2", setup: func(f *fixture) { f.group().MaxInFlight = 2; inFlightOther(f) }},
		{name: "1 of 1 in flight", setup: inFlightOther, want: SkipMaxInFlight, detail: "1 of max_in_flight 1 replacements in progress"},
		{name: "1 of 1 planned", mut: func(c *gateCtx) { c.g.planned = 1 }, want: SkipMaxInFlight},
	},
	"budget_exhausted": {
		{name: "1 of 1"},
		{name: "10% of 4 allows 1", setup: func(f *fixture) { f.group().Budget = "10%" }},
		{name: "budget 0", setup: func(f *fixture) { f.group().Budget = "0" }, want: SkipBudget, detail: "budget 0 allows 0 of desired 4; 0 in flight"},
		{name: "planned and in flight count", setup: func(f *fixture) {
			f.group().Budget, f.group().MaxInFlight = "2", 3
			inFlightOther(f)
		}, mut: func(c *gateCtx) { c.g.planned = 1 }, want: SkipBudget, detail: "budget 2 allows 2 of desired 4; 2 in flight"},
	},
	"hourly_cap": {
		{name: "none this hour"},
		{name: "one 61m ago", setup: func(f *fixture) {
			f.in.Config.Global.MaxPerHour = ptr(1)
			f.in.State.RecentActions = []time.Time{t0.Add(-61 * time.Minute)}
		}},
		{name: "max_per_hour 0", setup: func(f *fixture) { f.in.Config.Global.MaxPerHour = ptr(0) }, want: SkipHourlyCap, detail: "global.max_per_hour 0 reached"},
		{name: "one 59m ago", setup: func(f *fixture) {
			f.in.Config.Global.MaxPerHour = ptr(1)
			f.in.State.RecentActions = []time.Time{t0.Add(-59 * time.Minute)}
		}, want: SkipHourlyCap},
		{name: "spent by this plan", mut: func(c *gateCtx) { c.hourly = 0 }, want: SkipHourlyCap},
	},
}

// allGates lists every gate once, with whether it is a group gate (judged
// without an instance).
func allGates() map[string]struct {
	gate
	group bool
} {
	out := map[string]struct {
		gate
		group bool
	}{}
	for _, g := range groupGates {
		out[g.name] = struct {
			gate
			group bool
		}{g, true}
	}
	for _, list := range [][]gate{candidateGates, capacityGates} {
		for _, g := range list {
			if _, ok := out[g.name]; !ok {
				out[g.name] = struct {
					gate
					group bool
				}{g, false}
			}
		}
	}
	return out
}

// TestGates runs each gate alone on its cases. Group gates are judged
// without an instance, as Plan judges them.
func TestGates(t *testing.T) {
	gates := allGates()
	for name := range gateCases {
		if _, ok := gates[name]; !ok {
			t.Errorf("cases for %q, which is no gate", name)
		}
	}
	for name, g := range gates {
		t.Run(name, func(t *testing.T) {
			var pass, block bool
			for _, tc := range gateCases[name] {
				pass, block = pass || tc.want == "", block || tc.want != ""
				t.Run(tc.name, func(t *testing.T) {
					f := newFixture(4, 1)
					if tc.setup != nil {
						tc.setup(f)
					}
					id := tc.id
					if id == "" {
						id = "i-web-1-00"
					}
					c := gateCtxFor(t, f, id)
					if tc.mut != nil {
						tc.mut(c)
					}
					if g.group {
						c = &gateCtx{planCtx: c.planCtx, g: c.g}
					}
					r, d := g.check(c)
					if r != tc.want || tc.want != "" && !strings.Contains(d, tc.detail) {
						t.Errorf("got %q %q, want %q with %q", r, d, tc.want, tc.detail)
					}
					if r != "" && !containsReason(g.reasons, r) {
						t.Errorf("gate returned %q, which it does not declare (%v)", r, g.reasons)
					}
				})
			}
			if !pass || !block {
				t.Errorf("gate %s needs a case that passes and one that blocks", name)
			}
		})
	}
}

func containsReason(list []SkipReason, r SkipReason) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// TestGroupGatesOnlyWhenReplacing: a group that cannot replace is blocked
// only when its mode is unknown; a blocked group reports its first block,
// and an unblocked one its mode detail.
func TestGroupGatesOnlyWhenReplacing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture)
		want   SkipReason
		detail string
	}{
		{"flag group with an active refresh", func(f *fixture) {
			f.group().Mode = "flag"
			f.setFacts("web-1", func(g *GroupFacts) { g.RefreshActive = true })
		}, "", ""},
		{"flag group, kill switch engaged", func(f *fixture) { f.group().Mode = "flag"; f.in.KillSwitch.Engaged = true }, "", ""},
		{"flag group left unread", func(f *fixture) { f.group().Mode = "flag"; failing(CallDescribeGroups, "")(f) }, SkipGroupStateUnknown, "its driftd:remediation tag"},
		{"replace group, kill switch before misconfiguration", func(f *fixture) {
			f.in.KillSwitch.Engaged = true
			f.in.Config.MinSeverity = "urgent"
		}, SkipKillSwitch, "kill switch engaged"},
		{"unread description before kill switch", func(f *fixture) {
			f.in.KillSwitch.Engaged = true
			failing(CallDescribeGroups, "")(f)
		}, SkipGroupStateUnknown, "DescribeAutoScalingGroups failed"},
		{"ignored tag keeps its detail", func(f *fixture) {
			f.group().Mode = "flag"
			f.in.Config.AllowTagOverride = ptr(false)
			f.setFacts("web-1", func(g *GroupFacts) { g.Tags = map[string]string{drift.TagRemediation: "replace"} })
		}, "", "ignored: allow_tag_override is false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(4, 1)
			tc.setup(f)
			st := gateCtxFor(t, f, "i-web-1-00").g.status
			if st.Blocked != tc.want || !strings.Contains(st.Detail, tc.detail) {
				t.Errorf("group status %q %q, want %q with %q", st.Blocked, st.Detail, tc.want, tc.detail)
			}
		})
	}
}

// executionReasons are decided by the Engine when it executes a planned
// action (after every gate of the plan).
var executionReasons = []SkipReason{SkipRevalidation, SkipHookVeto, SkipExecutionFailed}

// planOrder is the order in which an instance meets the gates: the
// candidate gates with the group's gates in place of their verdict, then
// the capacity gates. A gate listed again later is left out there: it let
// the instance through already, and it reads nothing that changed since.
func planOrder() []SkipReason {
	seen := map[string]bool{}
	var out []SkipReason
	add := func(gs ...gate) {
		for _, g := range gs {
			if !seen[g.name] {
				seen[g.name] = true
				out = append(out, g.reasons...)
			}
		}
	}
	for _, g := range candidateGates {
		if g.name == gateGroupBlocked.name {
			add(groupGates...)
			continue
		}
		add(g)
	}
	add(capacityGates...)
	return out
}

// docReasonOrder reads the reasons of the reason table in
// docs/remediation.md, row by row.
func docReasonOrder(t *testing.T) []SkipReason {
	doc, err := os.ReadFile("../docs/remediation.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []SkipReason
	inTable := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| reason | meaning |") {
			inTable = true
			continue
		}
		if inTable && !strings.HasPrefix(line, "|") {
			break
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(strings.Split(line, "|")[1], -1) {
			out = append(out, SkipReason(m[1]))
		}
	}
	return out
}

// collapse drops repeats of the previous reason (two gates of one reason
// are one row).
func collapse(rs []SkipReason) []SkipReason {
	var out []SkipReason
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
	}
	return out
}

// TestGateOrderMatchesDocs: the reason table of docs/remediation.md lists
// the reasons in the order the plan checks them.
func TestGateOrderMatchesDocs(t *testing.T) {
	got := collapse(append(planOrder(), executionReasons...))
	want := collapse(docReasonOrder(t))
	if !slices.Equal(got, want) {
		t.Errorf("gate order and docs/remediation.md disagree:\n gates %v\n docs  %v", got, want)
	}
}

// TestGateReasons: every reason a gate declares is a skip reason, and every
// skip reason is a gate's or decided at execution; the group gates' verdict
// declares the group gates' reasons.
func TestGateReasons(t *testing.T) {
	declared := map[SkipReason]bool{}
	for _, r := range executionReasons {
		declared[r] = true
	}
	for _, g := range allGates() {
		if len(g.reasons) == 0 {
			t.Errorf("gate %s declares no reason", g.name)
		}
		for _, r := range g.reasons {
			declared[r] = true
			if !containsReason(SkipReasons, r) {
				t.Errorf("gate %s declares %q, which is not in SkipReasons", g.name, r)
			}
		}
	}
	for _, r := range SkipReasons {
		if !declared[r] {
			t.Errorf("skip reason %q is no gate's and not decided at execution", r)
		}
	}
	var union []SkipReason
	for _, g := range groupGates {
		for _, r := range g.reasons {
			if !containsReason(union, r) {
				union = append(union, r)
			}
		}
	}
	if !slices.Equal(gateGroupBlocked.reasons, union) {
		t.Errorf("group gates' verdict declares %v, want %v", gateGroupBlocked.reasons, union)
	}
}
