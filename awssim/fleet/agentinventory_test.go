package fleet_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	"github.com/driftd/driftd/drift/manifest"
)

// TestInventoryAsTheAgentReports: AWS:Application entries carry exactly the
// fields amazon-ssm-agent's dpkg-query and rpm query formats produce
// (agent/plugins/inventory/gatherers/application/dataProvider_unix.go),
// with Architecture passed through model.FormatArchitecture: dpkg's amd64
// becomes x86_64 (PackageId keeps amd64), arm64, all, aarch64, noarch and
// i686 pass through, and omitempty fields are absent rather than empty.
// ListInventoryEntries and Resource Data Sync serve the same entries.
func TestInventoryAsTheAgentReports(t *testing.T) {
	created := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	installed := created.Add(-time.Hour).Format(time.RFC3339)
	sc := &awssim.Scenario{
		AMIs: []awssim.AMISpec{
			{ID: "ami-000000000000000d1", Name: "debian-amd64", Format: "deb", PlatformName: "Debian GNU/Linux", PlatformVersion: "12", Created: created,
				Packages: []awssim.PackageSpec{{Name: "libc6", Version: "2.36-9+deb12u4"}, {Name: "libc6", Version: "2.36-9+deb12u4", Arch: "i386"},
					{Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all"}, {Name: "openssh-server", Version: "1:9.2p1-2+deb12u2", URL: "https://www.openssh.com/"}}},
			{ID: "ami-000000000000000d2", Name: "ubuntu-arm64", Format: "deb", PlatformName: "Ubuntu", PlatformVersion: "24.04", Architecture: "arm64", Created: created,
				Packages: []awssim.PackageSpec{{Name: "libc6", Version: "2.39-0ubuntu8.3"}, {Name: "base-files", Version: "13ubuntu10.1", Arch: "aarch64"}}},
			{ID: "ami-000000000000000a1", Name: "al2023-arm64", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2023", Architecture: "arm64", Created: created,
				Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2.15", Release: "1.amzn2023.0.2"}, {Name: "ca-certificates", Version: "2023.2.64", Release: "1.0.amzn2023.0.1", Arch: "noarch"},
					{Name: "openssl-libs", Epoch: "1", Version: "3.0.8", Release: "1.amzn2023.0.12", URL: "http://www.openssl.org/"}}},
			{ID: "ami-000000000000000a2", Name: "al2-x86", Format: "rpm", PlatformName: "Amazon Linux", PlatformVersion: "2", Created: created,
				Packages: []awssim.PackageSpec{{Name: "glibc", Version: "2.26", Release: "64.amzn2.0.2"}, {Name: "glibc", Version: "2.26", Release: "64.amzn2.0.2", Arch: "i686"},
					{Name: "gpg-pubkey", Version: "c87f5b1a", Release: "593863f8", Epoch: "(none)", Arch: "(none)"}}},
		},
		LaunchTemplates: []awssim.LaunchTemplateIn{{Name: "arm", InstanceType: "m7g.large", Versions: []string{"ubuntu-arm64"}}},
		Groups:          []awssim.ScenarioGroup{{GroupSpec: awssim.GroupSpec{Name: "arm", LaunchTemplateName: "arm", Max: 1, Desired: 1}}},
		Instances: []awssim.InstanceSpec{{Name: "deb", AMI: "debian-amd64", InstanceType: "t3.small"}, {Name: "al2023", AMI: "al2023-arm64", InstanceType: "t4g.small"},
			{Name: "al2", AMI: "al2-x86", InstanceType: "t3.small"}},
	}
	e := simtest.New(t, awssim.Options{}, sc)
	ds := e.Sim.EnableResourceDataSync("inv-bucket", "inv")
	t.Cleanup(ds.Close)
	byName := map[string]string{}
	for _, in := range e.Sim.Instances() {
		byName[in.Tags["Name"]] = in.ID
	}
	byName["arm"] = e.Sim.GroupMembers("arm")[0]

	deb := func(name, version, arch, dpkgArch, section string) awssim.Entry {
		return awssim.Entry{"Name": name, "Publisher": "Debian Maintainers <debian-devel@lists.debian.org>", "Version": version,
			"ApplicationType": section, "Architecture": arch, "Summary": name + " package", "PackageId": name + "_" + version + "_" + dpkgArch + ".deb"}
	}
	ubuntu := func(e awssim.Entry) awssim.Entry {
		e["Publisher"] = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"
		return e
	}
	rpm := func(name, version, release, arch, group string) awssim.Entry {
		return awssim.Entry{"Name": name, "Publisher": "Amazon Linux", "Version": version, "Release": release, "InstalledTime": installed,
			"ApplicationType": group, "Architecture": arch, "URL": "(none)", "Summary": name + " package",
			"PackageId": name + "-" + version + "-" + release + ".src.rpm"}
	}
	with := func(e awssim.Entry, kv ...string) awssim.Entry {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(e, kv[i])
			} else {
				e[kv[i]] = kv[i+1]
			}
		}
		return e
	}
	want := map[string][]awssim.Entry{
		"deb": {
			deb("libc6", "2.36-9+deb12u4", "i386", "i386", "libs"),
			deb("libc6", "2.36-9+deb12u4", "x86_64", "amd64", "libs"),
			with(deb("openssh-server", "1:9.2p1-2+deb12u2", "x86_64", "amd64", "admin"), "URL", "https://www.openssh.com/"),
			deb("tzdata", "2024a-0+deb12u1", "all", "all", "localization"),
		},
		"arm": {
			ubuntu(deb("base-files", "13ubuntu10.1", "arm64", "arm64", "admin")),
			ubuntu(deb("libc6", "2.39-0ubuntu8.3", "arm64", "arm64", "libs")),
		},
		"al2023": {
			rpm("bash", "5.2.15", "1.amzn2023.0.2", "aarch64", "Unspecified"),
			rpm("ca-certificates", "2023.2.64", "1.0.amzn2023.0.1", "noarch", "Unspecified"),
			with(rpm("openssl-libs", "3.0.8", "1.amzn2023.0.12", "aarch64", "Unspecified"), "Epoch", "1", "URL", "http://www.openssl.org/"),
		},
		"al2": {
			rpm("glibc", "2.26", "64.amzn2.0.2", "i686", "System Environment/Base"),
			rpm("glibc", "2.26", "64.amzn2.0.2", "x86_64", "System Environment/Base"),
			rpm("gpg-pubkey", "c87f5b1a", "593863f8", "(none)", "System Environment/Base"),
		},
	}
	sortEntries := func(es []awssim.Entry) {
		key := func(e awssim.Entry) string { return e["Name"] + "." + e["Architecture"] }
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && key(es[j]) < key(es[j-1]); j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			id := byName[name]
			got, out, _ := simtest.ListAll(t, e, id, awssim.TypeApplication, 0)
			if v := *out.SchemaVersion; v != "1.1" {
				t.Errorf("SchemaVersion %s, want 1.1", v)
			}
			sortEntries(got)
			sortEntries(w)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("ListInventoryEntries:\ngot  %v\nwant %v", got, w)
			}
			// Resource Data Sync lines carry the same attributes
			body, ok := ds.Content(e.Sim.DataSyncKey("inv", awssim.TypeApplication, id))
			if !ok {
				t.Fatal("no data sync object")
			}
			var lines []awssim.Entry
			for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
				var m awssim.Entry
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				if m["schemaVersion"] != "1.1" || m["resourceId"] != id {
					t.Errorf("data sync line %v", m)
				}
				delete(m, "schemaVersion")
				delete(m, "resourceId")
				delete(m, "captureTime")
				lines = append(lines, m)
			}
			sortEntries(lines)
			if !reflect.DeepEqual(lines, w) {
				t.Errorf("Resource Data Sync:\ngot  %v\nwant %v", lines, w)
			}
		})
	}
}

