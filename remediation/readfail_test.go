package remediation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

// driftIn marks the first n members of a group drifted and returns their ids.
func (e *env) driftIn(group string, n int) []string {
	var ids []string
	for _, m := range e.groupMembers(group)[:n] {
		e.drifted[m.ID] = true
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids
}

// healed: none of the group's members is drifted, all are InService, and
// driftd has nothing in flight there.
func (e *env) healed(eng *remediation.Engine, group string, size int) bool {
	ms := e.groupMembers(group)
	for _, m := range ms {
		if e.drifted[m.ID] || m.Lifecycle != "InService" {
			return false
		}
	}
	for _, f := range eng.Status().InFlight {
		if f.Group == group {
			return false
		}
	}
	return len(ms) == size
}

// replaced lists the InstanceId of every SetInstanceHealth call, sorted.
func (e *env) replaced() []string {
	var out []string
	for _, c := range e.calls("autoscaling", "SetInstanceHealth") {
		out = append(out, param(c, "InstanceId"))
	}
	sort.Strings(out)
	return out
}

// mutationsOn lists the mutating calls that touch a group or its instances
// (ids: every instance the group ever had), as "op param-summary".
func (e *env) mutationsOn(group string, ids map[string]bool) []string {
	var out []string
	for _, c := range e.sim.Calls() {
		switch c.Operation {
		case "SetInstanceHealth", "TerminateInstanceInAutoScalingGroup":
			if ids[param(c, "InstanceId")] {
				out = append(out, c.Operation+" "+c.Params)
			}
		case "StartInstanceRefresh":
			if param(c, "AutoScalingGroupName") == group {
				out = append(out, c.Operation+" "+c.Params)
			}
		case "CreateOrUpdateTags", "DeleteTags":
			if c.Service == "autoscaling" && param(c, "Tags.member.1.ResourceId") == group || c.Service == "ec2" && ids[param(c, "ResourceId.1")] {
				out = append(out, c.Service+":"+c.Operation+" "+c.Params)
			}
		case "CreateTags":
			if ids[param(c, "ResourceId.1")] {
				out = append(out, "ec2:"+c.Operation+" "+c.Params)
			}
		}
	}
	return out
}

func idSet(views []awssim.InstanceView) map[string]bool {
	out := map[string]bool{}
	for _, v := range views {
		out[v.ID] = true
	}
	return out
}

// threeGroupConfig: flag-* groups are flagged, web-* groups replaced.
func threeGroupConfig() config.Remediation {
	return config.Remediation{DebounceScans: 2, Groups: []config.RemediationGroup{
		{Match: "flag-*", Mode: "flag"},
		{Match: "web-*", Mode: "replace", Budget: "1"},
	}}
}

func skipOf(p remediation.PlanResult, id string) (remediation.Skip, bool) {
	for _, s := range p.Skipped {
		if s.InstanceID == id {
			return s, true
		}
	}
	return remediation.Skip{}, false
}

// TestRefreshReadFailureSkipsOnlyThatGroup: DescribeInstanceRefreshes of one
// replace group fails (server error, IAM denial, throttling after the SDK's
// retries). That group gets group_state_unknown and no replacement; the
// other replace group is healed and the flag group is tagged as usual.
func TestRefreshReadFailureSkipsOnlyThatGroup(t *testing.T) {
	kinds := []struct {
		name  string
		fault awssim.Fault
		code  string
	}{
		{"internal error", awssim.Fault{ErrorRate: 1, ErrorStatus: 500}, "InternalFailure"},
		{"unavailable", awssim.Fault{ErrorRate: 1, ErrorStatus: 503}, "ServiceUnavailable"},
		{"access denied", awssim.Fault{ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403}, "AccessDenied"},
		{"throttled", awssim.Fault{ErrorRate: 1, ErrorCode: "Throttling"}, "Throttling"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			e := newFleetEnv(t, group("flag-asg", 6), group("web-a", 6), group("web-b", 6))
			flagged := e.driftIn("flag-asg", 1)
			healA := e.driftIn("web-a", 1)
			stuckB := e.driftIn("web-b", 1)
			bIDs := idSet(e.groupMembers("web-b"))
			f := k.fault
			f.Service, f.Operation, f.Params = "autoscaling", "DescribeInstanceRefreshes", map[string]string{"AutoScalingGroupName": "web-b"}
			fid, err := e.sim.AddFault(f)
			if err != nil {
				t.Fatal(err)
			}
			eng := e.engine(threeGroupConfig())
			var last remediation.PlanResult
			e.run(eng, 60, func(i int, p remediation.PlanResult) {
				last = p
				for _, a := range p.Actions {
					if a.Group != "web-a" {
						t.Fatalf("cycle %d: acted in %s: %+v", i, a.Group, a)
					}
				}
				if i == 0 {
					return // not debounced yet: web-b's refreshes are not needed
				}
				s, ok := skipOf(p, stuckB[0])
				if !ok || s.Reason != remediation.SkipGroupStateUnknown || !strings.Contains(s.Detail, k.code) || !strings.Contains(s.Detail, "web-b") {
					t.Fatalf("cycle %d: web-b candidate %+v (found %v)", i, s, ok)
				}
			}, func() bool { return e.healed(eng, "web-a", 6) })

			// Exactly one SetInstanceHealth, on web-a's drifted instance.
			if got := e.replaced(); strings.Join(got, ",") != strings.Join(healA, ",") {
				t.Errorf("SetInstanceHealth on %v, want %v", got, healA)
			}
			// The flag group is tagged.
			if v, _ := e.sim.Instance(flagged[0]); v.Tags[drift.TagStatus] != "drifted" {
				t.Errorf("flag group instance not tagged: %v", v.Tags)
			}
			// web-b: no replacement, no group tag; its drifted instance is
			// flagged (drift tags describe the scan, which was read fine),
			// and that is the only write.
			muts := e.mutationsOn("web-b", bIDs)
			if len(muts) != 1 || !strings.HasPrefix(muts[0], "ec2:CreateTags ResourceId.1="+stuckB[0]) {
				t.Errorf("mutating calls on web-b: %v", muts)
			}
			if v, _ := e.sim.Instance(stuckB[0]); v.Tags[drift.TagStatus] != "drifted" || v.Tags[drift.TagAction] != "" {
				t.Errorf("web-b instance tags: %v", v.Tags)
			}
			// No failure is counted from a read error.
			if n := len(e.events(remediation.EventFailed)); n != 0 {
				t.Errorf("%d failed events: %+v", n, e.events(remediation.EventFailed))
			}
			if h := eng.Status().History["web-b"]; h.ConsecutiveFailures != 0 {
				t.Errorf("web-b failures %+v", h)
			}
			// Plan, metrics, events and the API say why.
			var st remediation.GroupStatus
			for _, g := range last.Groups {
				if g.Name == "web-b" {
					st = g
				}
			}
			if st.Blocked != remediation.SkipGroupStateUnknown || !strings.Contains(st.Detail, k.code) {
				t.Errorf("web-b status: %+v", st)
			}
			if len(last.ReadFailures) != 1 || last.ReadFailures[0].Group != "web-b" || last.ReadFailures[0].Call != remediation.CallDescribeRefreshes ||
				last.ReadFailures[0].Code != k.code {
				t.Errorf("read failures: %+v", last.ReadFailures)
			}
			if v := metricValue(t, e.reg, "driftd_remediation_blocked", map[string]string{"asg": "web-b", "reason": "group_state_unknown"}); v != 1 {
				t.Errorf("blocked{web-b,group_state_unknown} = %v", v)
			}
			if v := metricValue(t, e.reg, "driftd_remediation_blocked", map[string]string{"asg": "web-a", "reason": "group_state_unknown"}); v != 0 {
				t.Errorf("blocked{web-a,group_state_unknown} = %v", v)
			}
			var blocked []remediation.Event
			for _, ev := range e.events(remediation.EventBlocked) {
				if ev.Reason == string(remediation.SkipGroupStateUnknown) {
					blocked = append(blocked, ev)
				}
			}
			if len(blocked) != 1 || blocked[0].InstanceID != stuckB[0] || !strings.Contains(blocked[0].Detail, k.code) {
				t.Errorf("blocked events: %+v", blocked)
			}
			checkAPI(t, eng, stuckB[0], k.code)

			// The read recovers: web-b heals too.
			e.sim.RemoveFault(fid)
			e.run(eng, 60, nil, func() bool { return e.healed(eng, "web-b", 6) })
			want := append(append([]string(nil), healA...), stuckB...)
			sort.Strings(want)
			if got := e.replaced(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("after recovery SetInstanceHealth on %v, want %v", got, want)
			}
		})
	}
}

