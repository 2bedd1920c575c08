package drift

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// NormalizationVersion is the version of the normalisation rules implemented
// by NormalizePackage and (*Manifest).Normalize. A manifest records the
// version it was normalised with; a manifest recording an older version is
// re-normalised from its raw fields when loaded, so changing the rules in a
// driftd upgrade never makes a fleet drift overnight. The canonical EVR is
// never trusted from storage: it is always recomputed from name, epoch,
// version and release.
//
// Version 2 maps architectures into one space (CanonicalArch), so that a
// Debian SBOM's amd64 matches the SSM agent's x86_64. Version 3 adds Windows
// applications (package format windows: publisher kept, no epoch or release
// split out of the version) and the Windows spellings x64 and x86.
const NormalizationVersion = 3

// DefaultInstallOnly lists the packages that may be installed in several
// versions at once (path.Match globs on the package name). It follows dnf's
// installonlypkgs default (kernel, kernel-PAE, installonlypkg(kernel),
// installonlypkg(kernel-module), installonlypkg(vm), multiversion(kernel)):
// the provides are resolved to the package names that carry them on Amazon
// Linux, RHEL and Fedora. Debian kernels are versioned by name
// (linux-image-6.1.0-18-amd64), so their multiple "versions" are distinct
// names; the globs are listed for completeness.
var DefaultInstallOnly = []string{
	"kernel",
	"kernel-PAE",
	"kernel-PAE-core",
	"kernel-PAE-devel",
	"kernel-PAE-modules",
	"kernel-core",
	"kernel-debug",
	"kernel-debug-core",
	"kernel-debug-devel",
	"kernel-debug-modules",
	"kernel-devel",
	"kernel-modules",
	"kernel-modules-core",
	"kernel-modules-extra",
	"kernel-livepatch-*",
	"kernel6.*",
	"linux-image-*",
	"linux-headers-*",
	"linux-modules-*",
}

