package daemon

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// fleetKind is one kind of instance in a mixed fleet: an AMI of the demo
// scenario (its package format, architecture and published baseline) and
// the drift its drifted members carry in the matrix.
type fleetKind struct {
	name string
	ami  string // the demo AMI's name
	lt   string // instance type matching the AMI's architecture
	// arches are the architectures package findings may spell: the package
	// format's own names (dpkg amd64/arm64/all, rpm x86_64/aarch64/noarch),
	// never the agent's x86_64 for a dpkg package.
	arches []string
	// drift is what a drifted member carries in the matrix; finding names
	// the findings it gives (a file drift gives one per changed attribute).
	drift   awssim.Drift
	finding string
}

// mixedKinds are the kinds of a real mixed fleet, with the baselines the
// demo AMIs publish through Parameter Store (native JSON for Amazon Linux,
// CycloneDX SBOMs whose purls say amd64/arm64 for Debian and Ubuntu, while
// their agents report x86_64 and arm64).
var mixedKinds = []fleetKind{
	{name: "al2023-x86_64", ami: "al2023-web-2026.11.1", lt: "m7i.large", arches: []string{"x86_64", "noarch"},
		drift:   awssim.Drift{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "openssl-libs", Version: "3.2.2", Release: "1.amzn2023.0.5", Epoch: "1"}},
		finding: "openssl-libs"},
	{name: "al2023-aarch64", ami: "al2023-ingest-arm64-2026.11.1", lt: "m7g.large", arches: []string{"aarch64", "noarch"},
		drift:   awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/ssh/sshd_config", SHA256: "0d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d", Size: 3301}},
		finding: "/etc/ssh/sshd_config"},
	{name: "debian12-amd64", ami: "debian-12-api-2026.11.1", lt: "m7i.large", arches: []string{"amd64", "all"},
		drift:   awssim.Drift{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "libssl3", Version: "9.9.9-1+deb12u9"}},
		finding: "libssl3"},
	{name: "ubuntu-arm64", ami: "ubuntu-2404-edge-arm64-2026.11.1", lt: "c7g.medium", arches: []string{"arm64", "all"},
		drift:   awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nginx-extras", Version: "1.24.0-2ubuntu7.1"}},
		finding: "nginx-extras"},
	{name: "al2-x86_64", ami: "al2-reporting-2026.10.2", lt: "t3.large", arches: []string{"x86_64", "noarch"},
		drift:   awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "chronyd.service"}},
		finding: "chronyd.service"},
}

// memberDrift is one drift on the idx-th member of group g; finding names
// the findings it must give.
type memberDrift struct {
	g, idx  int
	drift   awssim.Drift
	finding string
}

// mixedFleet is a scenario of the demo's AMIs (all but the one without a
// baseline): one Auto Scaling group per entry of kinds (indexes into
// mixedKinds) with size[i] members, all tagged fleet=mixed, and the drifts.
// pkgs > 0 overrides the number of generated packages per AMI (0 keeps the
// demo's 280–420).
type mixedFleet struct {
	kinds  []int
	size   []int
	drifts []memberDrift
	pkgs   int
}

func groupName(i int, k fleetKind) string { return fmt.Sprintf("g%02d-%s", i, k.name) }

// amiSpecs are the demo AMIs the fleet uses, by name.
func (m mixedFleet) amiSpecs() map[string]awssim.AMISpec {
	used := map[string]bool{}
	for _, ki := range m.kinds {
		used[mixedKinds[ki].ami] = true
	}
	out := map[string]awssim.AMISpec{}
	for _, a := range awssim.DemoScenario().AMIs {
		if !used[a.Name] {
			continue
		}
		if m.pkgs > 0 && a.Generate != nil {
			g := *a.Generate
			g.Count = m.pkgs
			a.Generate = &g
		}
		out[a.Name] = a
	}
	return out
}

