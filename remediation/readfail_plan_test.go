package remediation

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// TestPlanReadFailures: a failed read fails closed for its group only.
func TestPlanReadFailures(t *testing.T) {
	refreshFail := ReadFailure{Group: "web-1", Call: CallDescribeRefreshes, Error: "api error AccessDenied: not authorized"}
	describeFail := ReadFailure{Group: "web-1", Call: CallDescribeGroups, Error: "api error InternalFailure: boom"}
	cases := []struct {
		name string
		mut  func(f *fixture)
		want string
		// tagged are the instances the plan tags (drifted ones, debounced).
		tagged string
	}{
		{"no failure", nil,
			"act i-web-1-00; act i-web-2-00; skip i-flag-1-00 mode_flag", "i-flag-1-00,i-web-1-00,i-web-2-00"},
		{"refresh read failed: that group only; flagging goes on", func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{refreshFail}
		}, "act i-web-2-00; skip i-flag-1-00 mode_flag; skip i-web-1-00 group_state_unknown", "i-flag-1-00,i-web-1-00,i-web-2-00"},
		{"description failed: mode unknown, nothing tagged in the group", func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{describeFail}
		}, "act i-web-2-00; skip i-flag-1-00 mode_flag; skip i-web-1-00 group_state_unknown", "i-flag-1-00,i-web-2-00"},
		{"description failed in a flag group", func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{{Group: "flag-1", Call: CallDescribeGroups, Error: "throttled"}}
		}, "act i-web-1-00; act i-web-2-00; skip i-flag-1-00 group_state_unknown", "i-web-1-00,i-web-2-00"},
		{"description failed, but no tag could raise an off group", func(f *fixture) {
			f.in.Config.AllowTagOverride = ptr(false)
			f.in.Config.Groups[1].Mode = "off"
			f.in.ReadFailures = []ReadFailure{{Group: "flag-1", Call: CallDescribeGroups, Error: "throttled"}}
		}, "act i-web-1-00; act i-web-2-00; skip i-flag-1-00 mode_off", "i-web-1-00,i-web-2-00"},
		{"description failure wins over a later refresh failure", func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{refreshFail, describeFail}
		}, "act i-web-2-00; skip i-flag-1-00 mode_flag; skip i-web-1-00 group_state_unknown", "i-flag-1-00,i-web-2-00"},
		{"instance page failed: its group cannot act, its unread instances are not tagged", func(f *fixture) {
			f.in.ReadFailures = []ReadFailure{{Group: "web-1", Call: CallDescribeInstances, Instances: []string{"i-web-1-00", "i-web-1-01"}, Error: "503"},
				{Group: "flag-1", Call: CallDescribeInstances, Instances: []string{"i-flag-1-00"}, Error: "503"}}
		}, "act i-web-2-00; skip i-flag-1-00 mode_flag; skip i-web-1-00 group_state_unknown", "i-web-2-00"},
		{"tags known from the scan are still written", func(f *fixture) {
			f.inst("i-flag-1-00").Tags = map[string]string{}
			f.in.ReadFailures = []ReadFailure{{Group: "flag-1", Call: CallDescribeInstances, Instances: []string{"i-flag-1-00"}, Error: "503"}}
		}, "act i-web-1-00; act i-web-2-00; skip i-flag-1-00 mode_flag", "i-flag-1-00,i-web-1-00,i-web-2-00"},
		{"an ungrouped instance whose tags are unknown is not tagged", func(f *fixture) {
			f.in.Config.ModeDefault = "flag"
			f.in.Instances = append(f.in.Instances, *f.inst("i-flag-1-00"))
			solo := &f.in.Instances[len(f.in.Instances)-1]
			solo.ID, solo.ASG = "i-solo", ""
			f.in.ReadFailures = []ReadFailure{{Call: CallDescribeInstances, Instances: []string{"i-solo"}, Error: "503"}}
		}, "act i-web-1-00; act i-web-2-00; skip i-flag-1-00 mode_flag; skip i-solo not_in_asg", "i-flag-1-00,i-web-1-00,i-web-2-00"},
		{"a failing group that only has in-flight work is reported", func(f *fixture) {
			f.in.State.InFlight = []InFlight{{Group: "web-9", InstanceID: "i-gone", Kind: ActionSetInstanceHealth, Started: t0}}
			f.in.ReadFailures = []ReadFailure{{Group: "web-9", Call: CallDescribeGroups, Error: "boom"}}
		}, "act i-web-1-00; act i-web-2-00; skip i-flag-1-00 mode_flag", "i-flag-1-00,i-web-1-00,i-web-2-00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(10, 1)
			f.addGroup("web-2", 10, 1)
			f.addGroup("flag-1", 10, 1)
			f.in.Config.Groups = append(f.in.Config.Groups, config.RemediationGroup{Match: "flag-*", Mode: "flag"})
			f.in.Config.Global.MaxPerHour = ptr(10)
			if c.mut != nil {
				c.mut(f)
			}
			p := Plan(f.in)
			checkInvariants(t, f.in, p)
			sort.Slice(p.Skipped, func(i, j int) bool { return p.Skipped[i].InstanceID < p.Skipped[j].InstanceID })
			if got := summary(p); got != c.want {
				t.Errorf("plan:\n got %s\nwant %s", got, c.want)
			}
			var tagged []string
			for _, tc := range p.Tags {
				tagged = append(tagged, tc.InstanceID)
			}
			sort.Strings(tagged)
			if got := strings.Join(tagged, ","); got != c.tagged {
				t.Errorf("tagged %q, want %q", got, c.tagged)
			}
			if len(p.ReadFailures) != len(f.in.ReadFailures) {
				t.Errorf("plan reports %d read failures, want %d", len(p.ReadFailures), len(f.in.ReadFailures))
			}
			// A failing group that could act (or whose mode is unknown)
			// shows the block with the error of its description if that
			// failed, else of its first failed read.
			wantErr := map[string]string{}
			for _, rf := range f.in.ReadFailures {
				if _, ok := wantErr[rf.Group]; !ok || rf.Call == CallDescribeGroups {
					wantErr[rf.Group] = rf.Error
				}
			}
			for _, st := range p.Groups {
				e, failed := wantErr[st.Name]
				blocks := failed && (strings.HasPrefix(st.Name, "web-") || f.in.Config.Groups[1].Mode == "flag" && strings.Contains(c.name, "description"))
				if blocks != (st.Blocked == SkipGroupStateUnknown) || blocks && !strings.Contains(st.Detail, e) {
					t.Errorf("group %s status (read failed: %v): %+v", st.Name, failed, st)
				}
			}
			for _, s := range p.Skipped {
				if s.Reason == SkipGroupStateUnknown && (wantErr[s.Group] == "" || !strings.Contains(s.Detail, wantErr[s.Group])) {
					t.Errorf("skip without the error: %+v", s)
				}
			}
		})
	}
}

// TestSkipReasonsDocumented: every skip reason (a metric label value) is in
// the reason table of docs/remediation.md, and the table names no other.
func TestSkipReasonsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/remediation.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
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
		cell := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cell, -1) {
			documented[m[1]] = true
		}
	}
	known := map[string]bool{}
	for _, r := range SkipReasons {
		known[string(r)] = true
		if !documented[string(r)] {
			t.Errorf("skip reason %q is not in the reason table of docs/remediation.md", r)
		}
	}
	for r := range documented {
		if !known[r] {
			t.Errorf("docs/remediation.md documents %q, which is not a skip reason", r)
		}
	}
}