// IsInstallOnly reports whether name matches one of the globs (DefaultInstallOnly when globs is nil).
func IsInstallOnly(name string, globs []string) bool {
	if globs == nil {
		globs = DefaultInstallOnly
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// DetectFormat guesses the package format of an SSM AWS:Application entry.
func DetectFormat(entry map[string]string) PackageFormat {
	id := entry["PackageId"]
	switch {
	case strings.HasSuffix(id, ".rpm"):
		return FormatRPM
	case strings.HasSuffix(id, ".deb"):
		return FormatDeb
	}
	if _, ok := entry["Release"]; ok {
		return FormatRPM
	}
	if _, ok := entry["Epoch"]; ok {
		return FormatRPM
	}
	switch strings.ToLower(entry["ApplicationType"]) {
	case "rpm":
		return FormatRPM
	case "deb", "dpkg":
		return FormatDeb
	}
	return FormatGeneric
}

// PackageFromInventory converts one SSM AWS:Application entry into a
// normalised Package. rpm entries carry Version, Release and Epoch separately
// (Release and Epoch are omitted when empty: an absent Epoch is epoch 0);
// dpkg entries carry the full Debian version [epoch:]upstream[-revision] in
// Version. Windows entries (format windows: the agent's registry provider)
// carry Name, Publisher, Version and Architecture (i386 for 32-bit, x86_64
// for 64-bit installs). An empty format is detected from the entry (see
// DetectFormat); Windows entries cannot be told from the entry alone, so
// callers pass FormatWindows for instances whose platform is Windows.
func PackageFromInventory(entry map[string]string, format PackageFormat) Package {
	if format == FormatGeneric {
		format = DetectFormat(entry)
	}
	p := Package{
		Name:    strings.TrimSpace(entry["Name"]),
		Arch:    strings.TrimSpace(entry["Architecture"]),
		Version: strings.TrimSpace(entry["Version"]),
		Format:  format,
	}
	switch format {
	case FormatWindows:
		p.Publisher = strings.TrimSpace(entry["Publisher"])
	case FormatDeb:
	default:
		p.Release = strings.TrimSpace(entry["Release"])
		p.Epoch = strings.TrimSpace(entry["Epoch"])
		// rpm prints "(none)" for an unset tag; it means absent.
		if p.Epoch == "(none)" {
			p.Epoch = ""
		}
		if p.Release == "(none)" {
			p.Release = ""
		}
	}
	NormalizePackage(&p)
	return p
}

// PackagesFromInventory converts AWS:Application entries (see PackageFromInventory),
// skipping entries without a name.
func PackagesFromInventory(entries []map[string]string, format PackageFormat) []Package {
	out := make([]Package, 0, len(entries))
	for _, e := range entries {
		p := PackageFromInventory(e, format)
		if p.Name == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// NormalizePackage brings p into canonical form and fills EVR:
//   - the architecture is mapped to its canonical name (CanonicalArch);
//   - surrounding spaces are trimmed; an epoch is stripped of leading zeros and
//     "0" becomes "" (absent epoch == epoch 0);
//   - an epoch written into Version ("1:3.0.8") moves to Epoch when Epoch is empty;
//   - for deb, a revision in Version moves to Release (split at the last '-');
//     for rpm, at the first '-' (rpm versions cannot contain '-');
//   - a Windows application (format windows) keeps its version whole (no
//     epoch, no release) and its publisher, trimmed; every other format
//     drops the publisher (rpm and deb packages are identified by name and
//     arch);
//   - EVR = [epoch:]version[-release].
//
// rpm and deb packages thereby share one canonical string form, and the same
// package reported by either side has the same EVR.
func NormalizePackage(p *Package) {
	p.Name = strings.TrimSpace(p.Name)
	p.Arch = CanonicalArch(p.Arch)
	p.Version = strings.TrimSpace(p.Version)
	p.Release = strings.TrimSpace(p.Release)
	p.Epoch = normEpoch(p.Epoch)
	if p.Format == FormatWindows {
		p.Publisher = strings.TrimSpace(p.Publisher)
		p.EVR = CanonicalEVR(p.Epoch, p.Version, p.Release)
		return
	}
	p.Publisher = ""
	// Move "E:" prefixes into Epoch while it is empty (a zero epoch is
	// empty, so "0:1:5" ends as epoch 1, version 5, and normalising again
	// changes nothing).
	for p.Epoch == "" {
		e, rest, ok := cutEpoch(p.Version)
		if !ok {
			break
		}
		p.Epoch, p.Version = normEpoch(e), strings.TrimSpace(rest)
	}
	// Split a release written into Version; repeat while the release comes
	// out empty ("1.0-" or "1.0- ") so that normalising again changes nothing.
	for p.Release == "" {
		i := -1
		switch p.Format {
		case FormatDeb:
			i = strings.LastIndexByte(p.Version, '-')
		case FormatRPM:
			i = strings.IndexByte(p.Version, '-')
		}
		if i <= 0 {
			break
		}
		p.Version, p.Release = strings.TrimSpace(p.Version[:i]), strings.TrimSpace(p.Version[i+1:])
	}
	p.EVR = CanonicalEVR(p.Epoch, p.Version, p.Release)
}

// CanonicalArch returns the architecture name driftd compares packages on.
// Sources spell one architecture differently: dpkg (and SBOMs of Debian and
// Ubuntu images) say amd64, arm64 and all; rpm says x86_64, aarch64 and
// noarch; the SSM agent reports dpkg's amd64 as x86_64 but passes arm64 and
// all through unchanged (amazon-ssm-agent's model.FormatArchitecture). Every
// side is therefore mapped into one space, the rpm spelling:
//
//	amd64 → x86_64, arm64 → aarch64, all → noarch, ppc64el → ppc64le, 386 → i386
//
// Windows spellings map the same way: x64 → x86_64, x86 → i386 (the
// agent itself reports Windows applications as x86_64 and i386).
//
// Names are trimmed and lowercased (the agent lowercases, Amazon Inspector's
// SBOMs write AMD64). Everything else passes through: in particular rpm's
// i686 and dpkg's i386 stay distinct, as rpm keeps i386, i586 and i686 apart
// and each side of a comparison uses its own package manager's spelling.
// DisplayArch maps a canonical name back for one package format.
//
// Common names are returned as shared constants, so that the comparison's
// equality checks on them hit the pointer-equality fast path.
func CanonicalArch(a string) string {
	switch a {
	case "x86_64", "amd64", "x64":
		return "x86_64"
	case "noarch", "all":
		return "noarch"
	case "aarch64", "arm64":
		return "aarch64"
	case "i686":
		return "i686"
	case "i386", "386", "x86":
		return "i386"
	case "ppc64le", "ppc64el":
		return "ppc64le"
	case "":
		return ""
	}
	if t := strings.ToLower(strings.TrimSpace(a)); t != a {
		return CanonicalArch(t)
	}
	return a
}

// DisplayArch spells a canonical architecture the way format's package
// manager does, for reports: a Debian package's x86_64 is amd64, aarch64 is
// arm64 and noarch is all. rpm and unknown formats keep the canonical (rpm)
// name. CanonicalArch(DisplayArch(f, a)) == a for every canonical a.
func DisplayArch(format PackageFormat, arch string) string {
	if format != FormatDeb {
		return arch
	}
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "noarch":
		return "all"
	case "ppc64le":
		return "ppc64el"
	}
	return arch
}

// MaxEpoch is the largest epoch a manifest may record: rpm stores the epoch
// as a 32-bit signed integer (RPMTAG_EPOCH is RPM_INT32_TYPE), and dpkg
// documents it as a small unsigned integer; anything larger is a corrupt or
// hostile document, not a package.
const MaxEpoch = 1<<31 - 1

// CheckEpoch accepts "" or a decimal number within [0, MaxEpoch] (leading
// zeros and surrounding spaces allowed, as normalisation strips them).
func CheckEpoch(e string) error {
	d := strings.TrimLeft(strings.TrimSpace(e), "0")
	if d == "" {
		return nil
	}
	if n, err := strconv.ParseUint(d, 10, 64); err != nil || n > MaxEpoch {
		return fmt.Errorf("%.40q is out of range (at most %d)", strings.TrimSpace(e), MaxEpoch)
	}
	return nil
}

// effectiveEpoch is the epoch NormalizePackage would settle on, without
// allocating: the Epoch field, else the "E:" prefixes of the version.
func effectiveEpoch(epoch, version string) string {
	e := normEpoch(epoch)
	v := strings.TrimSpace(version)
	for e == "" {
		x, rest, ok := cutEpoch(v)
		if !ok {
			break
		}
		e, v = normEpoch(x), strings.TrimSpace(rest)
	}
	return e
}

// CheckText rejects a manifest value holding a control character (C0, DEL
// or C1, NUL included) anywhere but in its surrounding white space, which
// normalisation trims. Such values cannot name a real package, file or
// service, and would otherwise make every instance "drift" from a baseline
// nobody can read. The error names the character: "contains control
// character U+0000".
func CheckText(s string) error {
	t := strings.TrimSpace(s)
	for _, r := range t {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// normEpoch trims an epoch and strips leading zeros from a numeric one ("0" → "").
func normEpoch(e string) string {
	e = strings.TrimSpace(e)
	if allDigits(e) {
		e = strings.TrimLeft(e, "0")
	}
	return e
}

// cutEpoch splits "E:rest" where E is one or more digits.
func cutEpoch(v string) (epoch, rest string, ok bool) {
	i := strings.IndexByte(v, ':')
	if i <= 0 || !allDigits(v[:i]) {
		return "", v, false
	}
	return v[:i], v[i+1:], true
}

// CanonicalEVR renders [epoch:]version[-release] with epoch omitted when it is
// empty or zero.
func CanonicalEVR(epoch, version, release string) string {
	if allDigits(epoch) {
		epoch = strings.TrimLeft(epoch, "0")
	}
	n := len(version)
	if epoch != "" {
		n += len(epoch) + 1
	}
	if release != "" {
		n += len(release) + 1
	}
	if n == len(version) {
		return version
	}
	var b strings.Builder
	b.Grow(n)
	if epoch != "" {
		b.WriteString(epoch)
		b.WriteByte(':')
	}
	b.WriteString(version)
	if release != "" {
		b.WriteByte('-')
		b.WriteString(release)
	}
	return b.String()
}

func comparePackages(a, b *Package) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Publisher, b.Publisher); c != 0 {
		return c
	}
	if c := strings.Compare(a.Arch, b.Arch); c != 0 {
		return c
	}
	return strings.Compare(a.EVR, b.EVR)
}

// normalizePackages normalises, sorts (name, publisher, arch, EVR) and
// removes exact duplicates in place.
func normalizePackages(ps []Package, defFormat PackageFormat) []Package {
	for i := range ps {
		if ps[i].Format == FormatGeneric {
			ps[i].Format = defFormat
		}
		NormalizePackage(&ps[i])
	}
	slices.SortStableFunc(ps, func(a, b Package) int { return comparePackages(&a, &b) })
	return slices.CompactFunc(ps, func(a, b Package) bool { return comparePackages(&a, &b) == 0 })
}

func normalizeFiles(fs []File) []File {
	for i := range fs {
		fs[i].Path = strings.TrimSpace(fs[i].Path)
		fs[i].SHA256 = strings.ToLower(strings.TrimSpace(fs[i].SHA256))
		if !fs[i].ModTime.IsZero() {
			fs[i].ModTime = fs[i].ModTime.UTC()
		}
	}
	slices.SortStableFunc(fs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return fs
}

func normalizeServices(ss []Service) []Service {
	for i := range ss {
		ss[i].Name = strings.TrimSpace(ss[i].Name)
	}
	slices.SortStableFunc(ss, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
	return ss
}

// normalizeUpdates trims update ids and upper-cases them (KB5034439 and
// kb5034439 are one update), then sorts by id.
func normalizeUpdates(us []Update) []Update {
	for i := range us {
		u := &us[i]
		u.HotFixID = strings.ToUpper(strings.TrimSpace(u.HotFixID))
		u.Description = strings.TrimSpace(u.Description)
		u.InstalledBy = strings.TrimSpace(u.InstalledBy)
		u.InstalledTime = strings.TrimSpace(u.InstalledTime)
	}
	slices.SortStableFunc(us, func(a, b Update) int { return strings.Compare(a.HotFixID, b.HotFixID) })
	return us
}

// normalizeRoles trims role names and sorts by name.
func normalizeRoles(rs []Role) []Role {
	for i := range rs {
		r := &rs[i]
		r.Name = strings.TrimSpace(r.Name)
		r.DisplayName = strings.TrimSpace(r.DisplayName)
		r.FeatureType = strings.TrimSpace(r.FeatureType)
		r.InstallState = strings.TrimSpace(r.InstallState)
	}
	slices.SortStableFunc(rs, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	return rs
}

// customKey returns the key attribute of a custom type's entries.
func customKey(spec CustomSpec) string {
	if spec.Key == "" {
		return "Name"
	}
	return spec.Key
}

func normalizeCustom(cs map[string]*CustomType) {
	for name, ct := range cs {
		if ct == nil {
			delete(cs, name)
			continue
		}
		if ct.TypeName == "" {
			ct.TypeName = name
		}
		slices.SortStableFunc(ct.Entries, func(a, b map[string]string) int {
			return strings.Compare(a["Name"], b["Name"])
		})
	}
}

// NormalizeOptions tune (*Manifest).NormalizeWith.
type NormalizeOptions struct {
	// InstallOnly overrides DefaultInstallOnly (globs on package names that may
	// appear in several versions for one architecture).
	InstallOnly []string
}

// Normalize is NormalizeWith(NormalizeOptions{}).
func (m *Manifest) Normalize() error { return m.NormalizeWith(NormalizeOptions{}) }

// NormalizeWith normalises every package, sorts all items deterministically
// and validates the manifest: packages need a name and a version; the same
// name+arch may appear with several versions only for install-only packages
// (kernels), Windows applications (side-by-side installs) or in
// name-version-only manifests; file paths, service names, update ids, role
// names and custom keys must be unique. A manifest recording an older
// normalization_version is re-normalised; one recording a newer version is an
// error (it was written by a newer driftd). On success NormalizationVersion
// is set to the current version. Errors name the field, e.g.
// "packages[3].version: required".
func (m *Manifest) NormalizeWith(o NormalizeOptions) error {
	if m.NormalizationVersion > NormalizationVersion {
		return fmt.Errorf("normalization_version: %d is newer than this driftd supports (%d)", m.NormalizationVersion, NormalizationVersion)
	}
	if m.NormalizationVersion < 0 {
		return fmt.Errorf("normalization_version: %d is negative", m.NormalizationVersion)
	}
	if !validFormat(m.PackageFormat) {
		return fmt.Errorf("package_format: %q is not rpm, deb or windows", m.PackageFormat)
	}
	for _, check := range [...]func() error{m.checkPackages, m.checkFiles, m.checkServices, m.checkUpdates, m.checkRoles} {
		if err := check(); err != nil {
			return err
		}
	}
	if err := m.sortPackages(o); err != nil {
		return err
	}
	m.Files = normalizeFiles(m.Files)
	for i := 1; i < len(m.Files); i++ {
		if m.Files[i-1].Path == m.Files[i].Path {
			return fmt.Errorf("files: path %s is listed twice", m.Files[i].Path)
		}
	}
	m.Services = normalizeServices(m.Services)
	for i := 1; i < len(m.Services); i++ {
		if m.Services[i-1].Name == m.Services[i].Name {
			return fmt.Errorf("services: %s is listed twice", m.Services[i].Name)
		}
	}
	m.Updates = normalizeUpdates(m.Updates)
	for i := 1; i < len(m.Updates); i++ {
		if m.Updates[i-1].HotFixID == m.Updates[i].HotFixID {
			return fmt.Errorf("updates: %s is listed twice", m.Updates[i].HotFixID)
		}
	}
	m.Roles = normalizeRoles(m.Roles)
	for i := 1; i < len(m.Roles); i++ {
		if m.Roles[i-1].Name == m.Roles[i].Name {
			return fmt.Errorf("roles: %s is listed twice", m.Roles[i].Name)
		}
	}
	normalizeCustom(m.Custom)
	m.NormalizationVersion = NormalizationVersion
	return nil
}

func validFormat(f PackageFormat) bool {
	switch f {
	case FormatRPM, FormatDeb, FormatWindows, FormatGeneric:
		return true
	}
	return false
}

// textField is one named text value of a manifest item, for validation.
type textField struct{ name, v string }

// checkTexts rejects control characters in fields (see CheckText); errors
// name the item (where) and the field.
func checkTexts(where string, fields ...textField) error {
	for _, f := range fields {
		if err := CheckText(f.v); err != nil {
			return fmt.Errorf("%s.%s: %w", where, f.name, err)
		}
	}
	return nil
}

// checkPackages validates the packages before they are normalised.
func (m *Manifest) checkPackages() error {
	for i := range m.Packages {
		p := &m.Packages[i]
		if strings.TrimSpace(p.Name) == "" {
			return fmt.Errorf("packages[%d].name: required", i)
		}
		if strings.TrimSpace(p.Version) == "" {
			return fmt.Errorf("packages[%d].version: required", i)
		}
		if err := checkTexts(fmt.Sprintf("packages[%d]", i), textField{"name", p.Name}, textField{"publisher", p.Publisher},
			textField{"arch", p.Arch}, textField{"epoch", p.Epoch}, textField{"version", p.Version}, textField{"release", p.Release}); err != nil {
			return err
		}
		if !validFormat(p.Format) {
			return fmt.Errorf("packages[%d].format: %q is not rpm, deb or windows", i, p.Format)
		}
		f := p.Format
		if f == FormatGeneric {
			f = m.PackageFormat
		}
		if f == FormatWindows {
			// a Windows application has a version and nothing else
			switch {
			case strings.TrimSpace(p.Epoch) != "":
				return fmt.Errorf("packages[%d].epoch: a Windows application has no epoch", i)
			case strings.TrimSpace(p.Release) != "":
				return fmt.Errorf("packages[%d].release: a Windows application has no release", i)
			}
			continue
		}
		if p.Epoch != "" && !allDigits(strings.TrimSpace(p.Epoch)) {
			return fmt.Errorf("packages[%d].epoch: %q is not a number", i, p.Epoch)
		}
		// the epoch as normalisation will read it: the Epoch field, else
		// "E:" prefixes of the version
		if err := CheckEpoch(effectiveEpoch(p.Epoch, p.Version)); err != nil {
			return fmt.Errorf("packages[%d].epoch: %w", i, err)
		}
	}
	return nil
}

// sortPackages normalises and sorts the packages and rejects several
// versions of one name+arch where they cannot be.
func (m *Manifest) sortPackages(o NormalizeOptions) error {
	if m.NameVersionOnly {
		// name-version-only manifests match any architecture and publisher
		for i := range m.Packages {
			m.Packages[i].Arch, m.Packages[i].Publisher = "", ""
		}
	}
	m.Packages = normalizePackages(m.Packages, m.PackageFormat)
	if m.NameVersionOnly {
		return nil
	}
	for i := 1; i < len(m.Packages); i++ {
		a, b := &m.Packages[i-1], &m.Packages[i]
		if a.Name == b.Name && a.Publisher == b.Publisher && a.Arch == b.Arch && a.Format != FormatWindows && !IsInstallOnly(a.Name, o.InstallOnly) {
			arch := ""
			if a.Arch != "" {
				arch = "." + DisplayArch(a.Format, a.Arch)
			}
			return fmt.Errorf("packages: %s%s is listed with versions %s and %s; only install-only packages (kernels) may have several versions", a.Name, arch, a.EVR, b.EVR)
		}
	}
	return nil
}

func (m *Manifest) checkFiles() error {
	for i := range m.Files {
		f := &m.Files[i]
		if strings.TrimSpace(f.Path) == "" {
			return fmt.Errorf("files[%d].path: required", i)
		}
		if err := checkTexts(fmt.Sprintf("files[%d]", i), textField{"path", f.Path}, textField{"sha256", f.SHA256},
			textField{"mode", f.Mode}, textField{"owner", f.Owner}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manifest) checkServices() error {
	for i := range m.Services {
		v := &m.Services[i]
		if strings.TrimSpace(v.Name) == "" {
			return fmt.Errorf("services[%d].name: required", i)
		}
		if err := checkTexts(fmt.Sprintf("services[%d]", i), textField{"name", v.Name}, textField{"state", v.State}, textField{"enabled", v.Enabled}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manifest) checkUpdates() error {
	for i := range m.Updates {
		u := &m.Updates[i]
		if strings.TrimSpace(u.HotFixID) == "" {
			return fmt.Errorf("updates[%d].hotfix_id: required", i)
		}
		if err := checkTexts(fmt.Sprintf("updates[%d]", i), textField{"hotfix_id", u.HotFixID}, textField{"description", u.Description},
			textField{"installed_by", u.InstalledBy}, textField{"installed_time", u.InstalledTime}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manifest) checkRoles() error {
	for i := range m.Roles {
		r := &m.Roles[i]
		if strings.TrimSpace(r.Name) == "" {
			return fmt.Errorf("roles[%d].name: required", i)
		}
		if !r.Installed {
			return fmt.Errorf("roles[%d] (%s): a baseline lists the roles that must be installed; installed is false", i, strings.TrimSpace(r.Name))
		}
		if err := checkTexts(fmt.Sprintf("roles[%d]", i), textField{"name", r.Name}, textField{"display_name", r.DisplayName},
			textField{"feature_type", r.FeatureType}, textField{"install_state", r.InstallState}); err != nil {
			return err
		}
	}
	return nil
}

// Normalize normalises every package and sorts all items deterministically.
// Exact duplicate packages are dropped; several versions of one name+arch
// are kept (they are compared as a set). Of updates and roles reported
// twice, the first is kept.
func (s *Snapshot) Normalize() {
	s.Packages = normalizePackages(s.Packages, FormatGeneric)
	s.Files = normalizeFiles(s.Files)
	s.Services = normalizeServices(s.Services)
	s.Updates = slices.CompactFunc(normalizeUpdates(s.Updates), func(a, b Update) bool { return a.HotFixID == b.HotFixID })
	s.Roles = slices.CompactFunc(normalizeRoles(s.Roles), func(a, b Role) bool { return a.Name == b.Name })
	normalizeCustom(s.Custom)
}

// FilesFromInventory converts AWS:File or Custom:FileDigest entries to Files.
// AWS:File: InstalledDir + Name, Size, ModificationTime. Custom:FileDigest:
// Path, SHA256, Size, Mode, Owner, ModificationTime (or MTime). Values that
// cannot be parsed are treated as not provided (missing data is never drift).
func FilesFromInventory(typeName string, entries []map[string]string) []File {
	out := make([]File, 0, len(entries))
	for _, e := range entries {
		var f File
		if typeName == TypeFile {
			dir, name := e["InstalledDir"], e["Name"]
			switch {
			case dir == "":
				f.Path = name
			case strings.HasSuffix(dir, "/") || strings.HasSuffix(dir, `\`):
				f.Path = dir + name
			case strings.Contains(dir, `\`):
				f.Path = dir + `\` + name
			default:
				f.Path = dir + "/" + name
			}
		} else {
			f.Path = e["Path"]
			f.SHA256 = strings.ToLower(strings.TrimSpace(e["SHA256"]))
			f.Mode = strings.TrimSpace(e["Mode"])
			f.Owner = strings.TrimSpace(e["Owner"])
		}
		if v, ok := e["Size"]; ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
				f.Size, f.HasSize = n, true
			}
		}
		mt := e["ModificationTime"]
		if mt == "" {
			mt = e["MTime"]
		}
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(mt)); err == nil {
			f.ModTime = t.UTC()
		}
		f.Path = strings.TrimSpace(f.Path)
		if f.Path == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// ServicesFromInventory converts AWS:Service (Name, Status, StartType) or
// Custom:SystemdUnit (Name, ActiveState, UnitFileState) entries to Services.
func ServicesFromInventory(typeName string, entries []map[string]string) []Service {
	out := make([]Service, 0, len(entries))
	for _, e := range entries {
		s := Service{Name: strings.TrimSpace(e["Name"])}
		if typeName == TypeService {
			s.State, s.Enabled = e["Status"], e["StartType"]
		} else {
			s.State, s.Enabled = e["ActiveState"], e["UnitFileState"]
		}
		s.State, s.Enabled = strings.TrimSpace(s.State), strings.TrimSpace(s.Enabled)
		if s.Name == "" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// UpdatesFromInventory converts AWS:WindowsUpdate entries (HotFixId,
// Description, InstalledTime, InstalledBy, as the SSM agent reports
// Win32_QuickFixEngineering) to Updates, skipping entries without an id.
func UpdatesFromInventory(entries []map[string]string) []Update {
	out := make([]Update, 0, len(entries))
	for _, e := range entries {
		u := Update{HotFixID: strings.TrimSpace(e["HotFixId"]), Description: strings.TrimSpace(e["Description"]),
			InstalledBy: strings.TrimSpace(e["InstalledBy"]), InstalledTime: strings.TrimSpace(e["InstalledTime"])}
		if u.HotFixID == "" {
			continue
		}
		out = append(out, u)
	}
	return out
}

// RolesFromInventory converts AWS:WindowsRole entries (the SSM agent's
// reading of Get-WindowsFeature: Name, DisplayName, FeatureType, Installed
// "True"/"False", InstalledState) to Roles, skipping entries without a
// name. A role is installed when Installed says True; an entry without
// Installed is installed when its InstalledState is Installed.
func RolesFromInventory(entries []map[string]string) []Role {
	out := make([]Role, 0, len(entries))
	for _, e := range entries {
		r := Role{Name: strings.TrimSpace(e["Name"]), DisplayName: strings.TrimSpace(e["DisplayName"]),
			FeatureType: strings.TrimSpace(e["FeatureType"]), InstallState: strings.TrimSpace(e["InstalledState"])}
		if r.Name == "" {
			continue
		}
		if v, ok := e["Installed"]; ok {
			r.Installed = strings.EqualFold(strings.TrimSpace(v), "true")
		} else {
			r.Installed = strings.EqualFold(r.InstallState, "Installed")
		}
		out = append(out, r)
	}
	return out
}

// SnapshotFromManifest turns a manifest into a snapshot of an instance that
// has exactly the manifest's content, so two manifests can be diffed with
// Compare (driftd baseline diff A B). Every category is marked as captured
// at the zero time; compare with a Policy whose MaxInventoryAge is zero.
func SnapshotFromManifest(m *Manifest) *Snapshot {
	if m == nil {
		return nil
	}
	s := &Snapshot{
		InstanceID:   m.Name,
		AMI:          m.AMI,
		CaptureTimes: map[string]time.Time{TypeApplication: {}},
		Packages:     slices.Clone(m.Packages),
		Files:        slices.Clone(m.Files),
		Services:     slices.Clone(m.Services),
		Updates:      slices.Clone(m.Updates),
		Roles:        slices.Clone(m.Roles),
	}
	if s.InstanceID == "" {
		s.InstanceID = m.AMI
	}
	for i := range s.Packages {
		if s.Packages[i].Format == FormatGeneric {
			s.Packages[i].Format = m.PackageFormat
		}
	}
	if len(m.Files) > 0 {
		s.CaptureTimes[TypeFileDigest] = time.Time{}
	}
	if len(m.Services) > 0 {
		if m.IsWindows() {
			s.CaptureTimes[TypeService] = time.Time{}
		} else {
			s.CaptureTimes[TypeSystemdUnit] = time.Time{}
		}
	}
	if len(m.Updates) > 0 {
		s.CaptureTimes[TypeWindowsUpdate] = time.Time{}
	}
	if len(m.Roles) > 0 {
		s.CaptureTimes[TypeWindowsRole] = time.Time{}
	}
	if len(m.Custom) > 0 {
		s.Custom = make(map[string]*CustomType, len(m.Custom))
		for k, ct := range m.Custom {
			if ct == nil {
				continue
			}
			c := &CustomType{TypeName: ct.TypeName, Entries: make([]map[string]string, len(ct.Entries))}
			for i, e := range ct.Entries {
				c.Entries[i] = cloneMap(e)
			}
			s.Custom[k] = c
			s.CaptureTimes[k] = time.Time{}
		}
	}
	s.Normalize()
	return s
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
