package baselines

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

var captureTypes = []string{drift.TypeApplication, drift.TypeFileDigest, drift.TypeSystemdUnit}

// snapshotOf collects an instance's inventory the way the daemon does.
func snapshotOf(ctx context.Context, t *testing.T, e *testEnv, id, ami string) *drift.Snapshot {
	t.Helper()
	inv := &collectors.Inventory{SSM: e.ssm}
	var tds []*collectors.TypeData
	for _, typ := range captureTypes {
		td, err := inv.First(ctx, id, typ)
		if err == nil {
			err = inv.Rest(ctx, id, td)
		}
		if err != nil {
			t.Fatal(err)
		}
		tds = append(tds, td)
	}
	return collectors.BuildSnapshot(collectors.Instance{ID: id, AMI: ami}, tds, drift.FormatGeneric)
}

func TestCaptureRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	ami, err := e.sim.AddAMI(awssim.AMISpec{
		Name: "web-base-2026-05", PlatformName: "Amazon Linux", PlatformVersion: "2023",
		Generate: &awssim.GenerateSpec{Count: 180, Seed: 7, Format: "rpm"}, // > 3 pages of ListInventoryEntries
		Packages: []awssim.PackageSpec{{Name: "golden-tool", Version: "5.2.15", Release: "1.amzn2023", Arch: "x86_64"}},
		Files:    []awssim.FileSpec{{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("ab", 32), Size: 3512}},
		Services: []awssim.ServiceSpec{{Name: "sshd.service"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.sim.AddInstances(ami, "t3.micro", 3, map[string]string{"Name": "canary"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	canary, clean, drifted := ids[0], ids[1], ids[2]
	// The canary carries an instance-specific package the bake pipeline
	// installs for the capture only; --exclude drops it.
	if err := e.sim.Inject(canary, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "canary-probe", Version: "0.3", Release: "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Inject(drifted, awssim.Drift{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "golden-tool", Version: "5.2.26", Release: "1.amzn2023"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 2, 9, 30, 0, 0, time.UTC)
	res, err := Capture(ctx, ec2.NewFromConfig(e.cfg), e.ssm, CaptureOptions{InstanceID: canary, Types: captureTypes,
		Exclude: []string{"package:canary-*"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if m.AMI != ami || m.Name != "web-base-2026-05" || m.OSFamily != "amzn" || m.PackageFormat != drift.FormatRPM {
		t.Errorf("manifest header: ami %s name %q os %q format %q", m.AMI, m.Name, m.OSFamily, m.PackageFormat)
	}
	prov := m.Provenance
	if prov["captured_from"] != canary || prov["capture_time"] != "2026-05-02T09:30:00Z" || prov["agent_version"] == "" ||
		prov["inventory_capture_time.AWS:Application"] == "" || prov["instance_name"] != "canary" ||
		prov["excluded"] != "package=1 (package:canary-*)" {
		t.Errorf("provenance: %v", prov)
	}
	if res.Excluded[drift.CategoryPackage] != 1 || len(m.Packages) != 181 || len(m.Files) != 1 || len(m.Services) != 1 {
		t.Errorf("captured %d packages, %d files, %d services, excluded %v", len(m.Packages), len(m.Files), len(m.Services), res.Excluded)
	}

	// Store it (native YAML) and load it back the way a source does.
	doc, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.S3().PutObject(bucket, "m/"+ami+".yaml", doc)
	loaded, _, err := s3Src(e).Resolve(ctx, collectors.AMIInfo{ID: ami})
	if err != nil {
		t.Fatal(err)
	}
	pol := &drift.Policy{}
	if r := drift.Compare(loaded, snapshotOf(ctx, t, e, clean, ami), pol); r.Verdict != drift.VerdictInSync {
		t.Errorf("clean instance: %s %+v", r.Verdict, r.Findings)
	}
	r := drift.Compare(loaded, snapshotOf(ctx, t, e, drifted, ami), pol)
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 {
		t.Fatalf("drifted instance: %s %+v", r.Verdict, r.Findings)
	}
	if f := r.Findings[0]; f.Name != "golden-tool" || f.Change != drift.ChangeChanged || f.Direction != drift.DirectionUpgrade ||
		f.Expected != "5.2.15-1.amzn2023" || f.Observed != "5.2.26-1.amzn2023" {
		t.Errorf("finding: %+v", f)
	}
	// The canary itself compares in sync except for the excluded probe.
	r = drift.Compare(loaded, snapshotOf(ctx, t, e, canary, ami), pol)
	if len(r.Findings) != 1 || r.Findings[0].Name != "canary-probe" || r.Findings[0].Change != drift.ChangeAdded {
		t.Errorf("canary: %+v", r.Findings)
	}
}

func TestCaptureErrors(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	ec2c := ec2.NewFromConfig(e.cfg)
	ami, _ := e.sim.AddAMI(awssim.AMISpec{Name: "x", Generate: &awssim.GenerateSpec{Count: 3, Seed: 1, Format: "rpm"}})
	ids, _ := e.sim.AddInstances(ami, "t3.micro", 1, nil, time.Hour)
	tests := []struct {
		name string
		o    CaptureOptions
		want string
	}{
		{"no id", CaptureOptions{}, "capture: an instance id is required"},
		{"no packages type", CaptureOptions{InstanceID: ids[0], Types: []string{drift.TypeFileDigest}},
			"capture: --types must include AWS:Application (a baseline without packages is not usable)"},
		{"bad glob", CaptureOptions{InstanceID: ids[0], Exclude: []string{"package:[x"}}, `--exclude "package:[x": bad glob`},
		{"everything excluded", CaptureOptions{InstanceID: ids[0], Exclude: []string{"*"}},
			"capture " + ids[0] + ": no packages left (inventory empty or everything excluded)"},
		{"unknown instance", CaptureOptions{InstanceID: "i-0123456789abcdef0"}, "capture i-0123456789abcdef0: DescribeInstances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Capture(ctx, ec2c, e.ssm, tt.o)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// Capturing a clean Windows instance reads its platform's types by default
// (applications with publisher and architecture, KBs, services, installed
// roles), and the captured baseline judges its siblings: the clean one in
// sync, one with a KB added drifted.
func TestCaptureWindows(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	ami, err := e.sim.AddAMI(awssim.AMISpec{
		Name: "windows-2022-iis-2026.11.1", Format: awssim.FormatWindows,
		Packages: []awssim.PackageSpec{
			{Name: "Amazon SSM Agent", Publisher: "Amazon Web Services", Version: "3.3.1142.0"},
			{Name: "AWS Tools for Windows", Publisher: "Amazon Web Services Developer Relations", Version: "4.1.588.0", Arch: "x86"},
			{Name: "Contoso Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1"},
			{Name: "Contoso Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1", Arch: "x86"},
		},
		Updates:         []awssim.UpdateSpec{{HotFixID: "KB5034439", Description: "Security Update"}, {HotFixID: "KB5034129"}},
		WindowsServices: []awssim.WindowsServiceSpec{{Name: "W3SVC"}, {Name: "Spooler", Status: "Stopped", StartType: "Disabled"}},
		Roles:           []awssim.RoleSpec{{Name: "Web-Server", FeatureType: "Role"}, {Name: "Telnet-Client", Available: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.sim.AddInstances(ami, "m6i.large", 3, map[string]string{"Name": "iis-canary"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	canary, clean, drifted := ids[0], ids[1], ids[2]
	if err := e.sim.Inject(drifted, awssim.Drift{Action: awssim.DriftInstallUpdate, Update: &awssim.UpdateSpec{HotFixID: "KB5035857"}}); err != nil {
		t.Fatal(err)
	}
	res, err := Capture(ctx, ec2.NewFromConfig(e.cfg), e.ssm, CaptureOptions{InstanceID: canary})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if m.OSFamily != drift.OSFamilyWindows || m.PackageFormat != drift.FormatWindows || len(res.Warnings) != 0 {
		t.Errorf("os %q format %q warnings %v", m.OSFamily, m.PackageFormat, res.Warnings)
	}
	if got := m.Provenance["types"]; got != "AWS:Application,AWS:WindowsUpdate,AWS:Service,AWS:WindowsRole" {
		t.Errorf("types %q", got)
	}
	if len(m.Packages) != 4 || len(m.Updates) != 2 || len(m.Services) != 2 || len(m.Roles) != 1 || m.Roles[0].Name != "Web-Server" {
		t.Errorf("captured %d packages, %d updates, %d services, roles %+v", len(m.Packages), len(m.Updates), len(m.Services), m.Roles)
	}
	for _, p := range m.Packages {
		if p.Publisher == "" || (p.Arch != "x86_64" && p.Arch != "i386") {
			t.Errorf("package %+v", p)
		}
	}
	doc, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := manifest.Decode(ami+".yaml", doc, manifest.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	snap := func(id string) *drift.Snapshot {
		inst := collectors.Instance{ID: id, AMI: ami, Agent: &collectors.Agent{PlatformType: drift.PlatformWindows}}
		inv := &collectors.Inventory{SSM: e.ssm}
		var tds []*collectors.TypeData
		for _, typ := range WindowsCaptureTypes {
			td, err := inv.First(ctx, id, typ)
			if err == nil {
				err = inv.Rest(ctx, id, td)
			}
			if err != nil {
				t.Fatal(err)
			}
			tds = append(tds, td)
		}
		return collectors.BuildSnapshot(inst, tds, drift.FormatGeneric)
	}
	if r := drift.Compare(loaded, snap(clean), &drift.Policy{}); r.Verdict != drift.VerdictInSync || len(r.Reasons) != 0 {
		t.Errorf("clean: %s %v %+v", r.Verdict, r.Reasons, r.Findings)
	}
	r := drift.Compare(loaded, snap(drifted), &drift.Policy{})
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Category != drift.CategoryUpdate || r.Findings[0].Name != "KB5035857" {
		t.Errorf("drifted: %s %+v", r.Verdict, r.Findings)
	}
}
