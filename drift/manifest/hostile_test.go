package manifest

import "testing"

// TestHostileDocuments: control characters (NUL included) and absurd epochs
// are refused by every decoder with an error naming the field, never
// accepted into a manifest that would make instances "drift".
func TestHostileDocuments(t *testing.T) {
	const head = "schema_version: 1\nami_id: ami-0abc1234def567890\n"
	const jhead = `{"schema_version":1,"ami_id":"ami-0abc1234def567890",`
	cdx := func(components string) string {
		return `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"properties":[{"name":"imageId","value":"ami-0abc1234def567890"}]},"components":[` + components + `]}`
	}
	spdx := func(purl string) string {
		return `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"ami-0abc1234def567890","documentNamespace":"https://x/ami-0abc1234def567890","packages":[` +
			`{"name":"x","SPDXID":"SPDXRef-0","versionInfo":"1","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"` + purl + `"}]}]}`
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		// native YAML: escapes in double-quoted scalars
		{"b.yaml", head + "packages:\n  - {name: a, version: \"1\"}\n  - {name: \"bash\\0\", version: \"1\"}\n", "b.yaml: packages[1].name: contains control character U+0000"},
		{"b.yaml", head + "packages:\n  - {name: bash, version: \"5.2\\e[2J\"}\n", "b.yaml: packages[0].version: contains control character U+001B"},
		{"b.yaml", head + "packages:\n  - {name: bash, arch: \"x86\\x0064\", version: \"1\"}\n", "b.yaml: packages[0].arch: contains control character U+0000"},
		{"b.yaml", head + "packages:\n  - {name: bash, epoch: \"100000000000000000000000\", version: \"1\"}\n", `b.yaml: packages[0].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
		{"b.yaml", head + "packages:\n  - {name: bash, epoch: 100000000000000000000000, version: \"1\"}\n", `b.yaml: packages[0].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
		{"b.yaml", head + "packages:\n  - {name: bash, version: \"4294967296:1\"}\n", `b.yaml: packages[0].epoch: "4294967296" is out of range (at most 2147483647)`},
		{"b.yaml", head + "files:\n  - {path: \"/etc/pass\\0wd\"}\n", "b.yaml: files[0].path: contains control character U+0000"},
		{"b.yaml", head + "services:\n  - {name: \"ssh\\td\"}\n", "b.yaml: services[0].name: contains control character U+0009"},
		{"b.yaml", head + "name: \"web\\0\"\n", "b.yaml: name: contains control character U+0000"},
		{"b.yaml", head + "provenance: {captured_from: \"i-1\\r\\n2\"}\n", "b.yaml: provenance.captured_from: contains control character U+000D"},
		{"b.yaml", head + "packages:\n  - {name: a, version: \"1\"}\ncustom:\n  Custom:Sysctl: {entries: [{Name: \"kernel.x\", Value: \"1\\0\"}]}\n", "b.yaml: custom[Custom:Sysctl].entries[0].Value: contains control character U+0000"},
		// native JSON
		{"b.json", jhead + `"packages":[{"name":"bash\u0000","version":"1"}]}`, "b.json: packages[0].name: contains control character U+0000"},
		{"b.json", jhead + `"packages":[{"name":"bash","version":"1","epoch":100000000000000000000000}]}`, `b.json: packages[0].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
		{"b.json", jhead + `"packages":[{"name":"bash","version":"1","release":"1\u0085x"}]}`, "b.json: packages[0].release: contains control character U+0085"},
		// CycloneDX: the name comes from the purl
		{"b.cdx.json", cdx(`{"type":"library","name":"bash","version":"1","purl":"pkg:rpm/amzn/bash%00x@5.2-1?arch=x86_64"}`), `b.cdx.json: components[0].purl: "pkg:rpm/amzn/bash%00x@5.2-1?arch=x86_64": name contains control character U+0000`},
		{"b.cdx.json", cdx(`{"type":"library","name":"bash","version":"1","purl":"pkg:rpm/amzn/bash@5.2%1B-1?arch=x86_64"}`), `b.cdx.json: components[0].purl: "pkg:rpm/amzn/bash@5.2%1B-1?arch=x86_64": version contains control character U+001B`},
		{"b.cdx.json", cdx(`{"type":"library","name":"bash","version":"1","purl":"pkg:rpm/amzn/bash@5.2-1?arch=x86%0A64"}`), `b.cdx.json: components[0].purl: "pkg:rpm/amzn/bash@5.2-1?arch=x86%0A64": arch contains control character U+000A`},
		{"b.cdx.json", cdx(`{"type":"library","name":"bash","version":"1","purl":"pkg:rpm/amzn/bash@5.2-1?arch=x86_64&epoch=100000000000000000000000"}`),
			`b.cdx.json: components[0].purl: "pkg:rpm/amzn/bash@5.2-1?arch=x86_64&epoch=100000000000000000000000": epoch "100000000000000000000000" is out of range (at most 2147483647)`},
		// SPDX
		{"b.spdx.json", spdx("pkg:deb/debian/libc6%00@2.36-9?arch=amd64"), `b.spdx.json: packages[0].externalRefs.purl: "pkg:deb/debian/libc6%00@2.36-9?arch=amd64": name contains control character U+0000`},
		{"b.spdx.json", spdx("pkg:deb/debian/libc6@99999999999:2.36-9?arch=amd64"), `b.spdx.json: packages[0].externalRefs.purl: "pkg:deb/debian/libc6@99999999999:2.36-9?arch=amd64": epoch "99999999999" is out of range (at most 2147483647)`},
		// Image Builder
		{"b.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash","packageVersion":"1"},{"packageName":"ba\u0000sh","packageVersion":"1"}]}`, "b.imagebuilder.json: imagePackageList[1].packageName: contains control character U+0000"},
		{"b.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash","packageVersion":"1\u0007"}]}`, "b.imagebuilder.json: imagePackageList[0].packageVersion: contains control character U+0007"},
		{"b.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash","packageVersion":"100000000000000000000000:1"}]}`, `b.imagebuilder.json: packages[0].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
	} {
		m, err := Decode(tc.name, []byte(tc.data), Options{AMI: "ami-0abc1234def567890"})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s\n%s\n got %v\nwant %s", tc.name, tc.data, err, tc.want)
		}
		if m != nil {
			t.Errorf("%s: manifest returned with an error", tc.name)
		}
	}
}

// TestEpochAtTheLimitIsAccepted: the largest rpm epoch decodes.
func TestEpochAtTheLimitIsAccepted(t *testing.T) {
	m, err := Decode("b.yaml", []byte("schema_version: 1\nami_id: ami-0abc1234def567890\npackages:\n  - {name: bash, epoch: 2147483647, version: \"1\"}\n"), Options{})
	if err != nil || m.Packages[0].EVR != "2147483647:1" {
		t.Fatalf("%v %+v", err, m)
	}
}
