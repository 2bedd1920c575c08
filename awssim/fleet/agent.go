package fleet

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// packageEntry renders p as amazon-ssm-agent reports it in AWS:Application
// (schema 1.1) on an instance of a: the fields its query formats produce
// (agent/plugins/inventory/gatherers/application/dataProvider_unix.go), then
// its transformations:
//
//   - dpkg-query -W -f: Name ${Package}, Publisher ${Maintainer}, Version
//     ${Version} (the full Debian version), ApplicationType ${Section},
//     Architecture ${Architecture}, URL ${Homepage}, Summary ${Description},
//     PackageId ${Package}_${Version}_${Architecture}.deb (synthesised with
//     dpkg's own arch name). No Release, Epoch or InstalledTime.
//   - rpm -qa --queryformat: Name, Publisher %{VENDOR}, Version, Release,
//     Epoch, InstalledTime (%{INSTALLTIME} as RFC 3339 UTC), ApplicationType
//     %{GROUP}, Architecture %{ARCH}, URL (rpm prints "(none)" for an unset
//     tag), Summary, PackageId %{SourceRPM}. An unset %{EPOCH} ("(none)")
//     becomes "".
//   - every field keeps its first line, at most 100 bytes (cleanupJSONField);
//   - Architecture goes through model.FormatArchitecture: lowercased,
//     amd64 → x86_64, 386 → i386, everything else (arm64, aarch64, all,
//     noarch, i686) unchanged;
//   - Release, Epoch, InstalledTime, ApplicationType, URL, Summary and
//     PackageId are omitempty in model.ApplicationData: absent when empty.
//
// A Windows AMI's packages are Add/Remove Programs entries (windowsAppEntry).
func packageEntry(p PackageSpec, a *AMI, installed time.Time) Entry {
	if a.PackageFormat == FormatWindows {
		e, err := windowsAppEntry(p, installed)
		if err != nil { // callers check the arch first (windowsArch)
			panic(err)
		}
		return e
	}
	arch := nativeArch(a.PackageFormat, a.Architecture, p.Arch)
	e := Entry{}
	set := func(k, v string) {
		if v = agentField(v); v != "" {
			e[k] = v
		}
	}
	if a.PackageFormat == "deb" {
		v := p.Version
		if p.Epoch != "" && !strings.Contains(v, ":") {
			v = p.Epoch + ":" + v
		}
		pub := p.Publisher
		if pub == "" {
			pub = "Debian Maintainers <debian-devel@lists.debian.org>"
			if strings.HasPrefix(a.PlatformName, "Ubuntu") {
				pub = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"
			}
		}
		e["Name"], e["Publisher"], e["Version"] = agentField(p.Name), agentField(pub), agentField(v)
		set("ApplicationType", debSection(p.Name))
		e["Architecture"] = formatArchitecture(arch)
		set("URL", p.URL)
		set("Summary", p.Name+" package")
		set("PackageId", p.Name+"_"+v+"_"+arch+".deb")
		return e
	}
	pub := p.Publisher
	if pub == "" {
		pub = "Amazon Linux"
	}
	group := "System Environment/Base"
	if a.PlatformVersion == "2023" { // Fedora-based: no Group tags
		group = "Unspecified"
	}
	url := p.URL
	if url == "" {
		url = "(none)"
	}
	e["Name"], e["Publisher"], e["Version"] = agentField(p.Name), agentField(pub), agentField(p.Version)
	set("Release", p.Release)
	if p.Epoch != "(none)" {
		set("Epoch", p.Epoch)
	}
	set("InstalledTime", installed.UTC().Format(time.RFC3339))
	set("ApplicationType", group)
	e["Architecture"] = formatArchitecture(arch)
	set("URL", url)
	set("Summary", p.Name+" package")
	srpm := p.Name + "-" + p.Version + ".src.rpm"
	if p.Release != "" {
		srpm = p.Name + "-" + p.Version + "-" + p.Release + ".src.rpm"
	}
	set("PackageId", srpm)
	return e
}

