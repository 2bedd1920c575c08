package awssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	packageurl "github.com/package-url/packageurl-go"
)

// PackageSpec describes an installed package in its package manager's own
// terms; packageEntry turns it into the AWS:Application entry the SSM agent
// would report for it.
type PackageSpec struct {
	Name string `json:"name" yaml:"name"`
	// Version is rpm's %{VERSION}, or for deb dpkg's ${Version}, the full
	// Debian version ([epoch:]upstream[-revision]).
	Version string `json:"version" yaml:"version"`
	// Release is rpm's %{RELEASE} (deb: unused, the revision is in Version).
	Release string `json:"release,omitempty" yaml:"release,omitempty"`
	// Epoch is rpm's %{EPOCH} ("" when the package has none); for deb it is
	// prefixed to Version when Version carries no epoch.
	Epoch string `json:"epoch,omitempty" yaml:"epoch,omitempty"`
	// Arch is the package manager's architecture (dpkg amd64, arm64, all;
	// rpm x86_64, aarch64, noarch, i686); "" = the AMI's. The other
	// manager's spelling is accepted and translated.
	Arch      string `json:"arch,omitempty" yaml:"arch,omitempty"`
	Publisher string `json:"publisher,omitempty" yaml:"publisher,omitempty"`
	// URL is rpm's %{URL} or dpkg's Homepage ("" = none).
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
}

// FileSpec describes a file reported by Custom:FileDigest (and AWS:File).
type FileSpec struct {
	Path   string `json:"path" yaml:"path"`
	SHA256 string `json:"sha256" yaml:"sha256"`
	Size   int64  `json:"size" yaml:"size"`
}

// ServiceSpec describes a systemd unit reported by Custom:SystemdUnit.
type ServiceSpec struct {
	Name          string `json:"name" yaml:"name"`
	ActiveState   string `json:"activeState,omitempty" yaml:"activeState,omitempty"`     // active (default) | inactive | failed
	UnitFileState string `json:"unitFileState,omitempty" yaml:"unitFileState,omitempty"` // enabled (default) | disabled
}

// GenerateSpec asks for count synthetic packages, deterministic for a seed.
type GenerateSpec struct {
	Count  int    `json:"count" yaml:"count"`
	Seed   uint64 `json:"seed" yaml:"seed"`
	Format string `json:"format" yaml:"format"` // rpm | deb
	// Dist selects version suffixes: "" (amzn2023 for rpm, Debian 12 for
	// deb), amzn2 or ubuntu.
	Dist string `json:"dist,omitempty" yaml:"dist,omitempty"`
}

// AMISpec describes an AMI and its baseline content.
type AMISpec struct {
	ID              string             `json:"id,omitempty" yaml:"id,omitempty"`
	Name            string             `json:"name" yaml:"name"`
	Description     string             `json:"description,omitempty" yaml:"description,omitempty"`
	Platform        string             `json:"platform,omitempty" yaml:"platform,omitempty"` // "" or windows
	PlatformName    string             `json:"platformName,omitempty" yaml:"platformName,omitempty"`
	PlatformVersion string             `json:"platformVersion,omitempty" yaml:"platformVersion,omitempty"`
	Architecture    string             `json:"architecture,omitempty" yaml:"architecture,omitempty"`
	Format          string             `json:"format,omitempty" yaml:"format,omitempty"` // rpm (default) | deb
	Created         time.Time          `json:"created,omitempty" yaml:"created,omitempty"`
	Tags            map[string]string  `json:"tags,omitempty" yaml:"tags,omitempty"`
	Packages        []PackageSpec      `json:"packages,omitempty" yaml:"packages,omitempty"`
	Generate        *GenerateSpec      `json:"generate,omitempty" yaml:"generate,omitempty"`
	Files           []FileSpec         `json:"files,omitempty" yaml:"files,omitempty"`
	Services        []ServiceSpec      `json:"services,omitempty" yaml:"services,omitempty"`
	Inventory       map[string][]Entry `json:"inventory,omitempty" yaml:"inventory,omitempty"` // extra raw types
	// ManifestParameter, when set, publishes the AMI's baseline (see
	// ManifestFormat) to this Parameter Store name;
	// "{ami}" is replaced by the AMI id. As with real parameters (4 KB
	// standard tier), a manifest too large to hold inline is stored in S3
	// (s3://ManifestBucket/manifests/<ami>.json) and the parameter holds that
	// s3:// URI, the usual golden-image pipeline layout.
	ManifestParameter string `json:"manifestParameter,omitempty" yaml:"manifestParameter,omitempty"`
	// ManifestFormat is the form of the published baseline: native (the
	// default: driftd's manifest JSON, with files and services) or cyclonedx
	// (a CycloneDX SBOM of the packages, purls in the distro's own
	// architecture names, as an image pipeline's SBOM tool writes it; stored
	// in S3 as <ami>.cdx.json when too large for a parameter).
	ManifestFormat string `json:"manifestFormat,omitempty" yaml:"manifestFormat,omitempty"`
}