// checkAPI: GET /api/v1/remediation shows the skip with its reason and the
// failed read.
func checkAPI(t *testing.T, eng *remediation.Engine, id, code string) {
	t.Helper()
	srv := httptest.NewServer(eng.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/remediation")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Groups   []remediation.GroupStatus `json:"groups"`
		LastPlan struct {
			Skipped      []remediation.Skip        `json:"skipped"`
			ReadFailures []remediation.ReadFailure `json:"read_failures"`
		} `json:"last_plan"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range st.LastPlan.Skipped {
		if s.InstanceID == id && s.Reason == remediation.SkipGroupStateUnknown && strings.Contains(s.Detail, code) {
			found = true
		}
	}
	if !found || len(st.LastPlan.ReadFailures) == 0 || st.LastPlan.ReadFailures[0].Code != code {
		t.Errorf("API does not show the skip of %s: %+v", id, st.LastPlan)
	}
}

// TestGroupsBatchFailure: DescribeAutoScalingGroups asks for 100 groups per
// call. The call for the second batch fails: only its group is
// group_state_unknown (and, its mode tag unread, not even tagged); the 100
// groups of the first batch proceed.
func TestGroupsBatchFailure(t *testing.T) {
	specs := []awssim.GroupSpec{group("flag-asg", 6), group("web-a", 6), group("web-b", 6)}
	// 98 fillers sort before flag-asg: batch 1 is the fillers, flag-asg and
	// web-a (100 names); batch 2 is web-b alone.
	for i := range 98 {
		specs = append(specs, group(fmt.Sprintf("fill-%02d", i), 1))
	}
	e := newFleetEnv(t, specs...)
	flagged := e.driftIn("flag-asg", 1)
	healA := e.driftIn("web-a", 1)
	stuckB := e.driftIn("web-b", 1)
	bIDs := idSet(e.groupMembers("web-b"))
	fid, err := e.sim.AddFault(awssim.Fault{Service: "autoscaling", Operation: "DescribeAutoScalingGroups", ErrorRate: 1, ErrorStatus: 500,
		Params: map[string]string{"AutoScalingGroupNames.member.*": "web-b"}})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.engine(threeGroupConfig())
	var last remediation.PlanResult
	e.run(eng, 60, func(i int, p remediation.PlanResult) {
		last = p
		s, ok := skipOf(p, stuckB[0])
		if !ok || s.Reason != remediation.SkipGroupStateUnknown || !strings.Contains(s.Detail, "DescribeAutoScalingGroups failed with InternalFailure") {
			t.Fatalf("cycle %d: web-b candidate %+v", i, s)
		}
		for _, a := range p.Actions {
			if a.Group != "web-a" {
				t.Fatalf("cycle %d: acted in %s", i, a.Group)
			}
		}
	}, func() bool { return e.healed(eng, "web-a", 6) })
	if got := e.replaced(); strings.Join(got, ",") != strings.Join(healA, ",") {
		t.Errorf("SetInstanceHealth on %v, want %v", got, healA)
	}
	if v, _ := e.sim.Instance(flagged[0]); v.Tags[drift.TagStatus] != "drifted" {
		t.Errorf("flag group instance not tagged: %v", v.Tags)
	}
	// web-b's mode could not be read: not a single write.
	if muts := e.mutationsOn("web-b", bIDs); len(muts) != 0 {
		t.Errorf("mutating calls on web-b: %v", muts)
	}
	if len(last.ReadFailures) != 1 || last.ReadFailures[0].Group != "web-b" || last.ReadFailures[0].Call != remediation.CallDescribeGroups {
		t.Errorf("read failures: %+v", last.ReadFailures)
	}
	e.sim.RemoveFault(fid)
	e.run(eng, 60, nil, func() bool { return e.healed(eng, "web-b", 6) })
	if v, _ := e.sim.Instance(stuckB[0]); v.Tags[drift.TagStatus] != "drifted" {
		t.Errorf("web-b instance not tagged after recovery: %v", v.Tags)
	}
}

// TestInstancesPageFailure: EC2 DescribeInstances asks for 200 instances per
// call, group by group. The call covering b-fill and c-web fails: c-web
// cannot act and b-fill's drifted instance, whose tags were not read, is
// not tagged; the next call's groups (d-flag, e-web) proceed.
func TestInstancesPageFailure(t *testing.T) {
	// Lookup order is by group name: b-fill 194 + c-web 6 are the first
	// call's 200 ids (both stay put: b-fill only flags, c-web cannot act);
	// d-flag and e-web (6, or 7 while a replacement runs) the second's.
	e := newFleetEnv(t, group("b-fill", 194), group("c-web", 6), group("d-flag", 6), group("e-web", 6))
	unread := e.driftIn("b-fill", 1)
	stuckC := e.driftIn("c-web", 1)
	flagged := e.driftIn("d-flag", 1)
	healE := e.driftIn("e-web", 1)
	cIDs := idSet(e.groupMembers("c-web"))
	fid, err := e.sim.AddFault(awssim.Fault{Service: "ec2", Operation: "DescribeInstances", ErrorRate: 1, ErrorCode: "UnauthorizedOperation", ErrorStatus: 403,
		Params: map[string]string{"Filter.1.Value.*": stuckC[0]}})
	if err != nil {
		t.Fatal(err)
	}
	c := config.Remediation{DebounceScans: 2, Groups: []config.RemediationGroup{
		{Match: "*-fill", Mode: "flag"}, {Match: "*-flag", Mode: "flag"}, {Match: "*-web", Mode: "replace", Budget: "1"},
	}}
	eng := e.engine(c)
	var last remediation.PlanResult
	e.run(eng, 60, func(i int, p remediation.PlanResult) {
		last = p
		s, ok := skipOf(p, stuckC[0])
		if !ok || i > 0 && (s.Reason != remediation.SkipGroupStateUnknown || !strings.Contains(s.Detail, "UnauthorizedOperation")) {
			t.Fatalf("cycle %d: c-web candidate %+v", i, s)
		}
		for _, a := range p.Actions {
			if a.Group != "e-web" {
				t.Fatalf("cycle %d: acted in %s", i, a.Group)
			}
		}
	}, func() bool { return e.healed(eng, "e-web", 6) })
	if got := e.replaced(); strings.Join(got, ",") != strings.Join(healE, ",") {
		t.Errorf("SetInstanceHealth on %v, want %v", got, healE)
	}
	if v, _ := e.sim.Instance(flagged[0]); v.Tags[drift.TagStatus] != "drifted" {
		t.Errorf("d-flag instance not tagged: %v", v.Tags)
	}
	if v, _ := e.sim.Instance(unread[0]); v.Tags[drift.TagStatus] != "" {
		t.Errorf("b-fill instance with unread tags was tagged: %v", v.Tags)
	}
	if muts := e.mutationsOn("c-web", cIDs); len(muts) != 0 {
		t.Errorf("mutating calls on c-web: %v", muts)
	}
	groups := map[string]int{}
	for _, f := range last.ReadFailures {
		if f.Call != remediation.CallDescribeInstances || f.Code != "UnauthorizedOperation" {
			t.Errorf("read failure %+v", f)
		}
		groups[f.Group] = len(f.Instances)
	}
	if len(groups) != 2 || groups["b-fill"] != 194 || groups["c-web"] != 6 {
		t.Errorf("failed instances by group: %v", groups)
	}
	// Recovery: b-fill's instance is tagged, c-web heals.
	e.sim.RemoveFault(fid)
	e.run(eng, 60, nil, func() bool { return e.healed(eng, "c-web", 6) })
	if v, _ := e.sim.Instance(unread[0]); v.Tags[drift.TagStatus] != "drifted" {
		t.Errorf("b-fill instance not tagged after recovery: %v", v.Tags)
	}
}

// TestRevalidationFailureSkipsOnlyThatAction: the re-read right before
// acting fails for one instance; that action is skipped (and not counted as
// a failed replacement); the other group's action goes ahead.
func TestRevalidationFailureSkipsOnlyThatAction(t *testing.T) {
	e := newFleetEnv(t, group("web-a", 6), group("web-b", 6))
	healA := e.driftIn("web-a", 1)
	stuckB := e.driftIn("web-b", 1)
	fid, err := e.sim.AddFault(awssim.Fault{Service: "autoscaling", Operation: "DescribeAutoScalingInstances", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403,
		Params: map[string]string{"InstanceIds.member.1": stuckB[0]}})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.engine(threeGroupConfig())
	sawSkip := false
	e.run(eng, 60, func(i int, p remediation.PlanResult) {
		if s, ok := skipOf(p, stuckB[0]); ok && s.Reason == remediation.SkipRevalidation && strings.Contains(s.Detail, "AccessDenied") {
			sawSkip = true
		}
	}, func() bool { return e.healed(eng, "web-a", 6) })
	if !sawSkip {
		t.Error("web-b's action was never skipped with revalidation_failed")
	}
	if got := e.replaced(); strings.Join(got, ",") != strings.Join(healA, ",") {
		t.Errorf("SetInstanceHealth on %v, want %v", got, healA)
	}
	if h := eng.Status().History["web-b"]; h.ConsecutiveFailures != 0 || len(e.events(remediation.EventFailed)) != 0 {
		t.Errorf("a read error counted as a failure: %+v %+v", h, e.events(remediation.EventFailed))
	}
	if v := metricValue(t, e.reg, "driftd_remediations_total", map[string]string{"asg": "web-b", "action": "set_instance_health", "result": "skipped"}); v == 0 {
		t.Error("skipped action not counted")
	}
	e.sim.RemoveFault(fid)
	e.run(eng, 60, nil, func() bool { return e.healed(eng, "web-b", 6) })
}

// TestUnreadableGroupKeepsReplacementInFlight: a replacement is in flight
// when its group becomes unreadable for longer than replacement_timeout.
// The read error neither completes nor fails it (no false failure toward
// the breaker); once the group reads again it completes.
func TestUnreadableGroupKeepsReplacementInFlight(t *testing.T) {
	for _, call := range []struct{ svc, op string }{
		{"autoscaling", "DescribeAutoScalingGroups"},
		{"ec2", "DescribeInstances"},
	} {
		t.Run(call.op, func(t *testing.T) {
			e := newEnv(t, 10)
			e.drift(1)
			c := replaceConfig()
			c.Groups[0].Breaker = config.RemediationBreaker{MaxFailures: 1}
			eng := e.engine(c)
			e.run(eng, 10, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
			fid, err := e.sim.AddFault(awssim.Fault{Service: call.svc, Operation: call.op, ErrorRate: 1, ErrorStatus: 500})
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute)
			e.run(eng, 30, func(i int, p remediation.PlanResult) {
				if len(eng.Status().InFlight) != 1 || len(p.ReadFailures) == 0 {
					t.Fatalf("cycle %d: in flight %+v, read failures %+v", i, eng.Status().InFlight, p.ReadFailures)
				}
			}, nil)
			if n := len(e.events(remediation.EventFailed)); n != 0 {
				t.Fatalf("read error failed the replacement: %+v", e.events(remediation.EventFailed))
			}
			e.sim.RemoveFault(fid)
			e.run(eng, 5, nil, func() bool { return len(eng.Status().InFlight) == 0 })
			if len(e.events(remediation.EventSucceeded)) != 1 || len(e.events(remediation.EventFailed)) != 0 {
				t.Errorf("succeeded %+v failed %+v", e.events(remediation.EventSucceeded), e.events(remediation.EventFailed))
			}
			if h := eng.Status().History["web-asg"]; h.ConsecutiveFailures != 0 {
				t.Errorf("failures %+v", h)
			}
		})
	}
}

// TestUnreadableRefreshKeepsInstanceRefreshInFlight: an instance refresh
// whose status cannot be read is not declared lost after 48 hours.
func TestUnreadableRefreshKeepsInstanceRefreshInFlight(t *testing.T) {
	e := newEnv(t, 4)
	e.drift(4)
	e.amiOnly = true
	eng := e.engine(replaceConfig())
	e.run(eng, 5, nil, func() bool { return len(e.calls("autoscaling", "StartInstanceRefresh")) == 1 })
	fid, _ := e.sim.AddFault(awssim.Fault{Service: "autoscaling", Operation: "DescribeInstanceRefreshes", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403})
	e.drifted = map[string]bool{}
	e.clock.Advance(49 * time.Hour)
	if _, err := eng.Cycle(context.Background(), e.scan()); err != nil {
		t.Fatal(err)
	}
	if st := eng.Status(); len(st.InFlight) != 1 || len(e.events(remediation.EventFailed)) != 0 {
		t.Fatalf("unreadable refresh declared lost: %+v %+v", st.InFlight, e.events(remediation.EventFailed))
	}
	e.sim.RemoveFault(fid)
	if _, err := eng.Cycle(context.Background(), e.scan()); err != nil {
		t.Fatal(err)
	}
	if st := eng.Status(); len(st.InFlight) != 0 || len(e.events(remediation.EventSucceeded)) != 1 {
		t.Errorf("refresh not completed once readable: %+v %+v", st.InFlight, e.events(remediation.EventFailed))
	}
}
