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
		out = append(out, p)
	}
	return out
}
