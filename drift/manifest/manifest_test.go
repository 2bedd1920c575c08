package manifest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func findPkg(m *drift.Manifest, name, arch string) []string {
	var evrs []string
	for _, p := range m.Packages {
		if p.Name == name && p.Arch == arch {
			evrs = append(evrs, p.EVR)
		}
	}
	return evrs
}

func TestDecodeFixtures(t *testing.T) {
	type pkg struct{ name, arch, evr string }
	for _, tc := range []struct {
		file         string
		opts         Options
		ami, os      string
		format       drift.PackageFormat
		nvo          bool
		packages     int
		updates      int
		services     int
		roles        int
		skipped      string // Provenance["skipped_by_type"]
		want         []pkg
		provenanceOK func(map[string]string) bool
	}{
		{file: "ami-0abc1234def567890.yaml", ami: "ami-0abc1234def567890", os: "amzn", format: drift.FormatRPM, packages: 9,
			want: []pkg{{"bash", "x86_64", "5.2.15-1.amzn2023.0.2"}, {"openssl-libs", "x86_64", "1:3.0.8-1.amzn2023.0.12"},
				{"glibc", "i686", "2.34-52.amzn2023.0.8"}, {"kernel", "x86_64", "6.1.72-96.166.amzn2023"}, {"kernel", "x86_64", "6.1.79-99.167.amzn2023"},
				{"vim-minimal", "x86_64", "2:9.0.2153-1.amzn2023.0.2"}}},
		{file: "al2023-syft.cdx.json", ami: "ami-0abc1234def567890", os: "amzn", format: drift.FormatRPM, packages: 19, skipped: "golang=1,no-purl=1,pypi=1",
			want: []pkg{{"bash", "x86_64", "5.2.15-1.amzn2023.0.2"}, {"openssl-libs", "x86_64", "1:3.0.8-1.amzn2023.0.12"},
				{"glibc", "x86_64", "2.34-52.amzn2023.0.8"}, {"glibc", "i686", "2.34-52.amzn2023.0.8"},
				{"vim-minimal", "x86_64", "2:9.0.2153-1.amzn2023.0.2"}, {"gpg-pubkey", "", "d832c631-5e6a3bc8"}}},
		{file: "al2023-inspector.cdx.json", ami: "ami-0abc1234def567890", os: "amzn", format: drift.FormatRPM, packages: 8, skipped: "no-purl=1,pypi=1",
			want: []pkg{{"openssl-libs", "x86_64", "1:3.0.8-1.amzn2023.0.12"}, {"kernel", "x86_64", "6.1.72-96.166.amzn2023"}}},
		{file: "debian12-trivy.cdx.json", ami: "ami-0def5678abc123456", os: "debian", format: drift.FormatDeb, packages: 13, skipped: "golang=1,npm=1",
			// purl arch=amd64 / arch=all, held in canonical form
			want: []pkg{{"libc6", "x86_64", "2.36-9+deb12u4"}, {"openssh-server", "x86_64", "1:9.2p1-2+deb12u2"}, {"vim-tiny", "x86_64", "2:9.0.1378-2"},
				{"libssl3", "x86_64", "3.0.11-1~deb12u2"}, {"tzdata", "noarch", "2024a-0+deb12u1"}}},
		{file: "al2023-syft.spdx.json", ami: "ami-0abc1234def567890", os: "amzn", format: drift.FormatRPM, packages: 18, skipped: "no-purl=1,pypi=1",
			want: []pkg{{"openssl-libs", "x86_64", "1:3.0.8-1.amzn2023.0.12"}, {"glibc", "i686", "2.34-52.amzn2023.0.8"}}},
		{file: "debian12-inspector.spdx.json", ami: "ami-0def5678abc123456", os: "debian", format: drift.FormatDeb, packages: 13,
			// Inspector writes arch=AMD64
			want: []pkg{{"libc6", "x86_64", "2.36-9+deb12u4"}, {"openssh-client", "x86_64", "1:9.2p1-2+deb12u2"}, {"tzdata", "noarch", "2024a-0+deb12u1"}}},
		{file: "al2023.imagebuilder.json", opts: Options{AMI: "ami-0abc1234def567890", OSFamily: "amzn"}, ami: "ami-0abc1234def567890", os: "amzn",
			format: drift.FormatRPM, nvo: true, packages: 18,
			want: []pkg{{"bash", "", "5.2.15"}, {"openssl-libs", "", "3.0.8-1.amzn2023.0.12"}, {"kernel", "", "6.1.72"}, {"kernel", "", "6.1.79-99.167.amzn2023"}}},
		{file: "al2023-page.imagebuilder.json", ami: "", nvo: true, packages: 10},
		// Windows: applications keyed by name, publisher and arch (x64/x86 read as x86_64/i386), KBs, roles
		{file: "windows2022.yaml", ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows", format: drift.FormatWindows, packages: 6, updates: 3, services: 6, roles: 7,
			want: []pkg{{"Contoso Line-of-Business Agent", "x86_64", "10.0.19041.1"}, {"AWS Tools for Windows", "i386", "4.1.588.0"}}},
		{file: "windows2022.cdx.json", ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows", format: drift.FormatWindows, packages: 6, updates: 3, skipped: "no-purl=1,nuget=1",
			want: []pkg{{"Contoso Line-of-Business Agent", "x86_64", "10.0.19041.1"}, {"AWS Tools for Windows", "i386", "4.1.588.0"},
				{"Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135", "i386", "14.38.33135.0"}}},
		{file: "windows2022.spdx.json", ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows", format: drift.FormatWindows, packages: 6, updates: 1, skipped: "chocolatey=1",
			want: []pkg{{"Amazon SSM Agent", "x86_64", "3.3.1142.0"}, {"AWS PV Drivers", "x86_64", "8.4.3"}}},
		{file: "windows2022.imagebuilder.json", opts: Options{AMI: "ami-0c1d2e3f4a5b6c7d8", PackageFormat: drift.FormatWindows}, ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows",
			format: drift.FormatWindows, nvo: true, packages: 6, want: []pkg{{"Amazon SSM Agent", "", "3.3.1142.0"}}},
		// Windows SBOMs without purls, as registry-reading tools write them
		// (application components, KBs by name; any arch); an application
		// without version and a file are skipped
		{file: "windows2022-registry.cdx.json", opts: Options{AMI: "ami-0c1d2e3f4a5b6c7d8"}, ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows", format: drift.FormatWindows,
			packages: 6, updates: 3, skipped: "no-purl=1,no-version=1",
			want: []pkg{{"Contoso Line-of-Business Agent", "", "10.0.19041.1"}, {"AWS Tools for Windows", "", "4.1.588.0"}}},
		{file: "windows2022-registry.spdx.json", ami: "ami-0c1d2e3f4a5b6c7d8", os: "windows", format: drift.FormatWindows, packages: 6, skipped: "no-purl=1",
			want: []pkg{{"Amazon SSM Agent", "", "3.3.1142.0"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := Decode("testdata/"+tc.file, readFixture(t, tc.file), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.AMI != tc.ami || m.OSFamily != tc.os || m.PackageFormat != tc.format || m.NameVersionOnly != tc.nvo {
				t.Errorf("ami %q os %q format %q nvo %v; want %q %q %q %v", m.AMI, m.OSFamily, m.PackageFormat, m.NameVersionOnly, tc.ami, tc.os, tc.format, tc.nvo)
			}
			if len(m.Packages) != tc.packages {
				t.Errorf("%d packages, want %d", len(m.Packages), tc.packages)
			}
			if len(m.Updates) != tc.updates || len(m.Services) != tc.services && tc.services > 0 || len(m.Roles) != tc.roles {
				t.Errorf("%d updates, %d services, %d roles; want %d, %d, %d", len(m.Updates), len(m.Services), len(m.Roles), tc.updates, tc.services, tc.roles)
			}
			if got := m.Provenance["skipped_by_type"]; got != tc.skipped {
				t.Errorf("skipped %q, want %q", got, tc.skipped)
			}
			if m.NormalizationVersion != drift.NormalizationVersion || m.Source != "testdata/"+tc.file {
				t.Errorf("normalization %d source %q", m.NormalizationVersion, m.Source)
			}
			for _, w := range tc.want {
				evrs := findPkg(m, w.name, w.arch)
				found := false
				for _, e := range evrs {
					found = found || e == w.evr
				}
				if !found {
					t.Errorf("package %s.%s: EVRs %v, want %s", w.name, w.arch, evrs, w.evr)
				}
			}
			for i := 1; i < len(m.Packages); i++ {
				a, b := m.Packages[i-1], m.Packages[i]
				if a.Name > b.Name || (a.Name == b.Name && a.Publisher > b.Publisher) || (a.Name == b.Name && a.Publisher == b.Publisher && a.Arch > b.Arch) {
					t.Errorf("packages not sorted at %d: %s.%s after %s.%s", i, b.Name, b.Arch, a.Name, a.Arch)
				}
			}
		})
	}
}

// A Syft SBOM, its SPDX twin and the native baseline describe the same
// AMI: diffing them with the engine finds only the expected differences.
func TestFormatsAgree(t *testing.T) {
	cdx, err := Decode("a.cdx.json", readFixture(t, "al2023-syft.cdx.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	spdx, err := Decode("a.spdx.json", readFixture(t, "al2023-syft.spdx.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := drift.Compare(cdx, drift.SnapshotFromManifest(spdx), &drift.Policy{})
	// The SPDX fixture leaves out gpg-pubkey (no arch, no purl arch).
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Name != "gpg-pubkey" || r.Findings[0].Change != drift.ChangeRemoved {
		t.Errorf("cdx vs spdx: %s %+v", r.Verdict, r.Findings)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, f := range []string{"ami-0abc1234def567890.yaml", "al2023-syft.cdx.json", "debian12-trivy.cdx.json", "al2023.imagebuilder.json", "windows2022.yaml", "windows2022.cdx.json"} {
		t.Run(f, func(t *testing.T) {
			m, err := Decode(f, readFixture(t, f), Options{AMI: amiFor(f)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Decode("roundtrip.yaml", b, Options{})
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			m2.Source = m.Source
			if !reflect.DeepEqual(m, m2) {
				t.Errorf("round trip differs:\n%+v\n%+v\n%s", m, m2, b)
			}
			b2, err := Encode(m2)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("encoding not stable: %v\n%s\n---\n%s", err, b, b2)
			}
		})
	}
}

func amiFor(file string) string {
	if strings.Contains(file, "debian") {
		return "ami-0def5678abc123456"
	}
	if strings.Contains(file, "windows") {
		return "ami-0c1d2e3f4a5b6c7d8"
	}
	return "ami-0abc1234def567890"
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       Format
		err        string
	}{
		{"x.cdx.json", "{}", FormatCycloneDX, ""},
		{"x.bom.json", "{}", FormatCycloneDX, ""},
		{"x.spdx.json", "{}", FormatSPDX, ""},
		{"x.imagebuilder.json", "{}", FormatImageBuilder, ""},
		{"x.yaml", "{}", FormatNativeYAML, ""},
		{"X.YML", "{}", FormatNativeYAML, ""},
		{"x.json", `{"bomFormat":"CycloneDX"}`, FormatCycloneDX, ""},
		{"x.json", `{"spdxVersion":"SPDX-2.3"}`, FormatSPDX, ""},
		{"x.json", `{"imagePackageList":[]}`, FormatImageBuilder, ""},
		{"x.json", `{"schema_version":1}`, FormatNativeJSON, ""},
		{"s3://bucket/baselines/ami-0abc", `{"schema_version":1}`, FormatNativeJSON, ""},
		{"/aws/ssm/param", "schema_version: 1", FormatNativeYAML, ""},
		{"x.json", `{"foo":1}`, "", "cannot tell the format: expected a native manifest (schema_version), CycloneDX (bomFormat), SPDX (spdxVersion) or Image Builder (imagePackageList) document"},
		{"x.json", `[1]`, "", "not a JSON object"},
		{"x.json", `{"a":`, "", "invalid JSON: unexpected end of JSON input at byte 5"},
	} {
		got, err := Detect(tc.name, []byte(tc.data))
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tc.want || msg != tc.err {
			t.Errorf("Detect(%q, %q) = %q, %q; want %q, %q", tc.name, tc.data, got, msg, tc.want, tc.err)
		}
	}
}

// TestDecodeInvalid is the table of bad documents and their exact errors.
func TestDecodeInvalid(t *testing.T) {
	const head = "schema_version: 1\nami_id: ami-0abc1234def567890\n"
	long := strings.Repeat("a", MaxFieldBytes+1)
	for _, tc := range []struct {
		name, data string
		opts       Options
		want       string
	}{
		// native YAML
		{"b.yaml", "", Options{}, "b.yaml: empty document"},
		{"b.yaml", "   \n", Options{}, "b.yaml: empty document"},
		{"b.yaml", "ami_id: ami-0abc1234def567890\n", Options{}, "b.yaml: schema_version: required"},
		{"b.yaml", "schema_version: 2\nami_id: ami-0abc1234def567890\n", Options{}, "b.yaml: schema_version: 2 is not supported (this driftd reads version 1)"},
		{"b.yaml", "schema_version: 1\n", Options{}, "b.yaml: ami_id: required"},
		{"b.yaml", "schema_version: 1\nami_id: ami-xyz\n", Options{}, `b.yaml: ami_id: "ami-xyz" is not an AMI id`},
		{"b.yaml", head + "packages:\n  - {name: bash, arch: x86_64}\n", Options{}, "b.yaml: packages[0].version: required"},
		{"b.yaml", head + "packages:\n  - {name: a, version: \"1\"}\n  - {name: a, version: \"1\"}\n  - {version: \"2\"}\n", Options{}, "b.yaml: packages[2].name: required"},
		{"b.yaml", head + "packages:\n  - {name: bash, verison: 5.2.15}\n", Options{}, `b.yaml: line 4: unknown field "verison" in a package`},
		{"b.yaml", head + "pakages: []\n", Options{}, `b.yaml: line 3: unknown field "pakages" in the document`},
		{"b.yaml", head + "packages:\n  - {name: bash, version: [5]}\n", Options{}, "b.yaml: line 4: expected a scalar"},
		{"b.yaml", head + "packages: {name: bash}\n", Options{}, "b.yaml: line 3: cannot unmarshal !!map into []manifest.nativePackage"},
		{"b.yaml", head + "packages:\n  - {name: bash, epoch: one, version: \"1\"}\n", Options{}, `b.yaml: packages[0].epoch: "one" is not a number`},
		{"b.yaml", head + "packages:\n  - {name: bash, arch: x86_64, version: \"1\", release: \"1\"}\n  - {name: bash, arch: x86_64, version: \"1\", release: \"2\"}\n", Options{},
			"b.yaml: packages: bash.x86_64 is listed with versions 1-1 and 1-2; only install-only packages (kernels) may have several versions"},
		{"b.yaml", head + "package_format: apk\n", Options{}, `b.yaml: package_format: "apk" is not rpm, deb or windows`},
		{"b.yaml", head + "normalization_version: 7\n", Options{}, "b.yaml: normalization_version: 7 is newer than this driftd supports (3)"},
		{"b.yaml", head + "files:\n  - {size: 3}\n", Options{}, "b.yaml: files[0].path: required"},
		{"b.yaml", head + "files:\n  - {path: /a, size: -3}\n", Options{}, "b.yaml: files[0].size: -3 is negative"},
		{"b.yaml", head + "files:\n  - {path: /a, mtime: yesterday}\n", Options{}, `b.yaml: files[0].mtime: "yesterday" is not an RFC3339 time`},
		{"b.yaml", head + "files:\n  - {path: /a, sha256: abc}\n", Options{}, `b.yaml: files[0].sha256: "abc" is not 64 hex digits`},
		{"b.yaml", head + "services:\n  - {state: active}\n", Options{}, "b.yaml: services[0].name: required"},
		{"b.yaml", head + "custom:\n  Sysctl: {entries: []}\n", Options{}, "b.yaml: custom[Sysctl]: type name must start with Custom: or AWS:"},
		{"b.yaml", head + "custom:\n  Custom:Sysctl: {entries: [{Value: \"1\"}]}\n", Options{}, "b.yaml: custom[Custom:Sysctl].entries[0].Name: required (the key attribute)"},
		{"b.yaml", head + "custom:\n  Custom:Users: {key: User, entries: [{User: a}, {User: a}]}\n", Options{}, `b.yaml: custom[Custom:Users].entries[1]: User "a" repeats entries[0]`},
		{"b.yaml", head + "---\n" + head, Options{}, "b.yaml: more than one YAML document; a manifest is a single document"},
		{"b.yaml", head + "ami_id: ami-0abc1234def567890\n", Options{}, `b.yaml: line 3: mapping key "ami_id" already defined at line 2`},
		{"b.yaml", head, Options{AMI: "ami-0def5678abc123456"}, "b.yaml: ami_id: document describes ami-0abc1234def567890, expected ami-0def5678abc123456"},
		{"b.yaml", head, Options{AMI: "bogus"}, `b.yaml: ami "bogus" is not an AMI id`},
		{"b.yaml", head + "packages:\n  - {name: " + long + ", version: \"1\"}\n", Options{}, "b.yaml: packages[0].name: longer than 1024 bytes"},
		{"b.yaml", head + "packages:\n  - {name: a, version: \"" + long + "\"}\n", Options{}, "b.yaml: packages[0].version: longer than 1024 bytes"},
		{"b.yaml", head + "packages:\n  - {name: a, version: !!binary AQID}\n", Options{}, "b.yaml: line 4: binary values are not allowed"},
		// native JSON
		{"b.json", `{"schema_version":1,"ami_id":"ami-0abc1234def567890","packages":[{"name":"a","version":"1","x":1}]}`, Options{}, `b.json: unknown field "x"`},
		{"b.json", `{"schema_version":"1","ami_id":"ami-0abc1234def567890"}`, Options{}, "b.json: schema_version: cannot use JSON string as int"},
		{"b.json", `{"schema_version":1,"ami_id":"ami-0abc1234def567890"} {}`, Options{}, "b.json: invalid JSON: invalid character '{' after top-level value at byte 55"},
		{"b.json", `{"schema_version":1,"ami_id":"ami-0abc1234def567890"} {}`, Options{Format: FormatNativeJSON}, "b.json: trailing data after the JSON object"},
		{"b.json", `{"schema_version":1,"ami_id":"ami-0abc1234def567890","packages":[{"name":"a"}]}`, Options{}, "b.json: packages[0].version: required"},
		// CycloneDX
		{"b.cdx.json", `{"bomFormat":"SPDX","specVersion":"1.4"}`, Options{}, `b.cdx.json: bomFormat: "SPDX", want "CycloneDX"`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.3","components":[]}`, Options{}, "b.cdx.json: specVersion: 1.3 is not supported (need 1.4 or later)"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"9.9"}`, Options{}, "b.cdx.json: specVersion: not a known CycloneDX version"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"pip","purl":"pkg:pypi/pip@1"}]}`, Options{},
			"b.cdx.json: components: no rpm or deb packages (purl pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or application components in a Windows SBOM) found"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","purl":"pkg:rpm/amzn/a@1-1"},{"type":"library","name":"b","purl":"pkg:rpm/amzn/b"}]}`, Options{},
			`b.cdx.json: components[1].purl: "pkg:rpm/amzn/b": no version`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","components":[{"type":"library","name":"b","purl":"rpm:nope"}]}]}`, Options{},
			`b.cdx.json: components[0].components[0].purl: "rpm:nope" is not a package URL: purl scheme is not "pkg": "rpm:nope"`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","purl":"pkg:rpm/amzn/a@1-1?epoch=x"}]}`, Options{},
			`b.cdx.json: components[0].purl: "pkg:rpm/amzn/a@1-1?epoch=x": epoch "x" is not a number`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","purl":"pkg:rpm/amzn/a@2:1-1?epoch=1"}]}`, Options{},
			`b.cdx.json: components[0].purl: "pkg:rpm/amzn/a@2:1-1?epoch=1": epoch qualifier 1 contradicts version 2:1-1`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"properties":[{"name":"imageId","value":"ami-0abc1234def567890"},{"name":"sourceAmi","value":"ami-0def5678abc123456"}]},"components":[]}`, Options{},
			"b.cdx.json: metadata: names two AMIs, ami-0abc1234def567890 and ami-0def5678abc123456"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":{}}`, Options{}, "b.cdx.json: components: cannot use JSON object as []cyclonedx.Component"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX",`, Options{}, "b.cdx.json: unexpected end of JSON input at byte 25"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","purl":"pkg:rpm/amzn/a@1.%ff-1"}]}`, Options{},
			`b.cdx.json: components[0].purl: "pkg:rpm/amzn/a@1.%ff-1": not valid UTF-8 once decoded`},
		// SPDX
		{"b.spdx.json", `{"packages":[]}`, Options{}, "b.spdx.json: spdxVersion: required"},
		{"b.spdx.json", `{"spdxVersion":"SPDX-3.0","packages":[]}`, Options{}, `b.spdx.json: spdxVersion: "SPDX-3.0" is not supported (need SPDX-2.2 or SPDX-2.3)`},
		{"b.spdx.json", `{"spdxVersion":"SPDX-2.3"}`, Options{}, "b.spdx.json: packages: required"},
		{"b.spdx.json", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:deb/debian/a?arch=amd64"}]}]}`, Options{},
			`b.spdx.json: packages[0].externalRefs.purl: "pkg:deb/debian/a?arch=amd64": no version`},
		{"b.spdx.json", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"}]}`, Options{}, "b.spdx.json: packages: no rpm or deb packages (purl externalRefs pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or APPLICATION packages in a Windows SBOM) found"},
		// Image Builder
		{"b.imagebuilder.json", `{"requestId":"x"}`, Options{}, "b.imagebuilder.json: imagePackageList: required"},
		{"b.imagebuilder.json", `{"imagePackageList":[]}`, Options{}, "b.imagebuilder.json: imagePackageList: empty (was the image built with enhancedImageMetadataEnabled?)"},
		{"b.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash"}]}`, Options{}, "b.imagebuilder.json: imagePackageList[0].packageVersion: required"},
		{"b.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash","packageVersion":"1","arch":"x"}]}`, Options{}, `b.imagebuilder.json: unknown field "arch"`},
		{"b.imagebuilder.json", `[{"imagePackageList":[{"packageName":"bash","packageVersion":"1"}]},{"imagePackageList":[{"packageVersion":"1"}]}]`, Options{},
			"b.imagebuilder.json: [1].imagePackageList[0].packageName: required"},
		{"b.imagebuilder.json", `[]`, Options{}, "b.imagebuilder.json: no pages"},
		// Windows baselines
		{"b.yaml", head + "package_format: windows\npackages:\n  - {name: a, version: \"1\", release: \"2\"}\n", Options{}, "b.yaml: packages[0].release: a Windows application has no release"},
		{"b.yaml", head + "os_family: windows\npackages:\n  - {name: a, version: \"1\", epoch: 1}\n", Options{}, "b.yaml: packages[0].epoch: a Windows application has no epoch"},
		{"b.yaml", head + "services:\n  - {name: W3SVC, state: Running, status: Running}\n", Options{}, "b.yaml: services[0]: state and status are one field; write one of them"},
		{"b.yaml", head + "services:\n  - {name: W3SVC, enabled: Automatic, start_type: Automatic}\n", Options{}, "b.yaml: services[0]: enabled and start_type are one field; write one of them"},
		{"b.yaml", head + "updates:\n  - {description: Update}\n", Options{}, "b.yaml: updates[0].hotfix_id: required"},
		{"b.yaml", head + "updates:\n  - {hotfix_id: KB5034439}\n  - {hotfix_id: kb5034439}\n", Options{}, "b.yaml: updates: KB5034439 is listed twice"},
		{"b.yaml", head + "updates:\n  - {hotfix_id: KB5034439, installed_by: me}\n", Options{}, `b.yaml: line 4: unknown field "installed_by" in an update`},
		{"b.yaml", head + "roles:\n  - {display_name: IIS}\n", Options{}, "b.yaml: roles[0].name: required"},
		{"b.yaml", head + "roles:\n  - {name: Web-Server, installed: false}\n", Options{}, `b.yaml: line 4: unknown field "installed" in a role`},
		{"b.yaml", head + "roles:\n  - {name: Web-Server}\n  - {name: Web-Server}\n", Options{}, "b.yaml: roles: Web-Server is listed twice"},
		{"b.yaml", head + "roles:\n  - {name: \"Web-Server\\0\"}\n", Options{}, "b.yaml: roles[0].name: contains control character U+0000"},
		{"b.yaml", head + "packages:\n  - {name: a, publisher: " + long + ", version: \"1\"}\n", Options{}, "b.yaml: packages[0].publisher: longer than 1024 bytes"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"windows"}},"components":[{"type":"application","name":"a","purl":"pkg:generic/a"}]}`, Options{},
			`b.cdx.json: components[0].purl: "pkg:generic/a": no version`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"windows"}},"components":[{"type":"application","name":"a","purl":"pkg:generic/a%00b@1"}]}`, Options{},
			`b.cdx.json: components[0].purl: "pkg:generic/a%00b@1": name contains control character U+0000`},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"windows"}},"components":[{"type":"library","name":"j","purl":"pkg:nuget/Newtonsoft.Json@13.0.3"},{"type":"application","name":"7zip","purl":"pkg:chocolatey/7zip@23.1.0"}]}`, Options{},
			"b.cdx.json: components: no rpm or deb packages (purl pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or application components in a Windows SBOM) found"},
		// Windows SBOMs without purls: application components and KB names
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"Windows Server 2022"}},"components":[{"type":"application","name":"a\u0007b","version":"1"}]}`, Options{},
			"b.cdx.json: components[0].name: contains control character U+0007"},
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"Windows Server 2022"}},"components":[{"type":"application","name":"a","publisher":"P\u0000","version":"1"}]}`, Options{},
			"b.cdx.json: components[0].publisher: contains control character U+0000"},
		{"b.spdx.json", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"windows","primaryPackagePurpose":"OPERATING-SYSTEM"},{"name":"a","versionInfo":"` + long + `","primaryPackagePurpose":"APPLICATION"}]}`, Options{},
			"b.spdx.json: packages[1].version: longer than 1024 bytes"},
		// versionless applications, libraries and files are not applications a baseline can pin
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"Windows Server 2022"}},"components":[{"type":"application","name":"a"},{"type":"library","name":"l","version":"1"},{"type":"file","name":"f","version":"1"}]}`, Options{},
			"b.cdx.json: components: no rpm or deb packages (purl pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or application components in a Windows SBOM) found"},
		// outside a Windows SBOM a purl-less application is not read
		{"b.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"amazonlinux"}},"components":[{"type":"application","name":"bash","version":"5.2"},{"type":"application","name":"KB5034439"}]}`, Options{},
			"b.cdx.json: components: no rpm or deb packages (purl pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or application components in a Windows SBOM) found"},
		// options
		{"b.yaml", head, Options{Format: "xml"}, `b.yaml: unknown format "xml"`},
		{"b.yaml", head, Options{PackageFormat: "apk"}, `b.yaml: package format "apk" is not rpm, deb or windows`},
	} {
		t.Run(tc.name+" "+firstLine(tc.want), func(t *testing.T) {
			m, err := Decode(tc.name, []byte(tc.data), tc.opts)
			if m != nil {
				t.Errorf("returned a manifest with the error")
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func firstLine(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

func TestLimits(t *testing.T) {
	t.Run("document size", func(t *testing.T) {
		big := make([]byte, MaxDocumentBytes+1)
		_, err := Decode("big.yaml", big, Options{})
		if err == nil || err.Error() != "big.yaml: document is larger than 64 MiB" {
			t.Errorf("got %v", err)
		}
		_, err = DecodeReader("big.yaml", bytes.NewReader(big), Options{})
		if err == nil || err.Error() != "big.yaml: document is larger than 64 MiB" {
			t.Errorf("reader: got %v", err)
		}
	})
	t.Run("package count", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(`{"imagePackageList":[`)
		for i := 0; i <= MaxPackages; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"packageName":"p%d","packageVersion":"1"}`, i)
		}
		b.WriteString(`]}`)
		_, err := Decode("many.imagebuilder.json", b.Bytes(), Options{})
		if err == nil || err.Error() != "many.imagebuilder.json: imagePackageList: more than the limit of 200000 packages" {
			t.Errorf("got %v", err)
		}
	})
}

func TestDecodeReader(t *testing.T) {
	m, err := DecodeReader("testdata/ami-0abc1234def567890.yaml", bytes.NewReader(readFixture(t, "ami-0abc1234def567890.yaml")), Options{})
	if err != nil || len(m.Packages) != 9 {
		t.Fatalf("%v %v", m, err)
	}
}

// Every manifest format lands in one architecture space (drift.CanonicalArch):
// a purl's arch=amd64 or arch=arm64 (any case) is the x86_64 or aarch64 the
// SSM agent reports, and Encode writes it back the way the package format
// spells it.
func TestArchitectureSpace(t *testing.T) {
	const ami = "ami-0abc1234def567890"
	cdxDoc := func(purls ...string) string {
		var cs []string
		for _, p := range purls {
			cs = append(cs, fmt.Sprintf(`{"type":"library","name":"x","purl":%q}`, p))
		}
		return `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[` + strings.Join(cs, ",") + `]}`
	}
	spdxDoc := func(purls ...string) string {
		var ps []string
		for i, p := range purls {
			ps = append(ps, fmt.Sprintf(`{"SPDXID":"SPDXRef-%d","name":"x","versionInfo":"1","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":%q}]}`, i, p))
		}
		return `{"spdxVersion":"SPDX-2.3","name":"x","packages":[` + strings.Join(ps, ",") + `]}`
	}
	type pkg struct{ name, arch, evr string }
	for _, tc := range []struct {
		name, doc string
		want      []pkg
		encoded   []string // arch spellings Encode writes, in package order
	}{
		{"debian.cdx.json", cdxDoc("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12", "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"),
			[]pkg{{"libc6", "x86_64", "2.36-9+deb12u4"}, {"tzdata", "noarch", "2024a-0+deb12u1"}}, []string{"amd64", "all"}},
		{"ubuntu-arm64.cdx.json", cdxDoc("pkg:deb/ubuntu/libc6@2.39-0ubuntu8.3?arch=arm64&distro=ubuntu-24.04", "pkg:deb/ubuntu/openssh-server@1%3A9.6p1-3ubuntu13.5?arch=arm64&distro=ubuntu-24.04"),
			[]pkg{{"libc6", "aarch64", "2.39-0ubuntu8.3"}, {"openssh-server", "aarch64", "1:9.6p1-3ubuntu13.5"}}, []string{"arm64", "arm64"}},
		{"ubuntu-arm64.spdx.json", spdxDoc("pkg:deb/ubuntu/libc6@2.39-0ubuntu8.3?arch=ARM64&distro=ubuntu-24.04", "pkg:dpkg/tzdata@2024a-3ubuntu1.1?arch=ALL&epoch=0"),
			[]pkg{{"libc6", "aarch64", "2.39-0ubuntu8.3"}, {"tzdata", "noarch", "2024a-3ubuntu1.1"}}, []string{"arm64", "all"}},
		{"al2023-arm64.cdx.json", cdxDoc("pkg:rpm/amazon/bash@5.2.15-1.amzn2023.0.2?arch=aarch64&distro=amazon-2023", "pkg:rpm/amazon/tzdata@2024a-1.amzn2023.0.1?arch=noarch&distro=amazon-2023"),
			[]pkg{{"bash", "aarch64", "5.2.15-1.amzn2023.0.2"}, {"tzdata", "noarch", "2024a-1.amzn2023.0.1"}}, []string{"aarch64", "noarch"}},
		{"al2023-arm64.spdx.json", spdxDoc("pkg:rpm/amazon/glibc@2.34-52.amzn2023.0.8?arch=aarch64&distro=amazon-2023", "pkg:rpm/amazon/glibc@2.34-52.amzn2023.0.8?arch=i686&distro=amazon-2023"),
			[]pkg{{"glibc", "aarch64", "2.34-52.amzn2023.0.8"}, {"glibc", "i686", "2.34-52.amzn2023.0.8"}}, []string{"aarch64", "i686"}},
		{"debian.yaml", "schema_version: 1\nami_id: " + ami + "\npackage_format: deb\npackages:\n  - {name: libc6, arch: AMD64, version: \"2.36\", release: 9+deb12u4}\n  - {name: libc6, arch: i386, version: \"2.36\", release: 9+deb12u4}\n",
			[]pkg{{"libc6", "i386", "2.36-9+deb12u4"}, {"libc6", "x86_64", "2.36-9+deb12u4"}}, []string{"i386", "amd64"}},
		{"debian.json", `{"schema_version":1,"ami_id":"` + ami + `","package_format":"deb","packages":[{"name":"libc6","arch":"x86_64","version":"2.36-9+deb12u4"}]}`,
			[]pkg{{"libc6", "x86_64", "2.36-9+deb12u4"}}, []string{"amd64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.name, []byte(tc.doc), Options{AMI: ami})
			if err != nil {
				t.Fatal(err)
			}
			var got []pkg
			for _, p := range m.Packages {
				got = append(got, pkg{p.Name, p.Arch, p.EVR})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("packages %v, want %v", got, tc.want)
			}
			b, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Packages []struct{ Arch string } `yaml:"packages"`
			}
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			var arches []string
			for _, p := range doc.Packages {
				arches = append(arches, p.Arch)
			}
			if !reflect.DeepEqual(arches, tc.encoded) {
				t.Errorf("encoded arches %v, want %v\n%s", arches, tc.encoded, b)
			}
			back, err := Decode("back.yaml", b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			back.Source, back.Provenance = m.Source, m.Provenance
			if !reflect.DeepEqual(back.Packages, m.Packages) {
				t.Errorf("re-decoded %+v, want %+v", back.Packages, m.Packages)
			}
		})
	}
}

// The native, CycloneDX, SPDX and Image Builder forms of one Windows AMI's
// baseline agree on the applications they all carry.
func TestWindowsFormatsAgree(t *testing.T) {
	native, err := Decode("w.yaml", readFixture(t, "windows2022.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		opts Options
		// extra: findings expected because the format carries less
		extra int
	}{
		{"windows2022.cdx.json", Options{}, 0},
		{"windows2022.spdx.json", Options{}, 2},                                           // two KBs fewer
		{"windows2022.imagebuilder.json", Options{PackageFormat: drift.FormatWindows}, 0}, // name and version only
		{"windows2022-registry.cdx.json", Options{AMI: "ami-0c1d2e3f4a5b6c7d8"}, 0},       // no purls: name, publisher, version
		{"windows2022-registry.spdx.json", Options{}, 0},                                  // no KBs: updates not compared
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := Decode(tc.file, readFixture(t, tc.file), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			s := drift.SnapshotFromManifest(native)
			r := drift.Compare(m, s, &drift.Policy{})
			if len(r.Findings) != tc.extra {
				t.Errorf("%s against the native baseline: %s %+v", tc.file, r.Verdict, r.Findings)
			}
			for _, f := range r.Findings {
				if f.Category != drift.CategoryUpdate || f.Change != drift.ChangeAdded {
					t.Errorf("unexpected finding %+v", f)
				}
			}
		})
	}
}

// A Windows SBOM without purls keeps each application's publisher (CycloneDX
// publisher, SPDX supplier) and leaves its architecture open.
func TestWindowsRegistrySBOMPublishers(t *testing.T) {
	for _, tc := range []struct {
		file string
		opts Options
	}{
		{"windows2022-registry.cdx.json", Options{AMI: "ami-0c1d2e3f4a5b6c7d8"}},
		{"windows2022-registry.spdx.json", Options{}},
	} {
		m, err := Decode(tc.file, readFixture(t, tc.file), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range m.Packages {
			if p.Arch != "" || p.Format != drift.FormatWindows {
				t.Errorf("%s: %s: arch %q format %q, want any arch, windows", tc.file, p.Name, p.Arch, p.Format)
			}
			got[p.Name] = p.Publisher
		}
		for name, pub := range map[string]string{"Contoso Line-of-Business Agent": "Contoso Ltd.", "AWS Tools for Windows": "Amazon Web Services Developer Relations", "Amazon SSM Agent": "Amazon Web Services"} {
			if got[name] != pub {
				t.Errorf("%s: %s publisher %q, want %q", tc.file, name, got[name], pub)
			}
		}
	}
}

// Encode writes a Windows service's Status and StartType by the agent's
// names and reads them back.
func TestEncodeWindowsServices(t *testing.T) {
	m, err := Decode("w.yaml", readFixture(t, "windows2022.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"status: Running", "start_type: Automatic", "publisher: Amazon Web Services", "hotfix_id: KB5034439", "feature_type: Role Service", "arch: i386"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded manifest lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "enabled:") || strings.Contains(string(b), "epoch:") {
		t.Errorf("Linux field names in a Windows manifest:\n%s", b)
	}
}
