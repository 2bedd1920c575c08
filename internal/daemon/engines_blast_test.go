package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

// remediationFault makes one instance unknown in a scan (a subset of the
// per-instance faults of the blast tests (blast_test.go), one per collector
// step; TestBlastRadiusMatrix there proves each ends as unknown).
type remediationFault struct {
	name string
	// source: "" both inventory sources, "ssm" the SSM API only, "s3"
	// Resource Data Sync only.
	source string
	setup  func(t *testing.T, sim *awssim.Sim, victim string)
}

func faultOn(tmpl awssim.Fault) func(*testing.T, *awssim.Sim, string) {
	return func(t *testing.T, sim *awssim.Sim, victim string) {
		t.Helper()
		f := tmpl
		f.InstanceID = victim
		if _, err := sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
}

func driftOn(d awssim.Drift) func(*testing.T, *awssim.Sim, string) {
	return func(t *testing.T, sim *awssim.Sim, victim string) {
		t.Helper()
		if err := sim.Inject(victim, d); err != nil {
			t.Fatal(err)
		}
	}
}

// remediationFaults leave out faults that really remove the instance (a
// termination): the group then has a member fewer, which rightly blocks
// replacements (group_unhealthy).
var remediationFaults = []remediationFault{
	{name: "agent never registered", setup: driftOn(awssim.Drift{Action: awssim.DriftUnregister})},
	{name: "agent offline", setup: driftOn(awssim.Drift{Action: awssim.DriftAgentOff})},
	{name: "ListInventoryEntries access denied", source: "ssm", setup: faultOn(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", ErrorRate: 1,
		ErrorCode: "AccessDeniedException", ErrorMessage: "User is not authorized to perform: ssm:ListInventoryEntries"})},
	{name: "ListInventoryEntries throttled after retries", source: "ssm", setup: faultOn(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Rate: 0.001, Burst: 1})},
	{name: "bad CaptureTime", source: "ssm", setup: faultOn(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries",
		Patch: map[string]json.RawMessage{"CaptureTime": json.RawMessage(`"yesterday"`)}})},
	{name: "InvalidInstanceId mid-scan", source: "ssm", setup: faultOn(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", ErrorRate: 1,
		ErrorCode: "InvalidInstanceId", ErrorMessage: "Instance Id is not valid or is not registered with Systems Manager."})},
	// The daemon re-reads a data-sync object only when its listing shows a
	// change: the victim drifts further (a package installed), and its
	// changed object cannot be read.
	{name: "data sync object changed, then unavailable", source: "s3", setup: func(t *testing.T, sim *awssim.Sim, victim string) {
		driftOn(awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "late-extra", Version: "1.0", Release: "1"}})(t, sim, victim)
		faultOn(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorStatus: 503})(t, sim, victim)
	}},
}

// remediationFleet: a replace group "web" (Amazon Linux 2023, native
// baseline) and a flag group "api" (Debian 12, CycloneDX SBOM baseline),
// both on demo AMIs published through Parameter Store, with the first
// webDrifted / apiDrifted members drifted.
type remediationFleet struct {
	web, webDrifted, api, apiDrifted int
}

func (f remediationFleet) scenario() *awssim.Scenario {
	sc := &awssim.Scenario{Name: "remediation-blast"}
	for _, a := range awssim.DemoScenario().AMIs {
		if a.Name != "al2023-web-2026.11.1" && a.Name != "debian-12-api-2026.11.1" {
			continue
		}
		g := *a.Generate
		g.Count = 60
		a.Generate = &g
		sc.AMIs = append(sc.AMIs, a)
	}
	sc.LaunchTemplates = []awssim.LaunchTemplateIn{
		{Name: "web", InstanceType: "m7i.large", Versions: []string{"al2023-web-2026.11.1"}},
		{Name: "api", InstanceType: "m7i.large", Versions: []string{"debian-12-api-2026.11.1"}},
	}
	sc.Groups = []awssim.ScenarioGroup{
		{GroupSpec: awssim.GroupSpec{Name: "web", LaunchTemplateName: "web", Min: 1, Max: f.web + 4, Desired: f.web}},
		{GroupSpec: awssim.GroupSpec{Name: "api", LaunchTemplateName: "api", Min: 1, Max: f.api + 4, Desired: f.api}},
	}
	for i := range f.webDrifted {
		sc.Drifts = append(sc.Drifts, awssim.DriftSpec{Group: "web", Index: i, Drift: awssim.Drift{Action: awssim.DriftInstall,
			Package: &awssim.PackageSpec{Name: "nmap-ncat", Version: "7.93", Release: "1.amzn2023.0.1"}}})
	}
	for i := range f.apiDrifted {
		sc.Drifts = append(sc.Drifts, awssim.DriftSpec{Group: "api", Index: i, Drift: awssim.Drift{Action: awssim.DriftRemove,
			Package: &awssim.PackageSpec{Name: "curl"}}})
	}
	return sc
}