func (m mixedFleet) scenario() *awssim.Scenario {
	sc := &awssim.Scenario{Name: "mixed"}
	amis := m.amiSpecs()
	for _, a := range awssim.DemoScenario().AMIs { // the demo's order
		if spec, ok := amis[a.Name]; ok {
			sc.AMIs = append(sc.AMIs, spec)
		}
	}
	for i, ki := range m.kinds {
		k := mixedKinds[ki]
		name := groupName(i, k)
		sc.LaunchTemplates = append(sc.LaunchTemplates, awssim.LaunchTemplateIn{Name: name, InstanceType: k.lt, Versions: []string{k.ami}})
		sc.Groups = append(sc.Groups, awssim.ScenarioGroup{GroupSpec: awssim.GroupSpec{Name: name, LaunchTemplateName: name,
			Min: 0, Max: m.size[i] + 2, Desired: m.size[i], TagMap: map[string]string{"fleet": "mixed"}}})
	}
	for _, d := range m.drifts {
		sc.Drifts = append(sc.Drifts, awssim.DriftSpec{Group: groupName(d.g, mixedKinds[m.kinds[d.g]]), Index: d.idx, Drift: d.drift})
	}
	return sc
}

// mixedEnv is one simulated region serving a mixed fleet through both
// inventory sources, and the configuration reading it.
type mixedEnv struct {
	sim   *awssim.Sim
	url   string
	fleet mixedFleet
	cfg   *config.Config // SSM API; s3Config(cfg) for Resource Data Sync
}

func newMixedEnv(t *testing.T, m mixedFleet) *mixedEnv {
	t.Helper()
	// agents re-collect inventory every 30 minutes, as in the demo
	sim, url := startSim(t, awssim.Options{InventoryInterval: 30 * time.Minute})
	ds := sim.EnableResourceDataSync(syncBucket, "inv")
	t.Cleanup(ds.Close)
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "golden", SSMParameter: &config.SSMParameterBaseline{Name: "/driftd/baselines/{ami_id}"}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	blastConfig(c)
	e := &mixedEnv{sim: sim, url: url, fleet: m, cfg: c}
	e.reload(t)
	return e
}

// reload puts the fleet back as the scenario describes it: same ids (the
// simulator's ids come from its seed), no faults.
func (e *mixedEnv) reload(t *testing.T) {
	t.Helper()
	e.sim.ClearFaults()
	must(t, e.sim.LoadScenario(e.fleet.scenario()))
}

func (e *mixedEnv) config(s3, ids bool) *config.Config {
	c := *e.cfg
	if ids {
		c.Selection.Tags = map[string][]string{"fleet": {"mixed"}}
	}
	if s3 {
		return s3Config(&c)
	}
	return &c
}

// scan runs one scan with a fresh daemon (no reused verdicts).
func (e *mixedEnv) scan(t *testing.T, s3, ids bool) *scan.Result {
	t.Helper()
	res, err := newTestApp(t, e.url, e.config(s3, ids)).Scan(context.Background(), nil)
	must(t, err)
	return res
}

// member is the idx-th member of group i.
func (e *mixedEnv) member(t *testing.T, i, idx int) string {
	t.Helper()
	ms := e.sim.GroupMembers(groupName(i, mixedKinds[e.fleet.kinds[i]]))
	if idx >= len(ms) {
		t.Fatalf("group %d has %d members", i, len(ms))
	}
	return ms[idx]
}