const amazonOwner = "137112412989"

// AddAMI registers an AMI and returns its id.
func (s *Sim) AddAMI(spec AMISpec) (string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addAMILocked(spec, s.Now())
	if err != nil {
		return "", err
	}
	if spec.ManifestParameter != "" {
		name, b, err := baselineDocument(a)
		if err != nil {
			return "", err
		}
		value := string(b)
		if len(b) > standardParameterLimit {
			key := "manifests/" + name
			s.extra.PutObject(ManifestBucket, key, b)
			value = "s3://" + ManifestBucket + "/" + key
		}
		s.params.put(strings.ReplaceAll(spec.ManifestParameter, "{ami}", a.ID), "String", value, true, s.Now())
	}
	return a.ID, nil
}

// Manifest formats an AMI's baseline can be published in (AMISpec.ManifestFormat).
const (
	ManifestNative    = "native"
	ManifestCycloneDX = "cyclonedx"
)

// baselineDocument renders the AMI's baseline in its manifest format and
// names it as a pipeline would store it (<ami>.json, <ami>.cdx.json).
func baselineDocument(a *AMI) (string, []byte, error) {
	if a.ManifestFormat == ManifestCycloneDX {
		b, err := cycloneDXJSON(a)
		return a.ID + ".cdx.json", b, err
	}
	b, err := manifestJSON(a)
	return a.ID + ".json", b, err
}

// ManifestBucket holds published manifests too large for a parameter.
const ManifestBucket = "awssim-golden-manifests"

// standardParameterLimit is the value size of a standard-tier parameter.
const standardParameterLimit = 4096

