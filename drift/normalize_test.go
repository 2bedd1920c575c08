package drift

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPackageFromInventory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		entry  map[string]string
		format PackageFormat
		want   Package
	}{
		{"rpm without epoch key", map[string]string{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023.0.2", "Architecture": "x86_64", "PackageId": "bash-5.2.15-1.amzn2023.0.2.src.rpm"}, "",
			Package{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2", EVR: "5.2.15-1.amzn2023.0.2", Format: FormatRPM}},
		{"rpm with epoch", map[string]string{"Name": "openssl-libs", "Version": "3.0.8", "Release": "1.amzn2023.0.12", "Epoch": "1", "Architecture": "x86_64", "PackageId": "openssl-3.0.8-1.amzn2023.0.12.src.rpm"}, "",
			Package{Name: "openssl-libs", Arch: "x86_64", Epoch: "1", Version: "3.0.8", Release: "1.amzn2023.0.12", EVR: "1:3.0.8-1.amzn2023.0.12", Format: FormatRPM}},
		{"rpm epoch 0 equals absent", map[string]string{"Name": "kernel", "Version": "6.1.79", "Release": "99.167.amzn2023", "Epoch": "0", "Architecture": "x86_64"}, "",
			Package{Name: "kernel", Arch: "x86_64", Version: "6.1.79", Release: "99.167.amzn2023", EVR: "6.1.79-99.167.amzn2023", Format: FormatRPM}},
		{"rpm detected by Release key alone", map[string]string{"Name": "gpg-pubkey", "Version": "d832c631", "Release": "5e6a3bc8", "Architecture": "(none)"}, "",
			Package{Name: "gpg-pubkey", Arch: "(none)", Version: "d832c631", Release: "5e6a3bc8", EVR: "d832c631-5e6a3bc8", Format: FormatRPM}},
		{"dpkg full version with epoch", map[string]string{"Name": "openssh-server", "Version": "1:9.2p1-2+deb12u2", "Architecture": "amd64", "PackageId": "openssh-server_1:9.2p1-2+deb12u2_amd64.deb"}, "",
			Package{Name: "openssh-server", Arch: "x86_64", Epoch: "1", Version: "9.2p1", Release: "2+deb12u2", EVR: "1:9.2p1-2+deb12u2", Format: FormatDeb}},
		{"dpkg upstream with hyphen", map[string]string{"Name": "libfoo", "Version": "1.2-beta-3", "Architecture": "amd64"}, FormatDeb,
			Package{Name: "libfoo", Arch: "x86_64", Version: "1.2-beta", Release: "3", EVR: "1.2-beta-3", Format: FormatDeb}},
		{"dpkg native package", map[string]string{"Name": "tzdata", "Version": "2024a", "Architecture": "all", "PackageId": "tzdata_2024a_all.deb"}, "",
			Package{Name: "tzdata", Arch: "noarch", Version: "2024a", EVR: "2024a", Format: FormatDeb}},
		{"generic (Windows MSI)", map[string]string{"Name": "Amazon SSM Agent", "Version": "3.3.40.0", "Architecture": "x86_64", "PackageId": "{B1A3AC35-A431-4C8C-9D21-E2CA92047F76}"}, "",
			Package{Name: "Amazon SSM Agent", Arch: "x86_64", Version: "3.3.40.0", EVR: "3.3.40.0", Format: FormatGeneric}},
		{"rpm (none) epoch is absent", map[string]string{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023.0.2", "Epoch": "(none)", "Architecture": "x86_64"}, FormatRPM,
			Package{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2", EVR: "5.2.15-1.amzn2023.0.2", Format: FormatRPM}},
		{"spaces trimmed", map[string]string{"Name": " bash ", "Version": " 5.2.15 ", "Release": "1 ", "Architecture": "x86_64"}, FormatRPM,
			Package{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1", EVR: "5.2.15-1", Format: FormatRPM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PackageFromInventory(tc.entry, tc.format); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCanonicalArch(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// dpkg and SBOM spellings map to the rpm (and SSM agent) ones
		{"amd64", "x86_64"}, {"x86_64", "x86_64"}, {"AMD64", "x86_64"}, {" amd64 ", "x86_64"},
		{"arm64", "aarch64"}, {"aarch64", "aarch64"}, {"ARM64", "aarch64"},
		{"all", "noarch"}, {"noarch", "noarch"},
		{"ppc64el", "ppc64le"}, {"386", "i386"},
		// distinct 32-bit x86 arches stay distinct (rpm multilib, dpkg multiarch)
		{"i386", "i386"}, {"i686", "i686"}, {"i586", "i586"},
		{"s390x", "s390x"}, {"armhf", "armhf"}, {"(none)", "(none)"}, {"", ""}, {" ", ""},
	} {
		if got := CanonicalArch(tc.in); got != tc.want {
			t.Errorf("CanonicalArch(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		f          PackageFormat
		arch, want string
	}{
		{FormatDeb, "x86_64", "amd64"}, {FormatDeb, "aarch64", "arm64"}, {FormatDeb, "noarch", "all"},
		{FormatDeb, "ppc64le", "ppc64el"}, {FormatDeb, "i386", "i386"}, {FormatDeb, "", ""},
		{FormatRPM, "x86_64", "x86_64"}, {FormatRPM, "aarch64", "aarch64"}, {FormatRPM, "noarch", "noarch"}, {FormatRPM, "i686", "i686"},
		{FormatGeneric, "x86_64", "x86_64"},
	} {
		got := DisplayArch(tc.f, tc.arch)
		if got != tc.want {
			t.Errorf("DisplayArch(%q, %q) = %q, want %q", tc.f, tc.arch, got, tc.want)
		}
		if back := CanonicalArch(got); back != tc.arch {
			t.Errorf("CanonicalArch(DisplayArch(%q, %q)) = %q", tc.f, tc.arch, back)
		}
	}
}

// Entries as amazon-ssm-agent reports them (dataProvider_unix.go's
// dpkg-query and rpm query formats, then model.FormatArchitecture) land in
// the same canonical arch as the dpkg/SBOM spelling of the same package.
func TestInventoryArchMatchesManifest(t *testing.T) {
	for _, tc := range []struct {
		manifest Package
		entry    map[string]string
	}{
		{Package{Name: "libc6", Arch: "amd64", Version: "2.36-9+deb12u4", Format: FormatDeb},
			map[string]string{"Name": "libc6", "Version": "2.36-9+deb12u4", "Architecture": "x86_64", "PackageId": "libc6_2.36-9+deb12u4_amd64.deb"}},
		{Package{Name: "libc6", Arch: "arm64", Version: "2.39-0ubuntu8.3", Format: FormatDeb},
			map[string]string{"Name": "libc6", "Version": "2.39-0ubuntu8.3", "Architecture": "arm64", "PackageId": "libc6_2.39-0ubuntu8.3_arm64.deb"}},
		{Package{Name: "tzdata", Arch: "all", Version: "2024a-0+deb12u1", Format: FormatDeb},
			map[string]string{"Name": "tzdata", "Version": "2024a-0+deb12u1", "Architecture": "all", "PackageId": "tzdata_2024a-0+deb12u1_all.deb"}},
		{Package{Name: "libc6", Arch: "i386", Version: "2.36-9+deb12u4", Format: FormatDeb},
			map[string]string{"Name": "libc6", "Version": "2.36-9+deb12u4", "Architecture": "i386", "PackageId": "libc6_2.36-9+deb12u4_i386.deb"}},
		{Package{Name: "bash", Arch: "aarch64", Version: "5.2.15", Release: "1.amzn2023.0.2", Format: FormatRPM},
			map[string]string{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023.0.2", "Architecture": "aarch64", "PackageId": "bash-5.2.15-1.amzn2023.0.2.src.rpm"}},
		{Package{Name: "glibc", Arch: "i686", Version: "2.34", Release: "52.amzn2023.0.8", Format: FormatRPM},
			map[string]string{"Name": "glibc", "Version": "2.34", "Release": "52.amzn2023.0.8", "Architecture": "i686", "PackageId": "glibc-2.34-52.amzn2023.0.8.src.rpm"}},
	} {
		m := tc.manifest
		NormalizePackage(&m)
		o := PackageFromInventory(tc.entry, "")
		if m.Arch != o.Arch || m.EVR != o.EVR || o.Format != m.Format {
			t.Errorf("%s: manifest %s %s (%s), inventory %s %s (%s)", m.Name, m.Arch, m.EVR, m.Format, o.Arch, o.EVR, o.Format)
		}
		if d := DisplayArch(o.Format, o.Arch); d != strings.ToLower(tc.manifest.Arch) {
			t.Errorf("%s: displayed as %s, want %s", m.Name, d, tc.manifest.Arch)
		}
	}
}

// The same package reported by a manifest and by SSM has the same EVR.
func TestEVRSameFromBothSides(t *testing.T) {
	for _, tc := range []struct {
		manifest Package
		entry    map[string]string
	}{
		{Package{Name: "openssl-libs", Epoch: "1", Version: "3.0.8", Release: "1.amzn2023.0.12", Format: FormatRPM},
			map[string]string{"Name": "openssl-libs", "Epoch": "1", "Version": "3.0.8", "Release": "1.amzn2023.0.12", "PackageId": "x.src.rpm"}},
		{Package{Name: "bash", Epoch: "0", Version: "5.2.15", Release: "1.amzn2023.0.2", Format: FormatRPM},
			map[string]string{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023.0.2", "PackageId": "x.src.rpm"}},
		{Package{Name: "libc6", Version: "2.36", Release: "9+deb12u4", Format: FormatDeb},
			map[string]string{"Name": "libc6", "Version": "2.36-9+deb12u4", "PackageId": "libc6_2.36-9+deb12u4_amd64.deb"}},
		{Package{Name: "vim-tiny", Version: "2:9.0.1378-2", Format: FormatDeb},
			map[string]string{"Name": "vim-tiny", "Version": "2:9.0.1378-2", "PackageId": "vim-tiny_2:9.0.1378-2_amd64.deb"}},
	} {
		m := tc.manifest
		NormalizePackage(&m)
		o := PackageFromInventory(tc.entry, "")
		if m.EVR != o.EVR {
			t.Errorf("%s: manifest EVR %q, inventory EVR %q", m.Name, m.EVR, o.EVR)
		}
	}
}

func TestNormalizePackage(t *testing.T) {
	for _, tc := range []struct {
		in      Package
		wantEVR string
	}{
		{Package{Version: "1.0", Epoch: "007"}, "7:1.0"},
		{Package{Version: "1.0", Epoch: "00"}, "1.0"},
		{Package{Version: "1:2.0-3", Format: FormatRPM}, "1:2.0-3"},
		{Package{Version: "0:2.0", Release: "3", Format: FormatRPM}, "2.0-3"},
		{Package{Version: "2.0-3", Format: FormatGeneric}, "2.0-3"},
		{Package{Version: "1.2-beta-3", Format: FormatRPM}, "1.2-beta-3"},
	} {
		p := tc.in
		NormalizePackage(&p)
		if p.EVR != tc.wantEVR {
			t.Errorf("%+v: EVR %q, want %q", tc.in, p.EVR, tc.wantEVR)
		}
		q := p
		NormalizePackage(&q)
		if q != p {
			t.Errorf("NormalizePackage not idempotent: %+v then %+v", p, q)
		}
	}
}

// A Debian manifest stored by a driftd with normalisation version 1 (arch
// amd64 kept as written) is re-normalised on load and matches what the SSM
// agent reports (x86_64).
func TestNormalizationVersion1DebianManifest(t *testing.T) {
	m := Manifest{NormalizationVersion: 1, AMI: "ami-0abc1234def567890", PackageFormat: FormatDeb, Packages: []Package{
		{Name: "libc6", Arch: "amd64", Version: "2.36", Release: "9+deb12u4"},
		{Name: "tzdata", Arch: "all", Version: "2024a", Release: "0+deb12u1"},
	}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if m.NormalizationVersion != NormalizationVersion || m.Packages[0].Arch != "x86_64" || m.Packages[1].Arch != "noarch" {
		t.Fatalf("after load: version %d, packages %+v", m.NormalizationVersion, m.Packages)
	}
	s := &Snapshot{InstanceID: "i-1", AMI: m.AMI, CaptureTimes: map[string]time.Time{TypeApplication: {}},
		Packages: PackagesFromInventory([]map[string]string{
			{"Name": "libc6", "Version": "2.36-9+deb12u4", "Architecture": "x86_64", "PackageId": "libc6_2.36-9+deb12u4_amd64.deb"},
			{"Name": "tzdata", "Version": "2024a-0+deb12u1", "Architecture": "all", "PackageId": "tzdata_2024a-0+deb12u1_all.deb"},
		}, "")}
	s.Normalize()
	if r := Compare(&m, s, &Policy{}); r.Verdict != VerdictInSync {
		t.Errorf("verdict %s, findings %+v", r.Verdict, r.Findings)
	}
}

func TestManifestNormalizeErrors(t *testing.T) {
	pk := func(name, arch, ver string) Package {
		return Package{Name: name, Arch: arch, Version: ver, Format: FormatRPM}
	}
	for _, tc := range []struct {
		name string
		m    Manifest
		opts NormalizeOptions
		want string // "" = no error
	}{
		{"duplicate conflicting versions", Manifest{Packages: []Package{pk("bash", "x86_64", "5.2.15-1"), pk("bash", "x86_64", "5.2.15-2")}},
			NormalizeOptions{}, "packages: bash.x86_64 is listed with versions 5.2.15-1 and 5.2.15-2; only install-only packages (kernels) may have several versions"},
		{"exact duplicate is merged", Manifest{Packages: []Package{pk("bash", "x86_64", "5.2.15-1"), pk("bash", "x86_64", "5.2.15-1")}}, NormalizeOptions{}, ""},
		{"multilib is not a duplicate", Manifest{Packages: []Package{pk("glibc", "x86_64", "2.34-1"), pk("glibc", "i686", "2.34-1")}}, NormalizeOptions{}, ""},
		{"amd64 and x86_64 are one arch", Manifest{PackageFormat: FormatDeb, Packages: []Package{{Name: "libc6", Arch: "amd64", Version: "2.36-9"}, {Name: "libc6", Arch: "x86_64", Version: "2.36-10"}}},
			NormalizeOptions{}, "packages: libc6.amd64 is listed with versions 2.36-10 and 2.36-9; only install-only packages (kernels) may have several versions"},
		{"Debian multiarch is not a duplicate", Manifest{PackageFormat: FormatDeb, Packages: []Package{{Name: "libc6", Arch: "amd64", Version: "2.36-9"}, {Name: "libc6", Arch: "i386", Version: "2.36-9"}}},
			NormalizeOptions{}, ""},
		{"kernel may have several versions", Manifest{Packages: []Package{pk("kernel", "x86_64", "6.1.79-1"), pk("kernel", "x86_64", "6.1.82-1")}}, NormalizeOptions{}, ""},
		{"kernel-devel too", Manifest{Packages: []Package{pk("kernel-devel", "x86_64", "6.1.79-1"), pk("kernel-devel", "x86_64", "6.1.82-1")}}, NormalizeOptions{}, ""},
		{"install-only override", Manifest{Packages: []Package{pk("kernel", "x86_64", "6.1.79-1"), pk("kernel", "x86_64", "6.1.82-1")}},
			NormalizeOptions{InstallOnly: []string{"linux-image-*"}}, "packages: kernel.x86_64 is listed with versions 6.1.79-1 and 6.1.82-1; only install-only packages (kernels) may have several versions"},
		{"custom install-only", Manifest{Packages: []Package{pk("java-17", "x86_64", "17.0.1-1"), pk("java-17", "x86_64", "17.0.2-1")}},
			NormalizeOptions{InstallOnly: []string{"java-*"}}, ""},
		{"name-version-only tolerates duplicates", Manifest{NameVersionOnly: true, Packages: []Package{pk("glibc", "", "2.34-1"), pk("glibc", "", "2.34-2")}}, NormalizeOptions{}, ""},
		{"name-version-only drops arches", Manifest{NameVersionOnly: true, Packages: []Package{pk("glibc", "x86_64", "2.34-1"), pk("glibc", "i686", "2.34-1")}}, NormalizeOptions{}, ""},
		{"missing name", Manifest{Packages: []Package{pk("a", "", "1"), pk("", "", "1")}}, NormalizeOptions{}, "packages[1].name: required"},
		{"missing version", Manifest{Packages: []Package{pk("a", "", "")}}, NormalizeOptions{}, "packages[0].version: required"},
		{"bad epoch", Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "x"}}}, NormalizeOptions{}, `packages[0].epoch: "x" is not a number`},
		{"bad package format", Manifest{Packages: []Package{{Name: "a", Version: "1", Format: "apk"}}}, NormalizeOptions{}, `packages[0].format: "apk" is not rpm, deb or windows`},
		{"bad manifest format", Manifest{PackageFormat: "msi"}, NormalizeOptions{}, `package_format: "msi" is not rpm, deb or windows`},
		{"newer normalization", Manifest{NormalizationVersion: NormalizationVersion + 1}, NormalizeOptions{}, "normalization_version: 4 is newer than this driftd supports (3)"},
		{"file path required", Manifest{Files: []File{{Path: " "}}}, NormalizeOptions{}, "files[0].path: required"},
		{"file twice", Manifest{Files: []File{{Path: "/etc/a"}, {Path: "/etc/a"}}}, NormalizeOptions{}, "files: path /etc/a is listed twice"},
		{"service twice", Manifest{Services: []Service{{Name: "sshd"}, {Name: "sshd"}}}, NormalizeOptions{}, "services: sshd is listed twice"},
		{"service name required", Manifest{Services: []Service{{State: "active"}}}, NormalizeOptions{}, "services[0].name: required"},
		// hostile documents: control characters and absurd epochs
		{"NUL in a name", Manifest{Packages: []Package{pk("a", "", "1"), pk("bash\x00evil", "x86_64", "1")}}, NormalizeOptions{}, "packages[1].name: contains control character U+0000"},
		{"escape in a version", Manifest{Packages: []Package{pk("a", "", "1\x1b[31m")}}, NormalizeOptions{}, "packages[0].version: contains control character U+001B"},
		{"newline inside a release", Manifest{Packages: []Package{{Name: "a", Version: "1", Release: "1\n2"}}}, NormalizeOptions{}, "packages[0].release: contains control character U+000A"},
		{"C1 control in an arch", Manifest{Packages: []Package{pk("a", "x86\u0085_64", "1")}}, NormalizeOptions{}, "packages[0].arch: contains control character U+0085"},
		{"DEL in an epoch", Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "1\x7f"}}}, NormalizeOptions{}, "packages[0].epoch: contains control character U+007F"},
		{"surrounding whitespace is trimmed, not refused", Manifest{Packages: []Package{pk("\tbash\n", "x86_64", " 1\r\n")}}, NormalizeOptions{}, ""},
		{"epoch 10^23", Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "100000000000000000000000"}}}, NormalizeOptions{},
			`packages[0].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
		{"epoch 2^31", Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "2147483648"}}}, NormalizeOptions{}, `packages[0].epoch: "2147483648" is out of range (at most 2147483647)`},
		{"epoch 2^31-1 with leading zeros", Manifest{Packages: []Package{{Name: "a", Version: "1", Epoch: "0002147483647"}}}, NormalizeOptions{}, ""},
		{"epoch written into the version", Manifest{Packages: []Package{pk("a", "", "99999999999999999999:1.0")}}, NormalizeOptions{},
			`packages[0].epoch: "99999999999999999999" is out of range (at most 2147483647)`},
		{"NUL in a file path", Manifest{Files: []File{{Path: "/etc/a\x00b"}}}, NormalizeOptions{}, "files[0].path: contains control character U+0000"},
		{"control in a file owner", Manifest{Files: []File{{Path: "/etc/a", Owner: "ro\x08ot"}}}, NormalizeOptions{}, "files[0].owner: contains control character U+0008"},
		{"control in a service name", Manifest{Services: []Service{{Name: "ssh\x00d"}}}, NormalizeOptions{}, "services[0].name: contains control character U+0000"},
		{"control in a service state", Manifest{Services: []Service{{Name: "sshd", State: "act\x07ive"}}}, NormalizeOptions{}, "services[0].state: contains control character U+0007"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			err := m.NormalizeWith(tc.opts)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

// A manifest recorded with an older normalization version is re-normalised:
// stored EVRs are never trusted.
func TestManifestRenormalizesOlderVersion(t *testing.T) {
	m := Manifest{NormalizationVersion: 0, PackageFormat: FormatRPM, Packages: []Package{
		{Name: "bash", Version: "5.2.15", Release: "1", Epoch: "0", EVR: "0:5.2.15-1"}, // old-style EVR with explicit 0 epoch
		{Name: "a", Version: "1", EVR: "stale"},
	}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if m.NormalizationVersion != NormalizationVersion {
		t.Errorf("normalization version %d, want %d", m.NormalizationVersion, NormalizationVersion)
	}
	if m.Packages[0].Name != "a" || m.Packages[0].EVR != "1" || m.Packages[1].EVR != "5.2.15-1" || m.Packages[1].Epoch != "" {
		t.Errorf("not re-normalised: %+v", m.Packages)
	}
}

func TestFilesFromInventory(t *testing.T) {
	got := FilesFromInventory(TypeFile, []map[string]string{
		{"Name": "sshd_config", "InstalledDir": "/etc/ssh", "Size": "3667", "ModificationTime": "2026-11-01T09:00:00Z"},
		{"Name": "app.jar", "InstalledDir": "/opt/app/", "Size": "not-a-number", "ModificationTime": "yesterday"},
		{"Name": "hosts", "InstalledDir": `C:\Windows\System32\drivers\etc`, "Size": "824"},
		{"Name": "", "InstalledDir": ""},
	})
	want := []File{
		{Path: "/etc/ssh/sshd_config", Size: 3667, HasSize: true, ModTime: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)},
		{Path: "/opt/app/app.jar"},
		{Path: `C:\Windows\System32\drivers\etc\hosts`, Size: 824, HasSize: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d files, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] got %+v, want %+v", i, got[i], want[i])
		}
	}
	d := FilesFromInventory(TypeFileDigest, []map[string]string{{"Path": "/etc/sudoers", "SHA256": "ABCDEF", "Size": "0", "Mode": "0440", "Owner": "root"}})
	if len(d) != 1 || d[0] != (File{Path: "/etc/sudoers", SHA256: "abcdef", Size: 0, HasSize: true, Mode: "0440", Owner: "root"}) {
		t.Errorf("digest: %+v", d)
	}
}

func TestServicesFromInventory(t *testing.T) {
	got := ServicesFromInventory(TypeSystemdUnit, []map[string]string{{"Name": "sshd.service", "ActiveState": "active", "UnitFileState": "enabled", "SubState": "running"}, {"ActiveState": "x"}})
	if len(got) != 1 || got[0] != (Service{Name: "sshd.service", State: "active", Enabled: "enabled"}) {
		t.Errorf("systemd: %+v", got)
	}
	got = ServicesFromInventory(TypeService, []map[string]string{{"Name": "AmazonSSMAgent", "Status": "Running", "StartType": "Automatic", "DisplayName": "Amazon SSM Agent"}})
	if len(got) != 1 || got[0] != (Service{Name: "AmazonSSMAgent", State: "Running", Enabled: "Automatic"}) {
		t.Errorf("windows: %+v", got)
	}
}

func TestCompilePolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want string
	}{
		{"ok", Policy{Rules: []Rule{{ID: "a", Name: "kernel*", Action: ActionIgnore}, {ID: "b", Action: ActionSeverity, Severity: SeverityHigh}}}, ""},
		{"missing id", Policy{Rules: []Rule{{Action: ActionIgnore}}}, "rules[0]: id: required"},
		{"duplicate id", Policy{Rules: []Rule{{ID: "a", Action: ActionIgnore}, {ID: "a", Action: ActionIgnore}}}, `rules[1] (id "a"): id: duplicate of rules[0]`},
		{"bad name glob", Policy{Rules: []Rule{{ID: "g", Name: "[", Action: ActionIgnore}}}, `rules[0] (id "g"): name: bad glob "[": syntax error in pattern`},
		{"bad asg glob", Policy{Rules: []Rule{{ID: "g", Scope: Scope{ASG: "web-[a"}, Action: ActionIgnore}}}, `rules[0] (id "g"): scope.asg: bad glob "web-[a": syntax error in pattern`},
		{"bad ami glob", Policy{Rules: []Rule{{ID: "g", Scope: Scope{AMI: `ami-\`}, Action: ActionIgnore}}}, `rules[0] (id "g"): scope.ami: bad glob "ami-\\": syntax error in pattern`},
		{"bad attribute glob", Policy{Rules: []Rule{{ID: "g", Attribute: "[", Action: ActionIgnore}}}, `rules[0] (id "g"): attribute: bad glob "[": syntax error in pattern`},
		{"missing action", Policy{Rules: []Rule{{ID: "x"}}}, `rules[0] (id "x"): action: required (ignore, allow_upgrade, severity or exempt)`},
		{"unknown action", Policy{Rules: []Rule{{ID: "x", Action: "drop"}}}, `rules[0] (id "x"): action: unknown action "drop" (want ignore, allow_upgrade, severity or exempt)`},
		{"severity missing", Policy{Rules: []Rule{{ID: "x", Action: ActionSeverity}}}, `rules[0] (id "x"): severity: required with action severity (info, low, high or critical)`},
		{"severity on ignore", Policy{Rules: []Rule{{ID: "x", Action: ActionIgnore, Severity: SeverityHigh}}}, `rules[0] (id "x"): severity: only valid with action severity`},
		{"allow_added without allow_upgrade", Policy{Rules: []Rule{{ID: "x", Action: ActionIgnore, AllowAdded: true}}}, `rules[0] (id "x"): allow_added: only valid with action allow_upgrade`},
		{"allow_upgrade on files", Policy{Rules: []Rule{{ID: "x", Category: CategoryFile, Action: ActionAllowUpgrade}}}, `rules[0] (id "x"): action: allow_upgrade applies to packages only, not category "file"`},
		{"unknown category", Policy{Rules: []Rule{{ID: "x", Category: "registry", Action: ActionIgnore}}}, `rules[0] (id "x"): category: unknown category "registry" (want package, file, service, custom, instance, runtime, update or role)`},
		{"bad default severity category", Policy{DefaultSeverity: map[Category]Severity{"registry": SeverityHigh}}, `default_severity: unknown category "registry"`},
		{"negative max age", Policy{MaxInventoryAge: -time.Hour}, "max_inventory_age: -1h0m0s is negative"},
		{"two errors joined", Policy{Rules: []Rule{{ID: "x"}, {ID: "y", Name: "[", Action: ActionIgnore}}},
			"rules[0] (id \"x\"): action: required (ignore, allow_upgrade, severity or exempt)\nrules[1] (id \"y\"): name: bad glob \"[\": syntax error in pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompilePolicy(&tc.p)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error %q\nwant      %q", got, tc.want)
			}
		})
	}
}

func TestSnapshotFromManifestDiff(t *testing.T) {
	a := &Manifest{AMI: "ami-0aaaaaaaaaaaaaaaa", PackageFormat: FormatRPM, Packages: []Package{
		{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2"},
		{Name: "curl-minimal", Arch: "x86_64", Version: "8.5.0", Release: "1.amzn2023.0.4"},
	}, Services: []Service{{Name: "sshd.service", State: "active"}}}
	b := &Manifest{AMI: "ami-0bbbbbbbbbbbbbbbb", PackageFormat: FormatRPM, Packages: []Package{
		{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1.amzn2023.0.2"},
		{Name: "curl-minimal", Arch: "x86_64", Version: "8.11.1", Release: "1.amzn2023.0.1"},
		{Name: "jq", Arch: "x86_64", Version: "1.7.1", Release: "49.amzn2023.0.2"},
	}, Services: []Service{{Name: "sshd.service", State: "active"}}}
	for _, m := range []*Manifest{a, b} {
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	r := Compare(a, SnapshotFromManifest(b), &Policy{})
	if r.Verdict != VerdictDrifted || len(r.Findings) != 2 {
		t.Fatalf("verdict %s, findings %+v", r.Verdict, r.Findings)
	}
	if f := r.Findings[0]; f.Name != "curl-minimal" || f.Direction != DirectionUpgrade || f.Expected != "8.5.0-1.amzn2023.0.4" || f.Observed != "8.11.1-1.amzn2023.0.1" {
		t.Errorf("finding 0: %+v", f)
	}
	if f := r.Findings[1]; f.Name != "jq" || f.Change != ChangeAdded {
		t.Errorf("finding 1: %+v", f)
	}
	if r := Compare(a, SnapshotFromManifest(a), &Policy{}); r.Verdict != VerdictInSync {
		t.Errorf("manifest vs itself: %s %+v", r.Verdict, r.Findings)
	}
	if SnapshotFromManifest(nil) != nil {
		t.Error("SnapshotFromManifest(nil) != nil")
	}
}

func TestFileJSON(t *testing.T) {
	for _, f := range []File{
		{Path: "/a", Size: 0, HasSize: true},
		{Path: "/b"},
		{Path: "/c", Size: 12, HasSize: true, ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SHA256: "ab", Mode: "0644", Owner: "root"},
	} {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var g File
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		if !g.ModTime.Equal(f.ModTime) || g.Path != f.Path || g.Size != f.Size || g.HasSize != f.HasSize || g.SHA256 != f.SHA256 {
			t.Errorf("round trip %+v → %s → %+v", f, b, g)
		}
		if f.HasSize != strings.Contains(string(b), `"size"`) {
			t.Errorf("%s: size presence does not follow HasSize", b)
		}
	}
}

func TestCompareEdgeInputs(t *testing.T) {
	if r := Compare(nil, nil, nil); r.Verdict != VerdictUnknown {
		t.Errorf("nil snapshot: %s", r.Verdict)
	}
	r := Compare(&Manifest{}, &Snapshot{InstanceID: "i-1"}, &Policy{Rules: []Rule{{ID: "x"}}})
	if r.Verdict != VerdictUnknown || r.InstanceID != "i-1" || !strings.HasPrefix(r.Reasons[0], "invalid policy: ") {
		t.Errorf("invalid policy: %+v", r)
	}
}

func TestCompareAllocs(t *testing.T) {
	m, s := benchFleet(1000)
	cp, err := CompilePolicy(&Policy{Now: benchNow})
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	n := testing.AllocsPerRun(50, func() { r = cp.Compare(m, s) })
	if len(r.Findings) != 10 {
		t.Fatalf("%d findings, want 10", len(r.Findings))
	}
	if n > 12 {
		t.Errorf("Compare allocates %.0f times for 10 findings, want ≤ 12", n)
	}
	// no differences: the in-sync path does not allocate
	same := SnapshotFromManifest(m)
	same.CaptureTimes[TypeApplication] = benchNow
	n = testing.AllocsPerRun(50, func() { r = cp.Compare(m, same) })
	if r.Verdict != VerdictInSync || n != 0 {
		t.Errorf("in-sync compare: verdict %s, %.0f allocations, want in_sync and 0", r.Verdict, n)
	}
}

// One compiled policy and one manifest are shared by concurrent scans.
func TestCompareConcurrent(t *testing.T) {
	m, _ := benchFleet(300)
	cp, err := CompilePolicy(&Policy{Now: benchNow, Rules: []Rule{{ID: "r", Name: "pkg-01*", Action: ActionSeverity, Severity: SeverityHigh}}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := EncodeReport(cp.Compare(m, mustSnap(300)))
	done := make(chan []byte)
	for g := 0; g < 8; g++ {
		go func() {
			var last []byte
			for i := 0; i < 20; i++ {
				last, _ = EncodeReport(cp.Compare(m, mustSnap(300)))
			}
			done <- last
		}()
	}
	for g := 0; g < 8; g++ {
		if got := <-done; string(got) != string(want) {
			t.Errorf("concurrent result differs:\n%s\nvs\n%s", got, want)
		}
	}
}

func mustSnap(n int) *Snapshot { _, s := benchFleet(n); return s }

func TestNameVersionOnlyIgnoresArch(t *testing.T) {
	m := Manifest{NameVersionOnly: true, PackageFormat: FormatRPM, Packages: []Package{{Name: "glibc", Arch: "x86_64", Version: "2.34"}, {Name: "glibc", Arch: "i686", Version: "2.34"}}}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if len(m.Packages) != 1 || m.Packages[0].Arch != "" {
		t.Fatalf("%+v", m.Packages)
	}
	s := &Snapshot{CaptureTimes: map[string]time.Time{TypeApplication: {}}, Packages: []Package{
		{Name: "glibc", Arch: "aarch64", Version: "2.34", Release: "52.amzn2023.0.8", Format: FormatRPM}}}
	s.Normalize()
	if r := Compare(&m, s, &Policy{}); r.Verdict != VerdictInSync {
		t.Errorf("%s %+v", r.Verdict, r.Findings)
	}
}

// A caller that forgot Normalize still gets a correct comparison.
func TestCompareWithoutNormalize(t *testing.T) {
	m := &Manifest{PackageFormat: FormatRPM, Packages: []Package{{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "1"}}}
	s := &Snapshot{CaptureTimes: map[string]time.Time{TypeApplication: {}}, Packages: []Package{{Name: "bash", Arch: "x86_64", Version: "5.2.15", Release: "2", Format: FormatRPM}}}
	r := Compare(m, s, &Policy{})
	if r.Verdict != VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Direction != DirectionUpgrade {
		t.Fatalf("%s %+v", r.Verdict, r.Findings)
	}
	if m.Packages[0].EVR != "" || s.Packages[0].EVR != "" {
		t.Error("Compare modified its inputs")
	}
}