// checkReference asserts what an undisturbed scan must say: every drifted
// member drifted with findings on exactly the things its drifts changed
// (package architectures in the package format's names), every other
// member in sync.
func (e *mixedEnv) checkReference(t *testing.T, res *scan.Result, source string) {
	t.Helper()
	v := views(res)
	wantFindings := map[string]map[string]bool{}
	for _, d := range e.fleet.drifts {
		id := e.member(t, d.g, d.idx)
		if wantFindings[id] == nil {
			wantFindings[id] = map[string]bool{}
		}
		wantFindings[id][d.finding] = true
	}
	n := 0
	for i, ki := range e.fleet.kinds {
		k := mixedKinds[ki]
		for idx := range e.fleet.size[i] {
			n++
			id := e.member(t, i, idx)
			r := v[id]
			want := wantFindings[id]
			if want == nil {
				if r.Verdict != drift.VerdictInSync {
					t.Fatalf("%s: pristine %s member %s: %s with %d findings, first %+v (reasons %v)", source, k.name, id, r.Verdict, len(r.Findings), first(r.Findings), byID(res)[id].Reasons)
				}
				continue
			}
			got := map[string]bool{}
			archOK := true
			for _, f := range r.Findings {
				got[f.Name] = true
				if f.Category == drift.CategoryPackage && !slices.Contains(k.arches, f.Arch) {
					archOK = false
				}
			}
			if r.Verdict != drift.VerdictDrifted || !reflect.DeepEqual(got, want) || !archOK {
				t.Fatalf("%s: drifted %s member %s: %s with findings %+v, want findings on %v (package arches %v)", source, k.name, id, r.Verdict, r.Findings, want, k.arches)
			}
		}
	}
	if len(v) != n {
		t.Fatalf("%s: %d instances judged, want %d", source, len(v), n)
	}
}

func sourceName(s3 bool) string {
	if s3 {
		return "datasync"
	}
	return "ssm"
}

// TestBlastRadiusMatrix injects every per-instance fault (blastFaults) into
// one instance of a mixed fleet — Amazon Linux 2023 x86_64 and aarch64
// (rpm, native baselines), Debian 12 amd64 and Ubuntu 24.04 arm64 (dpkg,
// CycloneDX SBOM baselines; the agent reports Debian's amd64 as x86_64),
// Amazon Linux 2 x86_64 — reading inventory through the SSM API and through
// Resource Data Sync. The faulted instance rotates through the kinds and
// alternates between a drifted and a pristine member. Every other
// instance's verdict, severity and findings equal the undisturbed scan's;
// the faulted one is unknown with the fault's reason, never drifted.
//
// The undisturbed scans also prove that pristine Debian (SBOM amd64 against
// the agent's x86_64) and arm64 members are in sync and that drift findings
// spell the package format's architectures. Each group has a pristine and
// a drifted member; the AMIs keep the demo's baselines (format,
// architecture, Parameter Store → S3 publication) with 60 generated
// packages (two ListInventoryEntries pages) to keep the 140 scans fast.
func TestBlastRadiusMatrix(t *testing.T) {
	start := time.Now()
	m := mixedFleet{kinds: []int{0, 1, 2, 3, 4}, size: []int{2, 2, 2, 2, 2}, pkgs: 60}
	for g, k := range mixedKinds {
		m.drifts = append(m.drifts, memberDrift{g: g, idx: 1, drift: k.drift, finding: k.finding})
	}
	e := newMixedEnv(t, m)
	cases := 0
	for _, s3 := range []bool{false, true} {
		source := sourceName(s3)
		ref := e.scan(t, s3, false)
		e.checkReference(t, ref, source)
		want := views(ref)
		for fi, f := range blastFaults() {
			if !f.appliesTo(s3) {
				continue
			}
			for ki, k := range mixedKinds {
				// drifted member (1) or a pristine one (0), alternating
				idx := (fi + ki) % 2
				name := fmt.Sprintf("%s/%s/%s/%s", source, f.name, k.name, map[int]string{0: "pristine", 1: "drifted"}[idx])
				ok := t.Run(name, func(t *testing.T) {
					victim := e.member(t, ki, idx)
					f.setup(t, e.sim, victim)
					judgedLike(t, e.scan(t, s3, f.ids), want, victim, f.reason)
				})
				cases++
				if f.lasting || !ok {
					e.reload(t)
				} else {
					e.sim.ClearFaults()
				}
			}
		}
	}
	t.Logf("%d cases (faults x kinds x sources) in %v", cases, time.Since(start).Round(time.Millisecond))
}
