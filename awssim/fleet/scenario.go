package fleet

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario describes a fleet to load: AMIs with their baseline content,
// launch templates, Auto Scaling groups, standalone instances, drifts to
// apply and Parameter Store values.
type Scenario struct {
	Name            string             `json:"name,omitempty" yaml:"name,omitempty"`
	AMIs            []AMISpec          `json:"amis" yaml:"amis"`
	LaunchTemplates []LaunchTemplateIn `json:"launchTemplates,omitempty" yaml:"launchTemplates,omitempty"`
	Groups          []ScenarioGroup    `json:"groups,omitempty" yaml:"groups,omitempty"`
	Instances       []InstanceSpec     `json:"instances,omitempty" yaml:"instances,omitempty"`
	Drifts          []DriftSpec        `json:"drifts,omitempty" yaml:"drifts,omitempty"`
	Parameters      map[string]string  `json:"parameters,omitempty" yaml:"parameters,omitempty"`
}

// LaunchTemplateIn describes a launch template; Versions are AMI names or ids
// (version N launches Versions[N-1]).
type LaunchTemplateIn struct {
	Name           string   `json:"name" yaml:"name"`
	InstanceType   string   `json:"instanceType,omitempty" yaml:"instanceType,omitempty"`
	Versions       []string `json:"versions" yaml:"versions"`
	DefaultVersion int      `json:"defaultVersion,omitempty" yaml:"defaultVersion,omitempty"` // default: the last
}

// ScenarioGroup is a GroupSpec plus how long ago its members launched.
type ScenarioGroup struct {
	GroupSpec `json:",inline" yaml:",inline"`
	Age       time.Duration `json:"age,omitempty" yaml:"age,omitempty"` // default 24h
}

// InstanceSpec describes standalone instances.
type InstanceSpec struct {
	Name         string            `json:"name" yaml:"name"` // Name tag
	AMI          string            `json:"ami" yaml:"ami"`   // AMI name or id
	Count        int               `json:"count,omitempty" yaml:"count,omitempty"`
	InstanceType string            `json:"instanceType,omitempty" yaml:"instanceType,omitempty"`
	Tags         map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Age          time.Duration     `json:"age,omitempty" yaml:"age,omitempty"`
	NoAgent      bool              `json:"noAgent,omitempty" yaml:"noAgent,omitempty"` // not an SSM managed node
}

// DriftSpec selects an instance (Group+Index, Name tag, or Instance id) and
// the drift to apply.
type DriftSpec struct {
	Group    string `json:"group,omitempty" yaml:"group,omitempty"`
	Index    int    `json:"index,omitempty" yaml:"index,omitempty"`
	Name     string `json:"name,omitempty" yaml:"name,omitempty"`
	Instance string `json:"instance,omitempty" yaml:"instance,omitempty"`
	Drift    `json:",inline" yaml:",inline"`
}

// ParseScenario decodes a YAML or JSON scenario strictly (unknown keys are errors).
func ParseScenario(data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return &sc, nil
}

// Reset empties the fleet (AMIs, launch templates, groups, instances).
func (f *Fleet) Reset() {
	f.mu.Lock()
	f.resetLocked()
	f.mu.Unlock()
}

