package remediation_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

var simStart = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

// env is a simulated region with real SDK clients over HTTP, and a stand-in
// for the daemon's scans: members listed in drifted report drifted, every
// other InService member (including replacements launched from the launch
// template's AMI) reports in_sync; Pending members report unknown.
type env struct {
	t       *testing.T
	sim     *awssim.Sim
	clock   *awssim.ManualClock
	groups  []string // scanned groups, sorted
	asg     *autoscaling.Client
	ec2     *ec2.Client
	ssm     *ssm.Client
	drifted map[string]bool
	amiOnly bool
	// badLaunch makes every instance launched after the start report drifted
	// (a broken launch template).
	badLaunch bool
	// silentLaunch makes instances launched after the start never report
	// inventory (unknown): their replacement never compares in_sync.
	silentLaunch bool
	original     map[string]bool
	scans        map[string]int
	since        map[string]time.Time
	sink         *remediation.MemorySink
	reg          *prometheus.Registry
}

func newEnv(t *testing.T, size int) *env { return newEnvWith(t, size, nil) }

func newEnvWith(t *testing.T, size int, mut func(*awssim.GroupSpec)) *env {
	t.Helper()
	gs := awssim.GroupSpec{Name: "web-asg", LaunchTemplateName: "web", Min: size, Max: size + 2, Desired: size}
	if mut != nil {
		mut(&gs)
	}
	return newFleetEnv(t, gs)
}

// group is a group spec of size instances from the "web" launch template.
func group(name string, size int) awssim.GroupSpec {
	return awssim.GroupSpec{Name: name, LaunchTemplateName: "web", Min: size, Max: size + 2, Desired: size}
}

// newFleetEnv is an env with several groups; scan reports all of them.
func newFleetEnv(t *testing.T, groups ...awssim.GroupSpec) *env {
	t.Helper()
	var sgs []awssim.ScenarioGroup
	for _, g := range groups {
		sgs = append(sgs, awssim.ScenarioGroup{GroupSpec: g})
	}
	clock := awssim.NewManualClock(simStart)
	sim := awssim.New(awssim.Options{Clock: clock, LaunchDelay: 30 * time.Second, TerminateDelay: 5 * time.Second, InventoryDelay: -1})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	err = sim.LoadScenario(&awssim.Scenario{
		AMIs:            []awssim.AMISpec{{Name: "web-2026-06", Packages: []awssim.PackageSpec{{Name: "openssl", Version: "3.0.8", Release: "1.amzn2023"}}}},
		LaunchTemplates: []awssim.LaunchTemplateIn{{Name: "web", Versions: []string{"web-2026-06"}}},
		Groups:          sgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's request-body/transport race (see internal/sdkhttp) would
	// otherwise add spurious retries to the call log.
	// Two attempts with a short backoff and no client-side retry quota: an
	// injected fault fails the call after one quick retry, every time.
	httpClient := awssim.NewHTTPClient()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient: httpClient,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 2
				o.Backoff = retry.NewExponentialJitterBackoff(10 * time.Millisecond)
				o.RateLimiter = ratelimit.None
			})
		}}
	base := aws.String(srv.URL)
	e := &env{t: t, sim: sim, clock: clock, groups: sortedGroupNames(groups),
		asg:     autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.BaseEndpoint = base }),
		ec2:     ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = base }),
		ssm:     ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = base }),
		drifted: map[string]bool{}, scans: map[string]int{}, since: map[string]time.Time{},
		sink: &remediation.MemorySink{}, reg: prometheus.NewRegistry()}
	e.original = map[string]bool{}
	for _, name := range e.groups {
		for _, m := range e.groupMembers(name) {
			e.original[m.ID] = true
		}
	}
	return e
}

func sortedGroupNames(gs []awssim.GroupSpec) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	sort.Strings(out)
	return out
}

func (e *env) members() []awssim.InstanceView { return e.groupMembers("web-asg") }