func (f *fleet) addAMILocked(spec AMISpec, now time.Time) (*AMI, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("ami: name is required")
	}
	id := spec.ID
	if id == "" {
		id = f.newID("ami")
	} else if !amiIDRE.MatchString(id) {
		return nil, fmt.Errorf("ami %s: id %q is not of the form ami-<8 or 17 hex digits>", spec.Name, id)
	}
	if f.amis[id] != nil {
		return nil, fmt.Errorf("ami %s: id %s already exists", spec.Name, id)
	}
	format := spec.Format
	if format == "" {
		format = "rpm"
	}
	if format != "rpm" && format != "deb" {
		return nil, fmt.Errorf("ami %s: format %q is not rpm or deb", spec.Name, format)
	}
	mf := spec.ManifestFormat
	if mf == "" {
		mf = ManifestNative
	}
	if mf != ManifestNative && mf != ManifestCycloneDX {
		return nil, fmt.Errorf("ami %s: manifestFormat %q is not native or cyclonedx", spec.Name, mf)
	}
	a := &AMI{ID: id, Name: spec.Name, Description: spec.Description, OwnerID: f.opts.AccountID,
		Architecture: spec.Architecture, Platform: spec.Platform, PlatformName: spec.PlatformName,
		PlatformVersion: spec.PlatformVersion, PackageFormat: format, ManifestFormat: mf, CreationDate: spec.Created,
		Tags: map[string]string{}, Inventory: map[string]*TypeData{}}
	for k, v := range spec.Tags {
		a.Tags[k] = v
	}
	switch a.Architecture {
	case "":
		a.Architecture = "x86_64"
	case "x86_64", "arm64", "i386":
	default: // DescribeImages' architecture values for Linux images
		return nil, fmt.Errorf("ami %s: architecture %q is not x86_64, arm64 or i386", spec.Name, a.Architecture)
	}
	if a.CreationDate.IsZero() {
		a.CreationDate = now.Add(-14 * 24 * time.Hour)
	}
	if a.PlatformName == "" {
		a.PlatformName, a.PlatformVersion = "Amazon Linux", "2023"
		if format == "deb" {
			a.PlatformName, a.PlatformVersion = "Debian GNU/Linux", "12"
		}
	}
	pkgs := append([]PackageSpec(nil), spec.Packages...)
	if g := spec.Generate; g != nil {
		if g.Count < 0 || g.Count > 100000 {
			return nil, fmt.Errorf("ami %s: generate.count %d out of range 0..100000", spec.Name, g.Count)
		}
		gf := g.Format
		if gf == "" {
			gf = format
		}
		pkgs = append(pkgs, GeneratePackagesFor(g.Count, g.Seed, gf, g.Dist)...)
	}
	installed := a.CreationDate.Add(-time.Hour)
	if len(pkgs) > 0 {
		entries := make([]Entry, 0, len(pkgs))
		for i, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				return nil, fmt.Errorf("ami %s: packages[%d]: name and version are required", spec.Name, i)
			}
			entries = append(entries, packageEntry(p, a, installed))
		}
		a.Inventory[TypeApplication] = NewTypeData(TypeApplication, "", entries)
	}
	if len(spec.Files) > 0 {
		var digests, files []Entry
		for _, fs := range spec.Files {
			digests = append(digests, fileDigestEntry(fs))
			files = append(files, fileEntry(fs, installed))
		}
		a.Inventory[TypeFileDigest] = NewTypeData(TypeFileDigest, "1.0", digests)
		a.Inventory[TypeFile] = NewTypeData(TypeFile, "", files)
	}
	if len(spec.Services) > 0 {
		var units []Entry
		for _, sv := range spec.Services {
			units = append(units, unitEntry(sv))
		}
		a.Inventory[TypeSystemdUnit] = NewTypeData(TypeSystemdUnit, "1.0", units)
	}
	for t, es := range spec.Inventory {
		if !validTypeName(t) {
			return nil, fmt.Errorf("ami %s: inventory type %q is not AWS:* or Custom:*", spec.Name, t)
		}
		a.Inventory[t] = NewTypeData(t, "", es)
	}
	f.amis[id] = a
	f.amiOrder = append(f.amiOrder, id)
	return a, nil
}

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
func packageEntry(p PackageSpec, a *AMI, installed time.Time) Entry {
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

// manifestJSON renders an AMI's baseline in driftd's native manifest shape
// (field names of drift.Manifest, schema_version 1).
func manifestJSON(a *AMI) ([]byte, error) {
	type pkg struct {
		Name    string `json:"name"`
		Arch    string `json:"arch,omitempty"`
		Epoch   string `json:"epoch,omitempty"`
		Version string `json:"version"`
		Release string `json:"release,omitempty"`
	}
	type file struct {
		Path   string `json:"path"`
		Size   *int64 `json:"size,omitempty"` // a number, as driftd's native manifest format has it
		SHA256 string `json:"sha256,omitempty"`
	}
	type svc struct {
		Name    string `json:"name"`
		State   string `json:"state,omitempty"`
		Enabled string `json:"enabled,omitempty"`
	}
	m := struct {
		SchemaVersion int    `json:"schema_version"`
		AMI           string `json:"ami_id"`
		Name          string `json:"name"`
		PackageFormat string `json:"package_format"`
		Packages      []pkg  `json:"packages"`
		Files         []file `json:"files,omitempty"`
		Services      []svc  `json:"services,omitempty"`
	}{SchemaVersion: 1, AMI: a.ID, Name: a.Name, PackageFormat: a.PackageFormat, Packages: []pkg{}}
	if td := a.Inventory[TypeApplication]; td != nil {
		for _, e := range td.Entries {
			p := pkg{Name: e["Name"], Arch: e["Architecture"], Epoch: e["Epoch"], Version: e["Version"], Release: e["Release"]}
			if a.PackageFormat == "deb" { // split the Debian version for the manifest
				p.Arch = debNativeArch(e) // dpkg's amd64, not the agent's x86_64
				v := p.Version
				if ep, rest, ok := strings.Cut(v, ":"); ok {
					p.Epoch, v = ep, rest
				}
				if i := strings.LastIndex(v, "-"); i > 0 {
					v, p.Release = v[:i], v[i+1:]
				}
				p.Version = v
			}
			m.Packages = append(m.Packages, p)
		}
	}
	if td := a.Inventory[TypeFileDigest]; td != nil {
		for _, e := range td.Entries {
			f := file{Path: e["Path"], SHA256: e["SHA256"]}
			if n, err := strconv.ParseInt(e["Size"], 10, 64); err == nil {
				f.Size = &n
			}
			m.Files = append(m.Files, f)
		}
	}
	if td := a.Inventory[TypeSystemdUnit]; td != nil {
		for _, e := range td.Entries {
			m.Services = append(m.Services, svc{Name: e["Name"], State: e["ActiveState"], Enabled: e["UnitFileState"]})
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

// cycloneDXJSON renders an AMI's packages as a CycloneDX 1.5 SBOM the way
// SBOM tools (Trivy, Syft, Amazon Inspector) describe an image: the OS as a
// component, each package as a library with a purl naming it in the
// distro's own terms, pkg:deb/debian/<name>@<version>?arch=amd64&distro=debian-12
// or pkg:rpm/amazon/<name>@<version>-<release>?arch=aarch64&distro=amazon-2023
// (an epoch as the epoch qualifier). The AMI id is the metadata component.
func cycloneDXJSON(a *AMI) ([]byte, error) {
	ns, distro := distroOf(a)
	bom := cdx.NewBOM()
	bom.SpecVersion, bom.JSONSchema, bom.XMLNS = cdx.SpecVersion1_5, "http://cyclonedx.org/schema/bom-1.5.schema.json", ""
	bom.SerialNumber = "urn:uuid:" + uuidFrom(a.ID)
	bom.Metadata = &cdx.Metadata{
		Timestamp: a.CreationDate.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "awssim"}}},
		Component: &cdx.Component{BOMRef: a.ID, Type: cdx.ComponentTypeApplication, Name: a.ID, Description: a.Name},
	}
	comps := []cdx.Component{{BOMRef: "os", Type: cdx.ComponentTypeOS, Name: ns, Version: a.PlatformVersion}}
	if td := a.Inventory[TypeApplication]; td != nil {
		for _, e := range td.Entries {
			q := map[string]string{"distro": distro}
			var typ, version string
			if a.PackageFormat == "deb" {
				typ, version, q["arch"] = "deb", e["Version"], debNativeArch(e)
				if ep, rest, ok := strings.Cut(version, ":"); ok {
					q["epoch"], version = ep, rest
				}
			} else {
				typ, version, q["arch"] = "rpm", e["Version"], e["Architecture"]
				if r := e["Release"]; r != "" {
					version += "-" + r
				}
				if ep := e["Epoch"]; ep != "" && ep != "0" {
					q["epoch"] = ep
				}
			}
			purl := packageurl.NewPackageURL(typ, ns, e["Name"], version, packageurl.QualifiersFromMap(q), "").ToString()
			comps = append(comps, cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: e["Name"], Version: version,
				Supplier: &cdx.OrganizationalEntity{Name: e["Publisher"]}, PackageURL: purl})
		}
	}
	bom.Components = &comps
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// distroOf names the AMI's distribution as purls do: the namespace
// (debian, ubuntu, amazon) and the distro qualifier (debian-12).
func distroOf(a *AMI) (ns, distro string) {
	switch {
	case strings.HasPrefix(a.PlatformName, "Ubuntu"):
		ns = "ubuntu"
	case strings.HasPrefix(a.PlatformName, "Debian"):
		ns = "debian"
	case strings.HasPrefix(a.PlatformName, "Amazon"):
		ns = "amazon"
	default:
		ns = strings.ToLower(strings.Fields(a.PlatformName + " linux")[0])
	}
	return ns, ns + "-" + a.PlatformVersion
}

// uuidFrom derives a stable RFC 4122 (version 4 layout) UUID from s.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// BaselineDocument returns the AMI's baseline as ManifestParameter publishes
// it (native JSON or a CycloneDX SBOM, per AMISpec.ManifestFormat) with the
// file name a pipeline would give it (<ami>.json, <ami>.cdx.json).
func (s *Sim) BaselineDocument(amiID string) (string, []byte, error) {
	s.fleet.mu.RLock()
	defer s.fleet.mu.RUnlock()
	a := s.fleet.amis[amiID]
	if a == nil {
		return "", nil, fmt.Errorf("ami %s not found", amiID)
	}
	return baselineDocument(a)
}

// Manifest returns the AMI's baseline manifest as driftd native JSON.
func (s *Sim) Manifest(amiID string) ([]byte, error) {
	s.fleet.mu.RLock()
	defer s.fleet.mu.RUnlock()
	a := s.fleet.amis[amiID]
	if a == nil {
		return nil, fmt.Errorf("ami %s not found", amiID)
	}
	return manifestJSON(a)
}

// AddLaunchTemplate creates a launch template whose versions launch the
// given images (version i+1 = images[i]); the default version is the last.
func (s *Sim) AddLaunchTemplate(name, instanceType string, images ...string) (string, error) {
	if len(images) == 0 {
		return "", fmt.Errorf("launch template %s: at least one image is required", name)
	}
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ltByName[name] != nil {
		return "", fmt.Errorf("launch template %s already exists", name)
	}
	now := s.Now()
	lt := f.createLTLocked(name, images[0], instanceType, "", now)
	for _, im := range images[1:] {
		lt.Versions = append(lt.Versions, &LTVersion{Number: len(lt.Versions) + 1, ImageID: im, InstanceType: instanceType, Created: now})
	}
	lt.DefaultVersion = len(lt.Versions)
	return lt.ID, nil
}

// AddLaunchTemplateVersion adds a version launching image and optionally
// makes it the default; it returns the version number.
func (s *Sim) AddLaunchTemplateVersion(ltName, image string, makeDefault bool) (int, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	lt := f.ltByName[ltName]
	if lt == nil {
		return 0, fmt.Errorf("launch template %s not found", ltName)
	}
	last := lt.Versions[len(lt.Versions)-1]
	v := &LTVersion{Number: len(lt.Versions) + 1, ImageID: image, InstanceType: last.InstanceType, Created: s.Now()}
	lt.Versions = append(lt.Versions, v)
	if makeDefault {
		lt.DefaultVersion = v.Number
	}
	return v.Number, nil
}

// GroupSpec describes an Auto Scaling group.
type GroupSpec struct {
	Name                  string            `json:"name" yaml:"name"`
	LaunchTemplateID      string            `json:"launchTemplateId,omitempty" yaml:"launchTemplateId,omitempty"`
	LaunchTemplateName    string            `json:"launchTemplate,omitempty" yaml:"launchTemplate,omitempty"`
	LaunchTemplateVersion string            `json:"version,omitempty" yaml:"version,omitempty"` // $Default (default), $Latest or a number
	Min                   int               `json:"min" yaml:"min"`
	Max                   int               `json:"max" yaml:"max"`
	Desired               int               `json:"desired" yaml:"desired"`
	AZs                   []string          `json:"azs,omitempty" yaml:"azs,omitempty"`
	HealthCheckType       string            `json:"healthCheckType,omitempty" yaml:"healthCheckType,omitempty"`
	Grace                 int               `json:"healthCheckGracePeriod,omitempty" yaml:"healthCheckGracePeriod,omitempty"`
	Tags                  []GroupTag        `json:"-" yaml:"-"`
	TagMap                map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"` // propagated at launch
	Suspended             []string          `json:"suspended,omitempty" yaml:"suspended,omitempty"`
	Hooks                 []HookSpec        `json:"lifecycleHooks,omitempty" yaml:"lifecycleHooks,omitempty"`
	NewInstancesProtected bool              `json:"newInstancesProtectedFromScaleIn,omitempty" yaml:"newInstancesProtectedFromScaleIn,omitempty"`
	VPCZoneIdentifier     string            `json:"vpcZoneIdentifier,omitempty" yaml:"vpcZoneIdentifier,omitempty"`
}

// HookSpec describes a lifecycle hook.
type HookSpec struct {
	Name       string        `json:"name" yaml:"name"`
	Transition string        `json:"transition" yaml:"transition"` // terminating | launching (or the full autoscaling:EC2_INSTANCE_* name)
	Timeout    time.Duration `json:"timeout" yaml:"timeout"`
	// DefaultResult applies when the hook times out: CONTINUE (default) or
	// ABANDON (a launching instance is then terminated).
	DefaultResult string `json:"defaultResult,omitempty" yaml:"defaultResult,omitempty"`
}

func (f *fleet) createGroupLocked(spec GroupSpec, now time.Time) error {
	if spec.Name == "" {
		return fmt.Errorf("group: name is required")
	}
	if f.groups[spec.Name] != nil {
		return fmt.Errorf("group %s already exists", spec.Name)
	}
	lt, err := f.findLT(spec.LaunchTemplateID, spec.LaunchTemplateName)
	if err != nil {
		return fmt.Errorf("group %s: %s", spec.Name, err.Message)
	}
	ver := spec.LaunchTemplateVersion
	if ver == "" {
		ver = "$Default"
	}
	if _, ok := lt.resolve(ver); !ok {
		return fmt.Errorf("group %s: launch template %s has no version %s", spec.Name, lt.Name, ver)
	}
	if spec.Min < 0 || spec.Min > spec.Max || spec.Desired < spec.Min || spec.Desired > spec.Max {
		return fmt.Errorf("group %s: desired capacity %d must be between min %d and max %d", spec.Name, spec.Desired, spec.Min, spec.Max)
	}
	g := &Group{Name: spec.Name, Min: spec.Min, Max: spec.Max, Desired: spec.Desired, LTID: lt.ID, LTVersion: ver,
		AZs: spec.AZs, HealthCheckType: spec.HealthCheckType, Grace: spec.Grace, DefaultCooldown: 300, Created: now,
		Suspended: map[string]string{}, NewInstancesProtected: spec.NewInstancesProtected, VPCZoneIdentifier: spec.VPCZoneIdentifier,
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", f.opts.Region, f.opts.AccountID, f.uuid(), spec.Name)}
	if len(g.AZs) == 0 {
		g.AZs = []string{f.opts.Region + "a", f.opts.Region + "b", f.opts.Region + "c"}
	}
	if g.HealthCheckType == "" {
		g.HealthCheckType = "EC2"
	}
	g.Tags = append(g.Tags, spec.Tags...)
	keys := make([]string, 0, len(spec.TagMap))
	for k := range spec.TagMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g.Tags = append(g.Tags, GroupTag{Key: k, Value: spec.TagMap[k], PropagateAtLaunch: true})
	}
	sort.Slice(g.Tags, func(i, j int) bool { return g.Tags[i].Key < g.Tags[j].Key })
	for _, p := range spec.Suspended {
		if !slices.Contains(scalingProcesses, p) {
			return fmt.Errorf("group %s: %q is not a scaling process", spec.Name, p)
		}
		g.Suspended[p] = "User suspended at " + now.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, h := range spec.Hooks {
		tr := h.Transition
		switch tr {
		case "terminating", "":
			tr = "autoscaling:EC2_INSTANCE_TERMINATING"
		case "launching":
			tr = "autoscaling:EC2_INSTANCE_LAUNCHING"
		}
		to := h.Timeout
		if to <= 0 {
			to = time.Hour
		}
		dr := h.DefaultResult
		switch dr {
		case "":
			dr = "CONTINUE"
		case "CONTINUE", "ABANDON":
		default:
			return fmt.Errorf("group %s: hook %s: defaultResult %q is not CONTINUE or ABANDON", spec.Name, h.Name, dr)
		}
		g.Hooks = append(g.Hooks, Hook{Name: h.Name, Transition: tr, Timeout: to, DefaultResult: dr})
	}
	f.groups[g.Name] = g
	return nil
}

// AddGroup creates an Auto Scaling group whose initial members are already
// InService (launched age ago, inventory reported) and returns their ids.
func (s *Sim) AddGroup(spec GroupSpec, age time.Duration) ([]string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	now := s.Now()
	if err := f.createGroupLocked(spec, now.Add(-age)); err != nil {
		return nil, err
	}
	g := f.groups[spec.Name]
	ids := make([]string, 0, g.Desired)
	for range g.Desired {
		in, err := f.launchMemberLocked(g, now.Add(-age), "an instance was started in response to a difference between desired and actual capacity.")
		if err != nil {
			delete(f.groups, spec.Name)
			return nil, err
		}
		f.settleLocked(in, now, age)
		ids = append(ids, in.ID)
	}
	f.touchLocked()
	return ids, nil
}

// settleLocked makes a freshly created instance look launched age ago.
func (f *fleet) settleLocked(in *Instance, now time.Time, age time.Duration) {
	in.LaunchTime = now.Add(-age)
	in.readyAt = in.LaunchTime
	in.State = StateRunning
	if in.Lifecycle == LCPending || in.Lifecycle == LCPendingWait {
		in.Lifecycle = LCInService
	}
	if in.activity != nil {
		in.activity.Status, in.activity.Start, in.activity.End = "Successful", in.LaunchTime, in.LaunchTime
	}
	in.inventoryAt = in.LaunchTime.Add(min(f.opts.InventoryDelay, age))
}

// AddInstances launches count standalone instances of image, running since
// age ago, and returns their ids.
func (s *Sim) AddInstances(image, instanceType string, count int, tags map[string]string, age time.Duration) ([]string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.amis[image] == nil {
		return nil, fmt.Errorf("image %s not found", image)
	}
	now := s.Now()
	var ids []string
	for i := range count {
		t := map[string]string{}
		for k, v := range tags {
			t[k] = v
		}
		in := f.newInstanceLocked(image, instanceType, f.opts.Region+string(rune('a'+i%3)), t, now, 0)
		f.settleLocked(in, now, age)
		ids = append(ids, in.ID)
	}
	f.touchLocked()
	return ids, nil
}