// LoadScenario replaces the fleet with the scenario's; the AMIs'
// baselines and the scenario's parameters go to the Publisher.
func (f *Fleet) LoadScenario(sc *Scenario) error {
	if sc == nil {
		return fmt.Errorf("scenario is nil")
	}
	f.Reset()
	amis := map[string]string{} // name or id → id
	for i, a := range sc.AMIs {
		id, err := f.AddAMI(a)
		if err != nil {
			return fmt.Errorf("amis[%d]: %w", i, err)
		}
		amis[id] = id
		amis[a.Name] = id
	}
	ref := func(r string) (string, error) {
		if id, ok := amis[r]; ok {
			return id, nil
		}
		return "", fmt.Errorf("AMI %q is not defined in the scenario", r)
	}
	for i, lt := range sc.LaunchTemplates {
		if len(lt.Versions) == 0 {
			return fmt.Errorf("launchTemplates[%d] (%s): versions must list at least one AMI", i, lt.Name)
		}
		var ids []string
		for _, v := range lt.Versions {
			id, err := ref(v)
			if err != nil {
				return fmt.Errorf("launchTemplates[%d] (%s): %w", i, lt.Name, err)
			}
			if err := f.checkArch(lt.InstanceType, id); err != nil {
				return fmt.Errorf("launchTemplates[%d] (%s): %w", i, lt.Name, err)
			}
			ids = append(ids, id)
		}
		if _, err := f.AddLaunchTemplate(lt.Name, lt.InstanceType, ids...); err != nil {
			return fmt.Errorf("launchTemplates[%d]: %w", i, err)
		}
		if lt.DefaultVersion != 0 {
			f.mu.Lock()
			l := f.ltByName[lt.Name]
			if lt.DefaultVersion < 1 || lt.DefaultVersion > len(l.Versions) {
				f.mu.Unlock()
				return fmt.Errorf("launchTemplates[%d] (%s): defaultVersion %d out of range", i, lt.Name, lt.DefaultVersion)
			}
			l.DefaultVersion = lt.DefaultVersion
			f.mu.Unlock()
		}
	}
	groupIDs := map[string][]string{}
	for i, g := range sc.Groups {
		age := g.Age
		if age <= 0 {
			age = 24 * time.Hour
		}
		ids, err := f.AddGroup(g.GroupSpec, age)
		if err != nil {
			return fmt.Errorf("groups[%d]: %w", i, err)
		}
		groupIDs[g.Name] = ids
	}
	names := map[string][]string{}
	for i, is := range sc.Instances {
		id, err := ref(is.AMI)
		if err != nil {
			return fmt.Errorf("instances[%d] (%s): %w", i, is.Name, err)
		}
		if err := f.checkArch(is.InstanceType, id); err != nil {
			return fmt.Errorf("instances[%d] (%s): %w", i, is.Name, err)
		}
		n := is.Count
		if n <= 0 {
			n = 1
		}
		tags := map[string]string{}
		for k, v := range is.Tags {
			tags[k] = v
		}
		if is.Name != "" {
			tags["Name"] = is.Name
		}
		age := is.Age
		if age <= 0 {
			age = 24 * time.Hour
		}
		ids, err := f.AddInstances(id, is.InstanceType, n, tags, age)
		if err != nil {
			return fmt.Errorf("instances[%d] (%s): %w", i, is.Name, err)
		}
		if is.NoAgent {
			f.mu.Lock()
			for _, x := range ids {
				f.instances[x].Managed = false
			}
			f.mu.Unlock()
		}
		names[is.Name] = append(names[is.Name], ids...)
	}
	for i, d := range sc.Drifts {
		var id string
		switch {
		case d.Instance != "":
			id = d.Instance
		case d.Group != "":
			ids := groupIDs[d.Group]
			if d.Index < 0 || d.Index >= len(ids) {
				return fmt.Errorf("drifts[%d]: group %q has no member %d", i, d.Group, d.Index)
			}
			id = ids[d.Index]
		case d.Name != "":
			ids := names[d.Name]
			if d.Index < 0 || d.Index >= len(ids) {
				return fmt.Errorf("drifts[%d]: no instance %q #%d", i, d.Name, d.Index)
			}
			id = ids[d.Index]
		default:
			return fmt.Errorf("drifts[%d]: select an instance with group+index, name or instance", i)
		}
		if err := f.Inject(id, d.Drift); err != nil {
			return fmt.Errorf("drifts[%d]: %w", i, err)
		}
	}
	if len(sc.Parameters) > 0 && f.pub == nil {
		return fmt.Errorf("parameters: the fleet has no Publisher to put them to")
	}
	for k, v := range sc.Parameters {
		f.pub.PutParameter(k, v)
	}
	return nil
}

// checkArch refuses an instance type that cannot run the AMI's
// architecture, as EC2 refuses to launch an arm64 image on an x86_64
// instance type or the reverse.
func (f *Fleet) checkArch(instanceType, amiID string) error {
	it := instanceTypeArch(instanceType)
	if it == "" {
		return nil
	}
	f.mu.RLock()
	a := f.amis[amiID]
	f.mu.RUnlock()
	if a == nil {
		return nil
	}
	aa := a.Architecture
	if aa == "i386" {
		aa = "x86_64" // 32-bit images run on x86_64 instance types
	}
	if aa != it {
		return fmt.Errorf("instance type %s runs %s, AMI %s (%s) is %s", instanceType, it, a.Name, a.ID, a.Architecture)
	}
	return nil
}