// decisions are what one remediation cycle decided, per instance.
type decisions struct {
	actions map[string]remediation.ActionKind // instance → action
	skips   map[string]remediation.SkipReason // instance → reason
	tags    map[string]map[string]string      // instance → tags set (driftd:since left out: it is the scan time)
	health  []string                          // SetInstanceHealth / TerminateInstanceInAutoScalingGroup instance ids
	groups  map[string]remediation.SkipReason // group → blocking reason
	plan    *remediation.PlanResult
}

func decisionsOf(p *remediation.PlanResult, calls []awssim.Call) decisions {
	d := decisions{actions: map[string]remediation.ActionKind{}, skips: map[string]remediation.SkipReason{},
		tags: map[string]map[string]string{}, groups: map[string]remediation.SkipReason{}, plan: p}
	for _, a := range p.Actions {
		ids := a.Covers
		if a.InstanceID != "" {
			ids = []string{a.InstanceID}
		}
		for _, id := range ids {
			d.actions[id] = a.Kind
		}
	}
	for _, s := range p.Skipped {
		d.skips[s.InstanceID] = s.Reason
	}
	for _, tc := range p.Tags {
		set := maps.Clone(tc.Set)
		delete(set, drift.TagSince)
		d.tags[tc.InstanceID] = set
	}
	for _, g := range p.Groups {
		d.groups[g.Name] = g.Blocked
	}
	for _, c := range calls {
		if c.Operation == "SetInstanceHealth" || c.Operation == "TerminateInstanceInAutoScalingGroup" {
			q, _ := url.ParseQuery(c.Params)
			d.health = append(d.health, q.Get("InstanceId"))
		}
	}
	sort.Strings(d.health)
	return d
}

// without returns d without the victim's entries.
func (d decisions) without(victim string) decisions {
	out := decisions{actions: maps.Clone(d.actions), skips: maps.Clone(d.skips), tags: maps.Clone(d.tags), groups: d.groups, plan: d.plan}
	delete(out.actions, victim)
	delete(out.skips, victim)
	delete(out.tags, victim)
	for _, id := range d.health {
		if id != victim {
			out.health = append(out.health, id)
		}
	}
	return out
}

type blastDaemon struct {
	sim *awssim.Sim
	url string
}

func newBlastDaemon(t *testing.T) *blastDaemon {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: 30 * time.Minute})
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ds := sim.EnableResourceDataSync("driftd-inventory", "inv")
	t.Cleanup(ds.Close)
	return &blastDaemon{sim: sim, url: "http://" + srv.Addr()}
}