// agentField is the SSM agent's cleanupJSONField: the first line, at most
// 100 bytes.
func agentField(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// formatArchitecture is amazon-ssm-agent's model.FormatArchitecture
// (agent/plugins/inventory/model/model.go).
func formatArchitecture(arch string) string {
	arch = strings.ToLower(strings.TrimSpace(arch))
	switch arch {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	}
	return arch
}

// nativeArch is the architecture name the AMI's package manager gives a
// package: its own spelling of arch, or of the AMI's architecture (EC2's
// x86_64, arm64 or i386) when arch is empty.
func nativeArch(format, amiArch, arch string) string {
	if format == FormatWindows {
		if w, err := windowsArch(arch); err == nil {
			return w
		}
		return arch
	}
	a := strings.ToLower(strings.TrimSpace(arch))
	if format == "deb" {
		if a == "" {
			a = amiArch
		}
		switch a {
		case "x86_64":
			return "amd64"
		case "aarch64":
			return "arm64"
		case "noarch":
			return "all"
		case "i686":
			return "i386"
		}
		return a
	}
	if a == "" {
		switch amiArch {
		case "arm64":
			return "aarch64"
		case "i386":
			return "i686"
		}
		return amiArch
	}
	switch a {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "all":
		return "noarch"
	}
	return a
}

// debNativeArch recovers dpkg's architecture from an entry: PackageId was
// synthesised from it before the agent reformatted Architecture.
func debNativeArch(e Entry) string {
	if id := e["PackageId"]; strings.HasSuffix(id, ".deb") {
		if i := strings.LastIndexByte(id, '_'); i >= 0 {
			return strings.TrimSuffix(id[i+1:], ".deb")
		}
	}
	return nativeArch("deb", "", e["Architecture"])
}

// debSection is a plausible dpkg ${Section} for a package name.
func debSection(name string) string {
	switch {
	case strings.HasPrefix(name, "lib"):
		return "libs"
	case strings.HasPrefix(name, "linux-"):
		return "kernel"
	case strings.HasPrefix(name, "python3"):
		return "python"
	case name == "tzdata":
		return "localization"
	}
	return "admin"
}

func fileDigestEntry(fs FileSpec) Entry {
	return Entry{"Path": fs.Path, "SHA256": fs.SHA256, "Size": fmt.Sprint(fs.Size)}
}

func fileEntry(fs FileSpec, t time.Time) Entry {
	dir, name := "/", fs.Path
	if i := strings.LastIndex(fs.Path, "/"); i >= 0 {
		dir, name = fs.Path[:i], fs.Path[i+1:]
		if dir == "" {
			dir = "/"
		}
	}
	return Entry{"Name": name, "InstalledDir": dir, "Size": fmt.Sprint(fs.Size), "ModificationTime": t.UTC().Format(time.RFC3339)}
}

func unitEntry(sv ServiceSpec) Entry {
	as, uf := sv.ActiveState, sv.UnitFileState
	if as == "" {
		as = "active"
	}
	if uf == "" {
		uf = "enabled"
	}
	return Entry{"Name": sv.Name, "ActiveState": as, "UnitFileState": uf}
}

var corePackages = []string{"bash", "coreutils", "glibc", "openssl-libs", "openssh-server", "systemd", "curl", "ca-certificates",
	"tzdata", "sudo", "python3", "kernel", "chrony", "rsyslog", "amazon-ssm-agent", "zlib", "libcurl", "krb5-libs", "nss", "tar"}

var nameParts = []string{"lib", "perl", "python3", "golang", "node", "xml", "gtk", "font", "util", "net", "crypt", "sql", "http", "json", "yaml"}

// GeneratePackages returns count deterministic synthetic packages in rpm or
// deb style (names unique, realistic version strings).
func GeneratePackages(count int, seed uint64, format string) []PackageSpec {
	return GeneratePackagesFor(count, seed, format, "")
}

// GeneratePackagesFor is GeneratePackages for a distribution: dist selects
// the release or revision suffix ("" = amzn2023 for rpm, debian for deb;
// amzn2; ubuntu). tzdata and ca-certificates are architecture-independent
// (noarch, all), as on real images.
func GeneratePackagesFor(count int, seed uint64, format, dist string) []PackageSpec {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]PackageSpec, 0, count)
	for i := range count {
		var name string
		if i < len(corePackages) {
			name = corePackages[i]
			if format == "deb" && name == "openssl-libs" {
				name = "libssl3"
			}
		} else {
			name = fmt.Sprintf("%s-%s-%d", nameParts[r.IntN(len(nameParts))], nameParts[r.IntN(len(nameParts))], i)
		}
		indep := name == "tzdata" || name == "ca-certificates"
		ver := fmt.Sprintf("%d.%d.%d", r.IntN(10), r.IntN(40), r.IntN(100))
		if format == "deb" {
			v := ver + "-" + fmt.Sprint(1+r.IntN(5))
			if r.IntN(4) == 0 {
				if dist == "ubuntu" {
					v += "ubuntu0.24.04." + fmt.Sprint(1+r.IntN(3))
				} else {
					v += "+deb12u" + fmt.Sprint(1+r.IntN(3))
				}
			}
			if r.IntN(10) == 0 {
				v = "1:" + v
			}
			if real, ok := coreVersions[distKey(format, dist)][name]; ok {
				v = real
			}
			p := PackageSpec{Name: name, Version: v}
			if indep {
				p.Arch = "all"
			}
			out = append(out, p)
			continue
		}
		tag := "amzn2023"
		if dist == "amzn2" {
			tag = "amzn2"
		}
		p := PackageSpec{Name: name, Version: ver, Release: fmt.Sprintf("%d.%s.0.%d", 1+r.IntN(5), tag, r.IntN(10))}
		if r.IntN(12) == 0 {
			p.Epoch = fmt.Sprint(1 + r.IntN(3))
		}
		if r.IntN(15) == 0 || indep {
			p.Arch = "noarch"
		}
		if real, ok := coreVersions[distKey(format, dist)][name]; ok {
			// The distribution's own version; the random draws above are
			// still made, so the generated packages after it do not move.
			p.Epoch, p.Version, p.Release = splitEVR(real)
			if !indep {
				p.Arch = ""
			}
		}
		out = append(out, p)
	}
	return out
}