// instanceTypeArch is the architecture an EC2 instance type runs: arm64 for
// AWS Graviton (a1, and a "g" among the attributes after the generation
// digit: t4g, m7g, c7gn, r8gd, im4gn, g5g), x86_64 for the others; "" for
// an empty type.
func instanceTypeArch(t string) string {
	if t == "" {
		return ""
	}
	family, _, _ := strings.Cut(t, ".")
	if family == "a1" {
		return "arm64"
	}
	i := strings.IndexAny(family, "0123456789")
	if i < 0 {
		return "x86_64"
	}
	for i < len(family) && family[i] >= '0' && family[i] <= '9' {
		i++
	}
	attrs, _, _ := strings.Cut(family[i:], "-")
	if strings.Contains(attrs, "g") {
		return "arm64"
	}
	return "x86_64"
}

var demoFiles = []FileSpec{
	{Path: "/etc/ssh/sshd_config", SHA256: "6b0f1bd2a0e9d8f39d27c4b6c3bfcd7c2b18c2b8f2f6a4c61bd0b4f0ad5b0b3e", Size: 3264},
	{Path: "/etc/sudoers", SHA256: "2c1a1b8f3f1e0c2d1d7f9a3c6e4b5a8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a", Size: 4328},
	{Path: "/etc/chrony.conf", SHA256: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0", Size: 1089},
}

var demoServices = []ServiceSpec{{Name: "sshd.service"}, {Name: "chronyd.service"}, {Name: "amazon-ssm-agent.service"}, {Name: "nginx.service"}}

// DemoScenario is a small, realistic fleet of 38 instances on six AMIs:
//
//   - Auto Scaling groups web (12) and worker (6) on Amazon Linux 2023
//     x86_64, api (10) on Debian 12 amd64, ingest (4) on Amazon Linux 2023
//     arm64 (Graviton) and edge (3) on Ubuntu 24.04 arm64 (Graviton);
//   - standalone legacy-batch (an AMI without a published baseline), bastion
//     (Debian 12) and reporting (Amazon Linux 2 x86_64);
//   - a few drifted instances, one with stale inventory and one with its
//     agent offline.
//
// Baselines are published to Parameter Store under /driftd/baselines/<ami-id>
// (an s3:// pointer when too large for a parameter): driftd native manifests
// for the Amazon Linux AMIs, CycloneDX SBOMs for Debian and Ubuntu, whose
// purls say amd64 and arm64 as dpkg does while the SSM agent reports the
// same packages as x86_64 and arm64.
func DemoScenario() *Scenario {
	created := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	return &Scenario{
		Name: "demo",
		AMIs: []AMISpec{
			{ID: "ami-0a1b2c3d4e5f60001", Name: "al2023-web-2026.11.1", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2023",
				Created: created, Generate: &GenerateSpec{Count: 420, Seed: 7, Format: "rpm"}, Files: demoFiles, Services: demoServices,
				Tags:              map[string]string{"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/al2023-web/2026.11.1/1", "os": "al2023"},
				ManifestParameter: "/driftd/baselines/{ami}"},
			{ID: "ami-0a1b2c3d4e5f60002", Name: "debian-12-api-2026.11.1", Format: "deb", PlatformName: "Debian GNU/Linux", PlatformVersion: "12",
				Created: created.Add(2 * time.Hour), Generate: &GenerateSpec{Count: 310, Seed: 12, Format: "deb"}, Files: demoFiles, Services: demoServices[:3],
				Tags:              map[string]string{"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/debian-12-api/2026.11.1/1", "os": "debian12"},
				ManifestParameter: "/driftd/baselines/{ami}", ManifestFormat: ManifestCycloneDX},
			{ID: "ami-0a1b2c3d4e5f60003", Name: "al2023-batch-2026.09.3", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2023",
				Created: created.Add(-60 * 24 * time.Hour), Generate: &GenerateSpec{Count: 380, Seed: 3, Format: "rpm"}, Services: demoServices[:3],
				Tags: map[string]string{"os": "al2023"}},
			{ID: "ami-0a1b2c3d4e5f60004", Name: "al2023-ingest-arm64-2026.11.1", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2023",
				Architecture: "arm64", Created: created.Add(3 * time.Hour), Generate: &GenerateSpec{Count: 360, Seed: 21, Format: "rpm"},
				Files: demoFiles, Services: demoServices[:3], Tags: map[string]string{"os": "al2023"},
				ManifestParameter: "/driftd/baselines/{ami}"},
			{ID: "ami-0a1b2c3d4e5f60005", Name: "ubuntu-2404-edge-arm64-2026.11.1", Format: "deb", PlatformName: "Ubuntu", PlatformVersion: "24.04",
				Architecture: "arm64", Created: created.Add(4 * time.Hour), Generate: &GenerateSpec{Count: 280, Seed: 24, Format: "deb", Dist: "ubuntu"},
				Services: demoServices[:3], Tags: map[string]string{"os": "ubuntu2404"},
				ManifestParameter: "/driftd/baselines/{ami}", ManifestFormat: ManifestCycloneDX},
			{ID: "ami-0a1b2c3d4e5f60006", Name: "al2-reporting-2026.10.2", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2",
				Created: created.Add(-20 * 24 * time.Hour), Generate: &GenerateSpec{Count: 300, Seed: 5, Format: "rpm", Dist: "amzn2"},
				Services: demoServices[:3], Tags: map[string]string{"os": "al2"},
				ManifestParameter: "/driftd/baselines/{ami}"},
			{ID: "ami-0a1b2c3d4e5f60007", Name: "windows-2022-iis-2026.11.1", Format: FormatWindows,
				Created: created.Add(5 * time.Hour), Packages: demoWindowsApps, Updates: demoWindowsUpdates,
				WindowsServices: demoWindowsServices, Roles: demoWindowsRoles,
				Tags:              map[string]string{"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/windows-2022-iis/2026.11.1/1", "os": "windows2022"},
				ManifestParameter: "/driftd/baselines/{ami}"},
		},
		LaunchTemplates: []LaunchTemplateIn{
			{Name: "web", InstanceType: "m7i.large", Versions: []string{"al2023-web-2026.11.1"}},
			{Name: "api", InstanceType: "m7i.large", Versions: []string{"debian-12-api-2026.11.1"}},
			{Name: "worker", InstanceType: "c7i.xlarge", Versions: []string{"al2023-web-2026.11.1"}},
			{Name: "ingest", InstanceType: "m7g.large", Versions: []string{"al2023-ingest-arm64-2026.11.1"}},
			{Name: "edge", InstanceType: "c7g.medium", Versions: []string{"ubuntu-2404-edge-arm64-2026.11.1"}},
			{Name: "iis", InstanceType: "m7i.large", Versions: []string{"windows-2022-iis-2026.11.1"}},
		},
		Groups: []ScenarioGroup{
			{GroupSpec: GroupSpec{Name: "web", LaunchTemplateName: "web", Min: 2, Max: 20, Desired: 12, Grace: 300,
				TagMap: map[string]string{"team": "storefront", "driftd:remediation": "flag"}}},
			{GroupSpec: GroupSpec{Name: "api", LaunchTemplateName: "api", Min: 2, Max: 20, Desired: 10, Grace: 300,
				TagMap: map[string]string{"team": "payments"}}},
			{GroupSpec: GroupSpec{Name: "worker", LaunchTemplateName: "worker", Min: 1, Max: 10, Desired: 6, Grace: 120,
				TagMap: map[string]string{"team": "data", "driftd:remediation": "replace"},
				Hooks:  []HookSpec{{Name: "drain", Transition: "terminating", Timeout: 2 * time.Minute}}}},
			{GroupSpec: GroupSpec{Name: "ingest", LaunchTemplateName: "ingest", Min: 1, Max: 8, Desired: 4, Grace: 120,
				TagMap: map[string]string{"team": "data"}}},
			{GroupSpec: GroupSpec{Name: "edge", LaunchTemplateName: "edge", Min: 1, Max: 6, Desired: 3, Grace: 120,
				TagMap: map[string]string{"team": "platform"}}},
			{GroupSpec: GroupSpec{Name: "iis", LaunchTemplateName: "iis", Min: 1, Max: 8, Desired: 4, Grace: 600,
				TagMap: map[string]string{"team": "storefront"}}},
		},
		Instances: []InstanceSpec{
			{Name: "legacy-batch", AMI: "al2023-batch-2026.09.3", InstanceType: "t3.medium", Tags: map[string]string{"team": "data"}, Age: 30 * 24 * time.Hour},
			{Name: "bastion", AMI: "debian-12-api-2026.11.1", InstanceType: "t3.small", Tags: map[string]string{"team": "platform"}},
			{Name: "reporting", AMI: "al2-reporting-2026.10.2", InstanceType: "t3.large", Tags: map[string]string{"team": "finance"}, Age: 10 * 24 * time.Hour},
		},
		Drifts: []DriftSpec{
			{Group: "web", Index: 0, Drift: Drift{Action: DriftInstall, Package: &PackageSpec{Name: "nmap-ncat", Version: "7.93", Release: "1.amzn2023.0.1"}}},
			{Group: "web", Index: 1, Drift: Drift{Action: DriftUpgrade, Package: &PackageSpec{Name: "openssl-libs", Version: "3.2.2", Release: "1.amzn2023.0.5", Epoch: "1"}}},
			{Group: "web", Index: 5, Drift: Drift{Action: DriftStale, Age: 72 * time.Hour}},
			{Group: "api", Index: 2, Drift: Drift{Action: DriftUpgrade, Package: &PackageSpec{Name: "libssl3", Version: "3.0.15-1~deb12u1"}}},
			{Group: "api", Index: 3, Drift: Drift{Action: DriftRemove, Package: &PackageSpec{Name: "curl"}}},
			{Group: "api", Index: 7, Drift: Drift{Action: DriftAgentOff}},
			{Group: "worker", Index: 0, Drift: Drift{Action: DriftStopService, Service: &ServiceSpec{Name: "chronyd.service"}}},
			{Group: "ingest", Index: 1, Drift: Drift{Action: DriftFile, File: &FileSpec{Path: "/etc/ssh/sshd_config", SHA256: "0d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d", Size: 3301}}},
			{Group: "edge", Index: 2, Drift: Drift{Action: DriftInstall, Package: &PackageSpec{Name: "nginx-extras", Version: "1.24.0-2ubuntu7.1"}}},
			{Group: "iis", Index: 1, Drift: Drift{Action: DriftInstallUpdate, Update: &UpdateSpec{HotFixID: "KB5035857", Description: "Security Update"}}},
			{Group: "iis", Index: 2, Drift: Drift{Action: DriftUpgrade, Package: &PackageSpec{Name: "Contoso Line-of-Business Agent", Version: "10.0.19041.2", Arch: "x64"}}},
			{Group: "iis", Index: 3, Drift: Drift{Action: DriftDisableService, Service: &ServiceSpec{Name: "W3SVC"}}},
		},
		Parameters: map[string]string{"/driftd/kill-switch": "off"},
	}
}

// GenerateFleet returns a benchmark scenario: amis AMIs with
// packagesPerInstance generated packages each, one launch template and one
// Auto Scaling group per AMI, instances spread evenly across the groups, and
// every 100th instance drifted (one extra package).
func GenerateFleet(instances, packagesPerInstance, amis int, seed uint64) *Scenario {
	if amis < 1 {
		amis = 1
	}
	sc := &Scenario{Name: fmt.Sprintf("generated-%d", instances)}
	for a := range amis {
		format := "rpm"
		if a%2 == 1 {
			format = "deb"
		}
		name := fmt.Sprintf("gen-%s-%02d", map[string]string{"rpm": "al2023", "deb": "debian12"}[format], a)
		sc.AMIs = append(sc.AMIs, AMISpec{Name: name, Format: format,
			Generate: &GenerateSpec{Count: packagesPerInstance, Seed: seed + uint64(a), Format: format},
			Services: demoServices[:2], Files: demoFiles[:2], ManifestParameter: "/driftd/baselines/{ami}"})
		sc.LaunchTemplates = append(sc.LaunchTemplates, LaunchTemplateIn{Name: "lt-" + name, InstanceType: "m7i.large", Versions: []string{name}})
	}
	per, extra := instances/amis, instances%amis
	for a := range amis {
		n := per
		if a < extra {
			n++
		}
		gname := fmt.Sprintf("fleet-%02d", a)
		sc.Groups = append(sc.Groups, ScenarioGroup{GroupSpec: GroupSpec{Name: gname, LaunchTemplateName: "lt-" + sc.AMIs[a].Name,
			Min: 0, Max: max(n, 1), Desired: n, TagMap: map[string]string{"fleet": "generated"}}})
		for i := 0; i < n; i += 100 {
			pkg := "drift-extra"
			if packagesPerInstance == 0 {
				continue
			}
			ver := "1.0"
			if strings.HasPrefix(sc.AMIs[a].Name, "gen-debian") {
				ver = "1.0-1"
			}
			sc.Drifts = append(sc.Drifts, DriftSpec{Group: gname, Index: i, Drift: Drift{Action: DriftInstall, Package: &PackageSpec{Name: pkg, Version: ver, Release: "1"}}})
		}
	}
	return sc
}