// TestBaselineKeepsDistroArch: the baselines an AMI publishes name
// architectures as the distro does (dpkg's amd64 and arm64 in the native
// manifest and in the SBOM's purls) while the agent reports x86_64, and
// they decode to the same packages driftd compares against.
func TestBaselineKeepsDistroArch(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	for _, tc := range []struct {
		ami, file, purlArch, nativeArch string
	}{
		{"ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60002.cdx.json", "arch=amd64", `"arch": "amd64"`},
		{"ami-0a1b2c3d4e5f60005", "ami-0a1b2c3d4e5f60005.cdx.json", "arch=arm64", `"arch": "arm64"`},
		{"ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60004.json", "", `"arch": "aarch64"`},
	} {
		name, doc, err := e.Sim.BaselineDocument(tc.ami)
		if err != nil || name != tc.file {
			t.Fatalf("%s: %s %v", tc.ami, name, err)
		}
		if tc.purlArch != "" && (!strings.Contains(string(doc), tc.purlArch) || strings.Contains(string(doc), "arch=x86_64") || strings.Contains(string(doc), "arch=aarch64")) {
			t.Errorf("%s: SBOM purls do not say %s", tc.ami, tc.purlArch)
		}
		native, err := e.Sim.Manifest(tc.ami)
		if err != nil || !strings.Contains(string(native), tc.nativeArch) || strings.Contains(string(native), `"arch": "x86_64"`) {
			t.Errorf("%s: native manifest does not say %s", tc.ami, tc.nativeArch)
		}
		// the Parameter Store value points at the published document
		p, ok := e.Sim.Parameter("/driftd/baselines/" + tc.ami)
		if !ok || p.Value != "s3://"+awssim.ManifestBucket+"/manifests/"+tc.file {
			t.Errorf("%s: parameter %q", tc.ami, p.Value)
		}
		if got, ok := e.Sim.S3().Object(awssim.ManifestBucket, "manifests/"+tc.file); !ok || string(got) != string(doc) {
			t.Errorf("%s: S3 object differs from the document", tc.ami)
		}
		// both decode to the same packages
		fromDoc, err := manifest.Decode(name, doc, manifest.Options{AMI: tc.ami})
		if err != nil {
			t.Fatal(err)
		}
		fromNative, err := manifest.Decode(tc.ami+".json", native, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromDoc.Packages, fromNative.Packages) || len(fromDoc.Packages) < 200 {
			t.Errorf("%s: SBOM and native manifest disagree (%d vs %d packages)", tc.ami, len(fromDoc.Packages), len(fromNative.Packages))
		}
	}
}