// distKey names the coreVersions table of a format and dist.
func distKey(format, dist string) string {
	switch {
	case format == "deb" && dist == "ubuntu":
		return "ubuntu2404"
	case format == "deb":
		return "debian12"
	case dist == "amzn2":
		return "amzn2"
	default:
		return "amzn2023"
	}
}

// splitEVR splits an rpm "[epoch:]version-release".
func splitEVR(evr string) (epoch, version, release string) {
	if i := strings.IndexByte(evr, ':'); i >= 0 {
		epoch, evr = evr[:i], evr[i+1:]
	}
	if i := strings.LastIndexByte(evr, '-'); i >= 0 {
		return epoch, evr[:i], evr[i+1:]
	}
	return epoch, evr, ""
}

// coreVersions are the versions of the core packages on each distribution's
// images (late 2024 updates), so the demo's findings read like real ones
// (openssl-libs 1:3.0.8-1.amzn2023.0.12 → 1:3.2.2-1.amzn2023.0.5, not an
// invented version). Generated packages past the core ones keep synthetic
// versions.
var coreVersions = map[string]map[string]string{
	"amzn2023": {
		"bash": "5.2.15-1.amzn2023.0.2", "coreutils": "8.32-30.amzn2023.0.3", "glibc": "2.34-52.amzn2023.0.11",
		"openssl-libs": "1:3.0.8-1.amzn2023.0.12", "openssh-server": "8.7p1-8.amzn2023.0.10", "systemd": "252.23-2.amzn2023",
		"curl": "8.5.0-1.amzn2023.0.4", "ca-certificates": "2023.2.64-1.0.amzn2023.0.1", "tzdata": "2024a-1.amzn2023.0.1",
		"sudo": "1.9.15-1.p5.amzn2023.0.1", "python3": "3.9.16-1.amzn2023.0.9", "kernel": "6.1.115-126.197.amzn2023",
		"chrony": "4.3-1.amzn2023.0.4", "rsyslog": "8.2204.0-3.amzn2023.0.4", "amazon-ssm-agent": "3.3.1142.0-1.amzn2023",
		"zlib": "1.2.11-33.amzn2023.0.5", "libcurl": "8.5.0-1.amzn2023.0.4", "krb5-libs": "1.21-3.amzn2023.0.4",
		"nss": "3.101.0-1.amzn2023", "tar": "2:1.34-1.amzn2023.0.4",
	},
	"amzn2": {
		"bash": "4.2.46-34.amzn2", "coreutils": "8.22-24.amzn2", "glibc": "2.26-64.amzn2.0.2",
		"openssl-libs": "1:1.0.2k-24.amzn2.0.12", "openssh-server": "7.4p1-22.amzn2.0.6", "systemd": "219-78.amzn2.0.22",
		"curl": "8.3.0-1.amzn2.0.5", "ca-certificates": "2023.2.62-1.amzn2.0.1", "tzdata": "2024a-1.amzn2.0.1",
		"sudo": "1.8.23-10.amzn2.3.3", "python3": "3.7.16-1.amzn2.0.8", "kernel": "5.10.227-219.884.amzn2",
		"chrony": "4.2-5.amzn2.0.2", "rsyslog": "8.24.0-57.amzn2.2.0.3", "amazon-ssm-agent": "3.3.1142.0-1.amzn2",
		"zlib": "1.2.7-19.amzn2.0.3", "libcurl": "8.3.0-1.amzn2.0.5", "krb5-libs": "1.15.1-55.amzn2.2.8",
		"nss": "3.90.0-2.amzn2.0.1", "tar": "2:1.26-35.amzn2.0.4",
	},
	"debian12": {
		"bash": "5.2.15-2+b7", "coreutils": "9.1-1", "glibc": "2.36-9+deb12u9", "libssl3": "3.0.11-1~deb12u2",
		"openssh-server": "1:9.2p1-2+deb12u3", "systemd": "252.31-1~deb12u1", "curl": "7.88.1-10+deb12u8",
		"ca-certificates": "20230311", "tzdata": "2024a-0+deb12u1", "sudo": "1.9.13p3-1+deb12u1", "python3": "3.11.2-1+b1",
		"kernel": "6.1.119-1", "chrony": "4.3-2+deb12u1", "rsyslog": "8.2302.0-1", "amazon-ssm-agent": "3.3.1142.0-1",
		"zlib": "1:1.2.13.dfsg-1", "libcurl": "7.88.1-10+deb12u8", "krb5-libs": "1.20.1-2+deb12u2", "nss": "2:3.87.1-1+deb12u1",
		"tar": "1.34+dfsg-1.2+deb12u1",
	},
	"ubuntu2404": {
		"bash": "5.2.21-2ubuntu4", "coreutils": "9.4-3ubuntu6", "glibc": "2.39-0ubuntu8.3", "libssl3": "3.0.13-0ubuntu3.4",
		"openssh-server": "1:9.6p1-3ubuntu13.5", "systemd": "255.4-1ubuntu8.4", "curl": "8.5.0-2ubuntu10.5",
		"ca-certificates": "20240203", "tzdata": "2024a-3ubuntu1.1", "sudo": "1.9.15p5-3ubuntu5", "python3": "3.12.3-0ubuntu2",
		"kernel": "6.8.0-1018.19", "chrony": "4.5-1ubuntu4.1", "rsyslog": "8.2312.0-3ubuntu9", "amazon-ssm-agent": "3.3.1142.0-1",
		"zlib": "1:1.3.dfsg-3.1ubuntu2.1", "libcurl": "8.5.0-2ubuntu10.5", "krb5-libs": "1.20.1-6ubuntu2.2", "nss": "2:3.98-1build1",
		"tar": "1.35+dfsg-3build1",
	},
}
