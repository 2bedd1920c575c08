package manifest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/driftd/driftd/drift"
)

// checkDecoded asserts what every successful decode guarantees, and that the
// native encoding round-trips.
func checkDecoded(t *testing.T, m *drift.Manifest) {
	t.Helper()
	if m == nil {
		t.Fatal("nil manifest without error")
	}
	if m.NormalizationVersion != drift.NormalizationVersion {
		t.Fatalf("normalization version %d", m.NormalizationVersion)
	}
	if len(m.Packages) > MaxPackages {
		t.Fatalf("%d packages", len(m.Packages))
	}
	for i, p := range m.Packages {
		if p.Name == "" || p.EVR == "" {
			t.Fatalf("packages[%d] incomplete: %+v", i, p)
		}
		for _, v := range []string{p.Name, p.Publisher, p.Arch, p.Epoch, p.Version, p.Release, p.EVR} {
			if hasControl(v) {
				t.Fatalf("packages[%d] holds a control character: %q", i, []string{p.Name, p.Publisher, p.Arch, p.Epoch, p.Version, p.Release})
			}
		}
		if p.Format == drift.FormatWindows && (p.Epoch != "" || p.Release != "") {
			t.Fatalf("packages[%d]: a Windows application with epoch or release: %+v", i, p)
		}
		if p.Format != drift.FormatWindows && p.Publisher != "" {
			t.Fatalf("packages[%d]: publisher kept on a %q package: %+v", i, p.Format, p)
		}
		if err := drift.CheckEpoch(p.Epoch); err != nil {
			t.Fatalf("packages[%d] epoch accepted: %v", i, err)
		}
		if i > 0 {
			q := m.Packages[i-1]
			if q.Name > p.Name || (q.Name == p.Name && q.Publisher > p.Publisher) || (q.Name == p.Name && q.Publisher == p.Publisher && q.Arch > p.Arch) {
				t.Fatalf("not sorted at %d", i)
			}
		}
	}
	for i, f := range m.Files {
		if hasControl(f.Path) || hasControl(f.Owner) || hasControl(f.Mode) {
			t.Fatalf("files[%d] holds a control character: %+q", i, f.Path+" "+f.Owner+" "+f.Mode)
		}
	}
	for i, s := range m.Services {
		if hasControl(s.Name) || hasControl(s.State) || hasControl(s.Enabled) {
			t.Fatalf("services[%d] holds a control character: %+q", i, s.Name+" "+s.State+" "+s.Enabled)
		}
	}
	for i, u := range m.Updates {
		if u.HotFixID == "" || u.HotFixID != strings.ToUpper(u.HotFixID) || hasControl(u.HotFixID) || hasControl(u.Description) {
			t.Fatalf("updates[%d] not normalised or holds a control character: %+q", i, u.HotFixID+" "+u.Description)
		}
		if i > 0 && m.Updates[i-1].HotFixID >= u.HotFixID {
			t.Fatalf("updates not sorted and unique at %d", i)
		}
	}
	for i, r := range m.Roles {
		if r.Name == "" || !r.Installed || hasControl(r.Name) || hasControl(r.DisplayName) || hasControl(r.FeatureType) {
			t.Fatalf("roles[%d] incomplete or holds a control character: %+v", i, r)
		}
		if i > 0 && m.Roles[i-1].Name >= r.Name {
			t.Fatalf("roles not sorted and unique at %d", i)
		}
	}
	if m.AMI == "" {
		return
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	m2, err := Decode("roundtrip.yaml", b, Options{})
	if err != nil {
		t.Fatalf("re-decode of encoded manifest: %v\n%s", err, b)
	}
	if !slices.Equal(m.Packages, m2.Packages) {
		t.Fatalf("packages differ after round trip:\n%+v\n%+v", m.Packages, m2.Packages)
	}
	if !slices.Equal(m.Updates, m2.Updates) || !slices.Equal(m.Roles, m2.Roles) || !slices.Equal(m.Services, m2.Services) {
		t.Fatalf("updates, roles or services differ after round trip:\n%+v %+v %+v\n%+v %+v %+v", m.Updates, m.Roles, m.Services, m2.Updates, m2.Roles, m2.Services)
	}
}

// hasControl reports a control character that normalisation did not trim.
func hasControl(s string) bool {
	return strings.IndexFunc(strings.TrimSpace(s), unicode.IsControl) >= 0
}

func fuzzDecoder(f *testing.F, name string, format Format, fixtures ...string) {
	for _, fx := range fixtures {
		f.Add(readFixture(f, fx))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := name
		if format == FormatAuto && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			name = "fuzz.json" // native JSON (or sniffed SBOM) rather than YAML
		}
		m, err := Decode(name, data, Options{Format: format})
		if err != nil {
			if m != nil {
				t.Fatal("manifest returned with an error")
			}
			return
		}
		checkDecoded(t, m)
	})
}

