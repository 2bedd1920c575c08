package remediation

import (
	"testing"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// TestBreakersCountLastKnownVerdict: an instance whose collection failed
// this scan (unknown or stale) counts in the drift-share breakers with its
// last known verdict, so the breakers decide as if nothing had failed; an
// instance never judged is not counted; the unknown one is never a
// candidate.
func TestBreakersCountLastKnownVerdict(t *testing.T) {
	// web-1: 5 members, 3 drifted = 60 % > 50 %: the group breaker is open.
	// A fleet of 10 with 3 drifted is 30 %, not above the fleet's 30 %.
	base := func() *fixture {
		f := newFixture(5, 3)
		f.in.Config.Groups = []config.RemediationGroup{{Match: "web-*", Mode: "replace", Budget: "3", MaxInFlight: 3}, {Match: "api-*", Mode: "flag"}}
		f.addGroup("api-1", 5, 0)
		return f
	}
	cases := []struct {
		name      string
		victim    string
		verdict   drift.Verdict
		lastKnown drift.Verdict
		// want: the web-1 breaker open, the fleet breaker open, actions
		groupOpen, fleetOpen bool
		actions              int
	}{
		{name: "nothing failed", groupOpen: true},
		{name: "drifted member unknown, remembered", victim: "i-web-1-00", verdict: drift.VerdictUnknown, lastKnown: drift.VerdictDrifted, groupOpen: true},
		{name: "drifted member stale, remembered", victim: "i-web-1-00", verdict: drift.VerdictStale, lastKnown: drift.VerdictDrifted, groupOpen: true},
		// without memory (first cycle after a restart) the share is 2 of 4
		{name: "drifted member unknown, never judged", victim: "i-web-1-00", verdict: drift.VerdictUnknown, actions: 2},
		{name: "in-sync member unknown, remembered", victim: "i-web-1-04", verdict: drift.VerdictUnknown, lastKnown: drift.VerdictInSync, groupOpen: true},
		// 3 of 9 known in the fleet: 33 % > 30 %
		{name: "in-sync api member unknown, never judged", victim: "i-api-1-00", verdict: drift.VerdictUnknown, groupOpen: true, fleetOpen: true},
		{name: "in-sync api member unknown, remembered", victim: "i-api-1-00", verdict: drift.VerdictUnknown, lastKnown: drift.VerdictInSync, groupOpen: true},
		// a no_baseline instance's memory is not used: it is not a failed read
		{name: "no_baseline is not counted", victim: "i-api-1-00", verdict: drift.VerdictNoBaseline, lastKnown: drift.VerdictInSync, groupOpen: true, fleetOpen: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			if tc.victim != "" {
				s := f.inst(tc.victim)
				s.Verdict, s.Severity, s.LastKnown = tc.verdict, drift.SeverityNone, tc.lastKnown
			}
			p := Plan(f.in)
			checkInvariants(t, f.in, p)
			var web GroupStatus
			for _, g := range p.Groups {
				if g.Name == "web-1" {
					web = g
				}
			}
			if web.Breaker.Open != tc.groupOpen || p.Fleet.Open != tc.fleetOpen || len(p.Actions) != tc.actions {
				t.Fatalf("group breaker %+v, fleet breaker %+v, %d actions; want open %v / %v, %d actions", web.Breaker, p.Fleet, len(p.Actions), tc.groupOpen, tc.fleetOpen, tc.actions)
			}
			for _, a := range p.Actions {
				if a.InstanceID == tc.victim {
					t.Fatalf("acted on the %s victim: %+v", tc.verdict, a)
				}
			}
		})
	}
}

// TestRefreshChoiceCountsLastKnownVerdict: a group whose drifted members
// all drifted by AMI only is refreshed as a whole; a member with other
// drift, unknown this scan but remembered, still rules that out, as it
// would without the failed read.
func TestRefreshChoiceCountsLastKnownVerdict(t *testing.T) {
	plan := func(lastKnown drift.Verdict) PlanResult {
		f := newFixture(8, 3)
		f.in.Config.Groups[0].Budget, f.in.Config.Groups[0].MaxInFlight = "3", 3
		for _, id := range []string{"i-web-1-00", "i-web-1-01"} {
			f.inst(id).AMIOnly = true
		}
		// i-web-1-02 drifted by a package; its inventory is unreadable now
		s := f.inst("i-web-1-02")
		s.Verdict, s.Severity, s.LastKnown = drift.VerdictUnknown, drift.SeverityNone, lastKnown
		p := Plan(f.in)
		checkInvariants(t, f.in, p)
		return p
	}
	kinds := func(p PlanResult) []ActionKind {
		var out []ActionKind
		for _, a := range p.Actions {
			out = append(out, a.Kind)
		}
		return out
	}
	if got := kinds(plan(drift.VerdictDrifted)); len(got) != 2 || got[0] != ActionSetInstanceHealth || got[1] != ActionSetInstanceHealth {
		t.Fatalf("remembered package drift: actions %v, want two single replacements", got)
	}
	if got := kinds(plan("")); len(got) != 1 || got[0] != ActionInstanceRefresh {
		t.Fatalf("never judged: actions %v, want one instance refresh", got)
	}
}