func (e *env) groupMembers(name string) []awssim.InstanceView {
	g, ok := e.sim.Group(name)
	if !ok {
		e.t.Fatalf("group %s missing", name)
	}
	return g.Members
}

// drift marks the first n members drifted and returns their ids.
func (e *env) drift(n int) []string {
	var ids []string
	for _, m := range e.members()[:n] {
		e.drifted[m.ID] = true
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids
}

// scan is the daemon's next scan.
func (e *env) scan() []remediation.InstanceState {
	var out []remediation.InstanceState
	for _, name := range e.groups {
		out = append(out, e.scanGroup(name)...)
	}
	return out
}

func (e *env) scanGroup(name string) []remediation.InstanceState {
	now := e.clock.Now()
	var out []remediation.InstanceState
	for _, m := range e.groupMembers(name) {
		s := remediation.InstanceState{ID: m.ID, ASG: name, Verdict: drift.VerdictInSync}
		switch {
		case m.Lifecycle != "InService" || e.silentLaunch && !e.original[m.ID]:
			s.Verdict = drift.VerdictUnknown
		case e.drifted[m.ID] || e.badLaunch && !e.original[m.ID]:
			s.Verdict, s.Severity, s.Reason, s.AMIOnly = drift.VerdictDrifted, drift.SeverityCritical, "package openssl changed 3.0.8 -> 3.0.2", e.amiOnly
		}
		key := m.ID + "/" + string(s.Verdict)
		e.scans[key]++
		if _, ok := e.since[key]; !ok {
			e.since[key] = now
		}
		s.ConsecutiveScans, s.Since = e.scans[key], e.since[key]
		out = append(out, s)
	}
	return out
}

func (e *env) engine(c config.Remediation) *remediation.Engine {
	aws := &remediation.AWS{AutoScaling: e.asg, EC2: e.ec2}
	c.KillSwitch.File = ptr("")
	e.reg = prometheus.NewRegistry() // a restarted daemon has a new registry
	return remediation.NewEngine(remediation.Options{
		Config: c, Reader: aws, Executor: aws,
		KillSwitch: &remediation.KillSwitchReader{SSM: e.ssm},
		Sink:       e.sink, Metrics: remediation.NewMetrics(e.reg), Log: zap.NewNop(),
		Now: e.clock.Now,
	})
}

// run advances the clock a minute per cycle until done() or the bound.
func (e *env) run(eng *remediation.Engine, cycles int, each func(i int, p remediation.PlanResult), done func() bool) {
	e.t.Helper()
	for i := 0; i < cycles; i++ {
		p, err := eng.Cycle(context.Background(), e.scan())
		if err != nil {
			e.t.Fatalf("cycle %d: %v", i, err)
		}
		if each != nil {
			each(i, p)
		}
		if done != nil && done() {
			return
		}
		e.clock.Advance(time.Minute)
	}
	if done != nil {
		e.t.Fatalf("not done after %d cycles", cycles)
	}
}

func (e *env) calls(service, op string) []awssim.Call {
	var out []awssim.Call
	for _, c := range e.sim.Calls() {
		if c.Service == service && c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

func (e *env) mutatingCalls() map[string]int {
	out := map[string]int{}
	for k, n := range e.sim.CallCounts() {
		op := k[strings.Index(k, ":")+1:]
		switch op {
		case "SetInstanceHealth", "TerminateInstanceInAutoScalingGroup", "StartInstanceRefresh", "CreateOrUpdateTags", "DeleteTags", "CreateTags",
			"SuspendProcesses", "ResumeProcesses", "UpdateAutoScalingGroup", "TerminateInstances", "SetInstanceProtection", "EnterStandby", "ExitStandby":
			out[k] = n
		}
	}
	return out
}

func (e *env) events(t remediation.EventType) []remediation.Event {
	var out []remediation.Event
	for _, ev := range e.sink.Events() {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func replaceConfig() config.Remediation {
	return config.Remediation{DebounceScans: 2, Groups: []config.RemediationGroup{{Match: "web-*", Mode: "replace", Budget: "1"}}}
}

func param(c awssim.Call, key string) string {
	for _, kv := range strings.Split(c.Params, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func TestHealsOneByOne(t *testing.T) {
	e := newEnv(t, 10)
	want := e.drift(3)
	eng := e.engine(replaceConfig())
	maxInFlight := 0
	e.run(eng, 200, func(i int, p remediation.PlanResult) {
		if n := len(eng.Status().InFlight); n > maxInFlight {
			maxInFlight = n
		}
		if len(p.Actions) > 1 {
			t.Fatalf("cycle %d: %d actions at once", i, len(p.Actions))
		}
	}, func() bool {
		for _, m := range e.members() {
			if e.drifted[m.ID] || m.Lifecycle != "InService" {
				return false
			}
		}
		return len(eng.Status().InFlight) == 0 && len(e.members()) == 10
	})
	if maxInFlight != 1 {
		t.Errorf("max in flight %d, want 1", maxInFlight)
	}
	// Exactly three SetInstanceHealth, on exactly the drifted ids.
	var got []string
	for _, c := range e.calls("autoscaling", "SetInstanceHealth") {
		if param(c, "HealthStatus") != "Unhealthy" || param(c, "ShouldRespectGracePeriod") != "false" {
			t.Errorf("SetInstanceHealth params: %s", c.Params)
		}
		got = append(got, param(c, "InstanceId"))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SetInstanceHealth on %v, want %v", got, want)
	}
	// Nothing else touched: instance tags only on the drifted three, group tags only on web-asg.
	// Tags only on transitions: per drifted instance one driftd:status
	// tagging and one driftd:action record; nothing for unchanged instances.
	tagCalls := map[string]int{}
	for _, c := range e.calls("ec2", "CreateTags") {
		id := param(c, "ResourceId.1")
		if !e.drifted[id] {
			t.Errorf("CreateTags on an instance that was not drifted: %s", c.Params)
		}
		tagCalls[id]++
	}
	for _, id := range want {
		if tagCalls[id] != 2 {
			t.Errorf("%s tagged %d times, want 2 (status, action)", id, tagCalls[id])
		}
	}
	if n := len(e.calls("ec2", "DeleteTags")); n != 0 {
		t.Errorf("%d DeleteTags calls", n)
	}
	for k, n := range e.mutatingCalls() {
		switch k {
		case "autoscaling:SetInstanceHealth", "ec2:CreateTags", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags":
		default:
			t.Errorf("unexpected mutating call %s x%d", k, n)
		}
	}
	for _, c := range e.calls("autoscaling", "CreateOrUpdateTags") {
		if param(c, "Tags.member.1.ResourceId") != "web-asg" || param(c, "Tags.member.1.Key") != drift.TagInFlight {
			t.Errorf("group tag call: %s", c.Params)
		}
	}
	if n := len(e.events(remediation.EventStarted)); n != 3 {
		t.Errorf("%d started events, want 3", n)
	}
	if n := len(e.events(remediation.EventSucceeded)); n != 3 {
		t.Errorf("%d succeeded events, want 3", n)
	}
	if n := len(e.events(remediation.EventFailed)); n != 0 {
		t.Errorf("%d failed events: %+v", n, e.events(remediation.EventFailed))
	}
	if v := metricValue(t, e.reg, "driftd_remediations_total", map[string]string{"asg": "web-asg", "action": "set_instance_health", "result": "succeeded"}); v != 3 {
		t.Errorf("succeeded counter %v", v)
	}
	g, _ := e.sim.Group("web-asg")
	if g.Desired != 10 {
		t.Errorf("desired capacity changed to %d", g.Desired)
	}
	if eng.Status().History["web-asg"].ConsecutiveFailures != 0 {
		t.Errorf("failures recorded")
	}
}

func TestBadBaselineOpensBreaker(t *testing.T) {
	e := newEnv(t, 10)
	e.drift(10)
	eng := e.engine(replaceConfig())
	e.run(eng, 10, func(i int, p remediation.PlanResult) {
		if len(p.Actions) != 0 {
			t.Fatalf("cycle %d acted: %+v", i, p.Actions)
		}
	}, nil)
	if n := len(e.calls("autoscaling", "SetInstanceHealth")) + len(e.calls("autoscaling", "TerminateInstanceInAutoScalingGroup")) + len(e.calls("autoscaling", "StartInstanceRefresh")); n != 0 {
		t.Errorf("%d replacement calls", n)
	}
	opened := e.events(remediation.EventBreakerOpened)
	scopes := map[string]bool{}
	for _, ev := range opened {
		scopes[ev.Scope] = true
	}
	if len(opened) != 2 || !scopes["web-asg"] || !scopes["fleet"] {
		t.Errorf("breaker events: %+v", opened)
	}
	for _, scope := range []string{"web-asg", "fleet"} {
		if v := metricValue(t, e.reg, "driftd_circuit_open", map[string]string{"scope": scope}); v != 1 {
			t.Errorf("driftd_circuit_open{scope=%q} = %v", scope, v)
		}
	}
	// The baseline is fixed: the drift clears, the breakers close.
	e.drifted = map[string]bool{}
	e.run(eng, 1, nil, nil)
	if n := len(e.events(remediation.EventBreakerClosed)); n != 2 {
		t.Errorf("%d breaker.closed events", n)
	}
}

func TestRestartContinuesWithoutRepeating(t *testing.T) {
	e := newEnv(t, 10)
	want := e.drift(3)
	first := e.engine(replaceConfig())
	e.run(first, 20, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
	acted := param(e.calls("autoscaling", "SetInstanceHealth")[0], "InstanceId")
	// The daemon restarts immediately: a new engine with no memory.
	second := e.engine(replaceConfig())
	p, err := second.Cycle(context.Background(), e.scan())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 0 {
		t.Fatalf("restarted engine acted at once: %+v", p.Actions)
	}
	if st := second.Status(); len(st.InFlight) != 1 || st.InFlight[0].InstanceID != acted {
		t.Fatalf("in-flight not restored from tags: %+v", st.InFlight)
	}
	e.clock.Advance(time.Minute)
	e.run(second, 200, nil, func() bool {
		for _, m := range e.members() {
			if e.drifted[m.ID] || m.Lifecycle != "InService" {
				return false
			}
		}
		return len(second.Status().InFlight) == 0
	})
	counts := map[string]int{}
	for _, c := range e.calls("autoscaling", "SetInstanceHealth") {
		counts[param(c, "InstanceId")]++
	}
	if len(counts) != 3 {
		t.Errorf("acted on %v, want %v", counts, want)
	}
	for id, n := range counts {
		if n != 1 || !e.drifted[id] && !contains(want, id) {
			t.Errorf("%s acted on %d times", id, n)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHookVetoBlocks(t *testing.T) {
	var posts atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		http.Error(w, "change freeze", http.StatusForbidden)
	}))
	defer hook.Close()
	e := newEnv(t, 10)
	e.drift(1)
	c := replaceConfig()
	c.Hook = config.RemediationHook{URL: hook.URL, Timeout: 2 * time.Second}
	eng := e.engine(c)
	var last remediation.PlanResult
	e.run(eng, 4, func(_ int, p remediation.PlanResult) { last = p }, nil)
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 0 || posts.Load() == 0 {
		t.Fatalf("SetInstanceHealth %d, hook posts %d", n, posts.Load())
	}
	if len(last.Actions) != 0 || len(last.Skipped) != 1 || last.Skipped[0].Reason != remediation.SkipHookVeto ||
		!strings.Contains(last.Skipped[0].Detail, "hook answered 403: change freeze") {
		t.Errorf("plan does not record the veto: %+v", last)
	}
	blocked := e.events(remediation.EventBlocked)
	if len(blocked) == 0 || blocked[0].Reason != string(remediation.SkipHookVeto) {
		t.Errorf("blocked events: %+v", blocked)
	}
}

func TestDryRunMutatesNothing(t *testing.T) {
	e := newEnv(t, 10)
	ids := e.drift(2)
	c := replaceConfig()
	c.DryRun = true
	eng := e.engine(c)
	e.sim.ResetCalls()
	e.run(eng, 5, nil, nil)
	if m := e.mutatingCalls(); len(m) != 0 {
		t.Errorf("dry run made mutating calls: %v", m)
	}
	acts := eng.DryRun().Actions()
	if len(acts) == 0 || acts[0].InstanceID != e.members()[0].ID && !contains(ids, acts[0].InstanceID) {
		t.Fatalf("dry run recorded no action on a drifted instance: %+v", acts)
	}
	tagged := map[string]bool{}
	for _, tc := range eng.DryRun().Tags() {
		tagged[tc.InstanceID] = true
	}
	if len(tagged) != 2 || !tagged[ids[0]] || !tagged[ids[1]] {
		t.Errorf("dry run tags: %+v", eng.DryRun().Tags())
	}
	if n := len(e.events(remediation.EventStarted)); n != 1 {
		t.Errorf("dry-run started events: %d, want 1 (announced once)", n)
	}
	started := e.events(remediation.EventStarted)
	if len(started) == 0 || !started[0].DryRun {
		t.Errorf("dry-run events: %+v", started)
	}
	if len(eng.Status().InFlight) != 0 {
		t.Errorf("dry run occupies a slot")
	}
}

func TestKillSwitchSSM(t *testing.T) {
	e := newEnv(t, 10)
	e.drift(1)
	c := replaceConfig()
	e.sim.PutParameter("/driftd/kill-switch", "on")
	eng := e.engine(c)
	var last remediation.PlanResult
	e.run(eng, 3, func(_ int, p remediation.PlanResult) { last = p }, nil)
	if len(e.mutatingCalls()) != 0 || len(last.Skipped) != 1 || last.Skipped[0].Reason != remediation.SkipKillSwitch {
		t.Fatalf("kill switch ignored: calls %v plan %+v", e.mutatingCalls(), last.Skipped)
	}
	if ev := e.events(remediation.EventKillSwitchEngaged); len(ev) != 1 || ev[0].Reason != "ssm" {
		t.Errorf("engaged events: %+v", ev)
	}
	// SSM unreadable: still engaged (fail closed).
	e.sim.PutParameter("/driftd/kill-switch", "off")
	id, err := e.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "GetParameter", ErrorRate: 1, ErrorStatus: 500})
	if err != nil {
		t.Fatal(err)
	}
	e.run(eng, 1, func(_ int, p remediation.PlanResult) { last = p }, nil)
	if !last.KillSwitch.Engaged || len(e.calls("autoscaling", "SetInstanceHealth")) != 0 {
		t.Errorf("unreadable kill switch did not fail closed: %+v", last.KillSwitch)
	}
	e.sim.RemoveFault(id)
	e.run(eng, 10, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
	if ev := e.events(remediation.EventKillSwitchRelease); len(ev) != 1 {
		t.Errorf("released events: %+v", ev)
	}
}

func TestReplacementTimeoutCountsFailure(t *testing.T) {
	// The old instance drains in a terminating lifecycle hook and its
	// replacement never reports inventory: no in_sync replacement within
	// replacement_timeout.
	e := newEnvWith(t, 10, func(g *awssim.GroupSpec) {
		g.Hooks = []awssim.HookSpec{{Name: "drain", Transition: "terminating", Timeout: time.Hour}}
	})
	e.drift(2)
	e.silentLaunch = true
	c := replaceConfig()
	c.ReplacementTimeout = 20 * time.Minute
	c.Groups[0].Breaker = config.RemediationBreaker{MaxFailures: 2, Backoff: 10 * time.Minute, BackoffMax: time.Hour}
	eng := e.engine(c)
	e.run(eng, 10, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
	start := e.clock.Now()
	e.run(eng, 40, nil, func() bool { return len(e.events(remediation.EventFailed)) == 1 })
	if waited := e.clock.Now().Sub(start); waited < 20*time.Minute || waited > 22*time.Minute {
		t.Errorf("failure declared after %s, want just over 20m", waited)
	}
	st := eng.Status()
	if st.History["web-asg"].ConsecutiveFailures != 1 || len(st.InFlight) != 0 {
		t.Errorf("failure not recorded: %+v", st)
	}
	// Backoff: no second action for 10 minutes.
	e.run(eng, 9, func(i int, p remediation.PlanResult) {
		if len(p.Actions) != 0 || len(p.Skipped) == 0 || p.Skipped[0].Reason != remediation.SkipBackoff && p.Skipped[0].Reason != remediation.SkipGroupUnhealthy {
			t.Fatalf("during backoff: %+v %+v", p.Actions, p.Skipped)
		}
	}, nil)
	// A restarted engine remembers the failure through the group tag.
	again := e.engine(c)
	if _, err := again.Cycle(context.Background(), e.scan()); err != nil {
		t.Fatal(err)
	}
	if h := again.Status().History["web-asg"]; h.ConsecutiveFailures != 1 {
		t.Errorf("failure count not restored: %+v", h)
	}
}

func TestDriftedReplacementOpensFailureBreaker(t *testing.T) {
	e := newEnv(t, 10)
	e.drift(2)
	e.badLaunch = true
	c := replaceConfig()
	c.Groups[0].Breaker = config.RemediationBreaker{MaxFailures: 1}
	eng := e.engine(c)
	e.run(eng, 30, nil, func() bool { return len(e.events(remediation.EventFailed)) == 1 })
	if f := e.events(remediation.EventFailed)[0]; !strings.Contains(f.Detail, "came up drifted") {
		t.Errorf("failure detail: %+v", f)
	}
	e.run(eng, 1, nil, nil)
	if ev := e.events(remediation.EventBreakerOpened); len(ev) != 1 || ev[0].Reason != "failures" || ev[0].Scope != "web-asg" {
		t.Errorf("failure breaker events: %+v", ev)
	}
	// The breaker holds: no further replacement.
	e.run(eng, 30, nil, nil)
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 1 {
		t.Errorf("%d replacements with the breaker open", n)
	}
	// Operator reset clears the failures; the next candidate may go.
	if err := eng.ResetBreaker(context.Background(), "web-asg"); err != nil {
		t.Fatal(err)
	}
	e.badLaunch = false
	e.run(eng, 5, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 2 })
}

func TestInstanceRefreshForAMIRollout(t *testing.T) {
	e := newEnv(t, 4)
	e.drift(4)
	e.amiOnly = true
	eng := e.engine(replaceConfig())
	e.run(eng, 5, nil, func() bool { return len(e.calls("autoscaling", "StartInstanceRefresh")) == 1 })
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 0 {
		t.Errorf("%d SetInstanceHealth during a rollout", n)
	}
	c := e.calls("autoscaling", "StartInstanceRefresh")[0]
	if param(c, "AutoScalingGroupName") != "web-asg" || param(c, "Preferences.MinHealthyPercentage") != "75" || param(c, "Preferences.SkipMatching") != "true" {
		t.Errorf("StartInstanceRefresh params: %s", c.Params)
	}
	if st := eng.Status(); len(st.InFlight) != 1 || st.InFlight[0].Kind != remediation.ActionInstanceRefresh || st.InFlight[0].RefreshID == "" {
		t.Errorf("refresh not tracked: %+v", st.InFlight)
	}
}

// metricValue finds one series in a registry and returns its value.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestApproveModeEndToEnd(t *testing.T) {
	e := newEnv(t, 10)
	ids := e.drift(2)
	c := replaceConfig()
	c.Groups[0].Mode = "approve"
	eng := e.engine(c)
	e.run(eng, 5, func(i int, p remediation.PlanResult) {
		if len(p.Actions) != 0 {
			t.Fatalf("acted without approval: %+v", p.Actions)
		}
	}, nil)
	// Approve the second drifted instance through the API, as `driftd approve` does.
	srv := httptest.NewServer(eng.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/v1/approvals", "application/json", strings.NewReader(`{"instance_id":"`+ids[1]+`","ttl":"30m"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("approve: %v %v", err, resp)
	}
	resp.Body.Close()
	e.run(eng, 5, nil, func() bool { return len(e.calls("autoscaling", "SetInstanceHealth")) == 1 })
	if got := param(e.calls("autoscaling", "SetInstanceHealth")[0], "InstanceId"); got != ids[1] {
		t.Errorf("replaced %s, want the approved %s", got, ids[1])
	}
	if len(eng.Approvals()) != 0 {
		t.Errorf("approval not consumed: %+v", eng.Approvals())
	}
	// The other instance keeps waiting.
	e.run(eng, 20, nil, nil)
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 1 {
		t.Errorf("%d replacements, want only the approved one", n)
	}
}

func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found")
		}
		t.Skip("promtool not installed; skipping the metrics lint")
	}
	e := newEnv(t, 10)
	e.drift(2)
	eng := e.engine(replaceConfig())
	e.run(eng, 2, nil, nil) // one replacement started, one candidate blocked by max_in_flight
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"driftd_remediations_total", "driftd_remediation_budget_remaining", "driftd_circuit_open", "driftd_killswitch_engaged", "driftd_remediation_blocked"} {
		if !strings.Contains(buf.String(), "# TYPE "+name+" ") {
			t.Errorf("%s missing from the scrape", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestFlagModeTagsTransitionsOnly(t *testing.T) {
	e := newEnv(t, 6)
	ids := e.drift(2)
	c := replaceConfig()
	c.Groups[0].Mode = "flag"
	eng := e.engine(c)
	e.run(eng, 6, nil, nil)
	if n := len(e.calls("ec2", "CreateTags")); n != 2 {
		t.Fatalf("%d CreateTags for 2 drift transitions over 6 scans", n)
	}
	v, _ := e.sim.Instance(ids[0])
	if v.Tags[drift.TagStatus] != "drifted" || v.Tags[drift.TagReason] == "" || v.Tags[drift.TagSince] != "2026-06-10T12:00:00Z" {
		t.Errorf("drift tags: %v", v.Tags)
	}
	// One instance returns in sync: status flips, the reason is deleted.
	delete(e.drifted, ids[0])
	e.run(eng, 3, nil, nil)
	if n := len(e.calls("ec2", "CreateTags")); n != 3 {
		t.Errorf("%d CreateTags, want 3", n)
	}
	if n := len(e.calls("ec2", "DeleteTags")); n != 1 {
		t.Errorf("%d DeleteTags, want 1", n)
	}
	v, _ = e.sim.Instance(ids[0])
	if v.Tags[drift.TagStatus] != "in_sync" || v.Tags[drift.TagReason] != "" {
		t.Errorf("in-sync tags: %v", v.Tags)
	}
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 0 {
		t.Errorf("flag mode replaced %d instances", n)
	}
}

func TestMaxInFlightTwo(t *testing.T) {
	e := newEnv(t, 10)
	want := e.drift(3)
	c := replaceConfig()
	c.Groups[0].Budget, c.Groups[0].MaxInFlight = "2", 2
	eng := e.engine(c)
	peak := 0
	e.run(eng, 100, func(int, remediation.PlanResult) {
		peak = max(peak, len(eng.Status().InFlight))
	}, func() bool {
		for _, m := range e.members() {
			if e.drifted[m.ID] || m.Lifecycle != "InService" {
				return false
			}
		}
		return len(eng.Status().InFlight) == 0
	})
	if peak != 2 {
		t.Errorf("peak in flight %d, want 2", peak)
	}
	var got []string
	for _, c := range e.calls("autoscaling", "SetInstanceHealth") {
		got = append(got, param(c, "InstanceId"))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("replaced %v, want %v", got, want)
	}
}