func FuzzDecodeNative(f *testing.F) {
	f.Add([]byte("schema_version: 1\nami_id: ami-0abc1234\npackages:\n  - {name: a, version: 1:2-3}\n"))
	f.Add([]byte(`{"schema_version":1,"ami_id":"ami-0abc1234","packages":[{"name":"a","version":1.10,"epoch":2}]}`))
	// hostile seeds: control characters and absurd epochs
	f.Add([]byte("schema_version: 1\nami_id: ami-0abc1234\npackages:\n  - {name: \"bash\\0\", version: \"1\"}\n"))
	f.Add([]byte("schema_version: 1\nami_id: ami-0abc1234\npackages:\n  - {name: bash, epoch: 100000000000000000000000, version: \"1\"}\n"))
	f.Add([]byte("schema_version: 1\nami_id: ami-0abc1234\npackages:\n  - {name: bash, version: \"2147483648:1\\e[0m\"}\nfiles:\n  - {path: \"/a\\x00\"}\n"))
	f.Add([]byte(`{"schema_version":1,"ami_id":"ami-0abc1234","packages":[{"name":"a\u0000","version":"1\u001b","epoch":99999999999}],"services":[{"name":"s\u0085x"}]}`))
	// Windows fields: publisher, updates, roles, services by status/start_type
	f.Add([]byte("schema_version: 1\nami_id: ami-0abc1234\nos_family: windows\npackages:\n  - {name: A, publisher: \"P\\0\", arch: x64, version: 1.0}\n" +
		"updates:\n  - {hotfix_id: kb1}\n  - {hotfix_id: KB1}\nroles:\n  - {name: Web-Server}\nservices:\n  - {name: W3SVC, status: Running, state: Running}\n"))
	f.Add([]byte(`{"schema_version":1,"ami_id":"ami-0abc1234","package_format":"windows","packages":[{"name":"A","publisher":"P","arch":"x86","version":"1.0","release":"1"}],` +
		`"updates":[{"hotfix_id":" KB5034439 ","description":"Security Update"}],"roles":[{"name":"R","feature_type":"Role\u001b"}],"services":[{"name":"S","start_type":"Manual"}]}`))
	fuzzDecoder(f, "fuzz.yaml", FormatAuto, "ami-0abc1234def567890.yaml", "windows2022.yaml")
}

func FuzzDecodeCycloneDX(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"properties":[{"name":"imageId","value":"ami-0abc1234"}]},"components":[` +
		`{"type":"library","name":"b","version":"1","purl":"pkg:rpm/amzn/bash%00x@5.2%1B-1?arch=x86%0A64&epoch=100000000000000000000000"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"Microsoft Windows Server 2022"}},"components":[` +
		`{"type":"application","name":"a","publisher":"P\u0000","purl":"pkg:generic/ns/a@1.0?arch=x64"},{"type":"application","name":"k","purl":"pkg:generic/kb1"},{"type":"application","name":"g","purl":"pkg:generic/a%0A@"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"operating-system","name":"Windows"}},"components":[` +
		`{"type":"application","name":" a ","publisher":"P","version":" 1.0 "},{"type":"application","name":"KB1","version":"x"},{"type":"application","name":"b","version":"\u0085"},{"type":"library","name":"c","version":"1"}]}`))
	fuzzDecoder(f, "fuzz.cdx.json", FormatCycloneDX, "al2023-inspector.cdx.json", "debian12-trivy.cdx.json", "windows2022.cdx.json", "windows2022-registry.cdx.json")
}

func FuzzDecodeSPDX(f *testing.F) {
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"ami-0abc1234","documentNamespace":"https://x/ami-0abc1234","packages":[` +
		`{"name":"x","SPDXID":"SPDXRef-0","versionInfo":"1","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/libc6%00@99999999999:2.36-9?arch=amd64"}]}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"Windows","primaryPackagePurpose":"OPERATING-SYSTEM"},` +
		`{"name":"a","versionInfo":"1","supplier":"Organization: P\u0000","primaryPackagePurpose":"APPLICATION"},{"name":"kb5034439"},{"name":"b","versionInfo":" ","primaryPackagePurpose":"APPLICATION"}]}`))
	fuzzDecoder(f, "fuzz.spdx.json", FormatSPDX, "debian12-inspector.spdx.json", "windows2022.spdx.json", "windows2022-registry.spdx.json")
}

func FuzzDecodeImageBuilder(f *testing.F) {
	f.Add([]byte(`{"imagePackageList":[{"packageName":"ba\u0000sh","packageVersion":"100000000000000000000000:1\u0007"}]}`))
	fuzzDecoder(f, "fuzz.imagebuilder.json", FormatImageBuilder, "al2023.imagebuilder.json", "al2023-page.imagebuilder.json", "windows2022.imagebuilder.json")
}

// FuzzPURL checks package URL conversion on its own.
func FuzzPURL(f *testing.F) {
	for _, s := range []string{
		"pkg:rpm/amzn/openssl-libs@3.0.8-1.amzn2023.0.12?arch=x86_64&epoch=1&distro=amzn-2023",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
		"pkg:dpkg/libss2@1.44.5-1+deb10u3?arch=ARM64&epoch=0&upstream=libss2-1.44.5-1+deb10u3.src.dpkg",
		"pkg:pypi/pip@22.0.4?path=usr/local/lib",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, _, ok, _, err := packageFromPURL(s)
		if err != nil || !ok {
			return
		}
		if p.Name == "" || p.EVR == "" {
			t.Fatalf("%q: incomplete package %+v", s, p)
		}
		q := p
		drift.NormalizePackage(&q)
		if q != p {
			t.Fatalf("%q: not normalised: %+v vs %+v", s, p, q)
		}
	})
}