// run loads the fleet, starts a daemon with both engines (debounce 2),
// scans once undisturbed (the drift is seen for the first time: nothing
// is acted on), breaks the victim (if any) and scans again; it returns the
// second cycle's decisions and the AWS calls made by the second scan.
func (b *blastDaemon) run(t *testing.T, f remediationFleet, rem config.Remediation, s3 bool, victim func() string, fault func(*testing.T, *awssim.Sim, string)) (decisions, string) {
	t.Helper()
	b.sim.ClearFaults()
	if err := b.sim.LoadScenario(f.scenario()); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "golden", SSMParameter: &config.SSMParameterBaseline{Name: "/driftd/baselines/{ami_id}"}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	c.AWS.RetryMode, c.AWS.MaxAttempts, c.AWS.MaxBackoff = "standard", 2, 5*time.Millisecond
	if s3 {
		c.Inventory.InventorySource = config.InventorySource{Source: config.SourceResourceDataSync,
			ResourceDataSync: &config.ResourceDataSync{Bucket: "driftd-inventory", Prefix: "inv", AccountID: "123456789012"}}
	}
	rem.ApplyDefaults()
	c.Remediation = rem
	a, err := New(context.Background(), Options{Config: c, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(b.url)}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := a.AttachEngines(zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = eng.Close(context.Background()) }()
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if p := eng.Remediation.Status().LastPlan; p == nil || len(p.Actions) != 0 {
		t.Fatalf("first scan acted despite debounce: %+v", p)
	}
	id := ""
	if victim != nil {
		id = victim()
		fault(t, b.sim, id)
	}
	b.sim.ResetCalls()
	res, err := a.Scan(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ir := range res.Instances {
		if ir.Report.InstanceID == id && ir.Report.Verdict != "unknown" {
			t.Fatalf("victim %s: %s, want unknown", id, ir.Report.Verdict)
		}
	}
	p := eng.Remediation.Status().LastPlan
	if p == nil {
		t.Fatal("no remediation cycle after the second scan")
	}
	return decisionsOf(p, b.sim.Calls()), id
}

// TestFaultNeverChangesOthersRemediation runs the daemon with its
// remediation engine (driftd run) against the simulated region: a per-
// instance fault on one instance (drifted or in sync, in the replace group
// or the flag group) leaves every other instance's remediation decision —
// action, skip reason, tags, group gates, the SetInstanceHealth calls in
// the awssim call log — exactly as in the undisturbed run, and the faulted
// instance is never replaced nor tagged. Budgets and max_in_flight cover
// every drifted instance, so no instance competes with the victim for a
// slot. Besides a fleet well below the breakers, two fleets sit on the
// drift-share thresholds, where one instance fewer among the known ones
// would open (or shut) a breaker: the engine counts the victim with its
// last known verdict, so it does not.
func TestFaultNeverChangesOthersRemediation(t *testing.T) {
	b := newBlastDaemon(t)
	rem := config.Remediation{DebounceScans: 2, MinSeverity: "low", Groups: []config.RemediationGroup{
		{Match: "web", Mode: "replace", Budget: "3", MaxInFlight: 3},
		{Match: "api", Mode: "flag"},
	}}
	type victim struct {
		name  string
		group string
		idx   int
	}
	drifted, inSync := victim{"replace group, drifted", "web", 0}, victim{"replace group, in sync", "web", 4}
	fleets := []struct {
		name     string
		fleet    remediationFleet
		sources  []bool // data sync?
		victims  []victim
		replaced int // web members replaced by the undisturbed run
		blocked  remediation.SkipReason
	}{
		{name: "below the breakers", fleet: remediationFleet{web: 8, webDrifted: 2, api: 5, apiDrifted: 1}, sources: []bool{false, true},
			victims: []victim{drifted, inSync, {"flag group, drifted", "api", 0}, {"flag group, in sync", "api", 3}}, replaced: 2},
		// web 3 of 5 drifted (60 %): open; without the drifted victim 2 of
		// 4 (50 %) would shut it. Fleet 3 of 10 (30 %): shut.
		{name: "group breaker open by one", fleet: remediationFleet{web: 5, webDrifted: 3, api: 5}, sources: []bool{false},
			victims: []victim{drifted, inSync}, blocked: remediation.SkipGroupBreaker},
		// web 3 of 6 (50 %), fleet 3 of 10 (30 %): shut; without the
		// in-sync victim 3 of 5 and 3 of 9 would open both.
		{name: "breakers shut by one", fleet: remediationFleet{web: 6, webDrifted: 3, api: 4}, sources: []bool{false},
			victims: []victim{drifted, inSync}, replaced: 3},
	}
	for _, fl := range fleets {
		for _, s3 := range fl.sources {
			source := map[bool]string{false: "ssm", true: "datasync"}[s3]
			ref, _ := b.run(t, fl.fleet, rem, s3, nil, nil)
			web, api := b.sim.GroupMembers("web"), b.sim.GroupMembers("api")
			if want := sorted(web[:fl.replaced]); !slices.Equal(ref.health, want) || ref.groups["web"] != fl.blocked {
				t.Fatalf("%s, %s: undisturbed run replaced %v (web gate %q), want %v (%q); plan %+v", fl.name, source, ref.health, ref.groups["web"], want, fl.blocked, ref.plan)
			}
			if fl.fleet.apiDrifted > 0 && (ref.skips[api[0]] != remediation.SkipModeFlag || ref.tags[api[0]][drift.TagStatus] != "drifted") {
				t.Fatalf("%s, %s: undisturbed run: api drifted member skip %q tags %v", fl.name, source, ref.skips[api[0]], ref.tags[api[0]])
			}
			for _, f := range remediationFaults {
				if f.source != "" && (f.source == "s3") != s3 {
					continue
				}
				for _, v := range fl.victims {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", fl.name, source, f.name, v.name), func(t *testing.T) {
						got, victim := b.run(t, fl.fleet, rem, s3, func() string { return b.sim.GroupMembers(v.group)[v.idx] }, f.setup)
						if _, ok := got.actions[victim]; ok || slices.Contains(got.health, victim) {
							t.Errorf("unknown victim %s acted on: actions %v, calls %v", victim, got.actions, got.health)
						}
						if _, ok := got.tags[victim]; ok {
							t.Errorf("unknown victim %s tagged: %v", victim, got.tags[victim])
						}
						want := ref.without(victim)
						got = got.without(victim)
						if !reflect.DeepEqual(got.actions, want.actions) || !slices.Equal(got.health, want.health) {
							t.Errorf("actions %v (calls %v), want %v (calls %v)", got.actions, got.health, want.actions, want.health)
						}
						if !reflect.DeepEqual(got.skips, want.skips) {
							t.Errorf("skips %v, want %v", got.skips, want.skips)
						}
						if !reflect.DeepEqual(got.tags, want.tags) {
							t.Errorf("tags %v, want %v", got.tags, want.tags)
						}
						if !reflect.DeepEqual(got.groups, want.groups) {
							t.Errorf("group gates %v, want %v", got.groups, want.groups)
						}
					})
				}
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
