package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	cdx "github.com/CycloneDX/cyclonedx-go"
	packageurl "github.com/package-url/packageurl-go"

	"github.com/driftd/driftd/drift"
)

// skipped counts SBOM components that are not OS packages, by purl type.
type skipped map[string]int

func (s skipped) add(kind string) { s[kind]++ }

func (s skipped) record(m *drift.Manifest) {
	n := 0
	kinds := make([]string, 0, len(s))
	for k, v := range s {
		n += v
		kinds = append(kinds, k)
	}
	if n == 0 {
		return
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + "=" + strconv.Itoa(s[k])
	}
	if m.Provenance == nil {
		m.Provenance = map[string]string{}
	}
	m.Provenance["skipped_components"] = strconv.Itoa(n)
	m.Provenance["skipped_by_type"] = strings.Join(parts, ",")
}

// packageFromPURL converts an rpm or deb (dpkg) package URL. ok is false,
// with the purl type as kind, for every other ecosystem (pypi, npm, golang,
// ...), which are not OS packages and are not compared.
func packageFromPURL(s string) (p drift.Package, distro string, ok bool, kind string, err error) {
	u, err := packageurl.FromString(s)
	if err != nil {
		return p, "", false, "", fmt.Errorf("%q is not a package URL: %v", s, err)
	}
	var f drift.PackageFormat
	switch strings.ToLower(u.Type) {
	case "rpm":
		f = drift.FormatRPM
	case "deb", "dpkg":
		f = drift.FormatDeb
	default:
		return p, "", false, strings.ToLower(u.Type), nil
	}
	q := u.Qualifiers.Map()
	if u.Name == "" {
		return p, "", false, "", fmt.Errorf("%q: no package name", s)
	}
	if u.Version == "" {
		return p, "", false, "", fmt.Errorf("%q: no version", s)
	}
	p = drift.Package{Name: u.Name, Arch: strings.ToLower(q["arch"]), Version: u.Version, Format: f}
	if e := q["epoch"]; e != "" {
		if !allDigits(e) {
			return p, "", false, "", fmt.Errorf("%q: epoch %q is not a number", s, e)
		}
		ve, rest := splitEpochPrefix(p.Version)
		if ve != "" && strings.TrimLeft(ve, "0") != strings.TrimLeft(e, "0") {
			return p, "", false, "", fmt.Errorf("%q: epoch qualifier %s contradicts version %s", s, e, u.Version)
		}
		p.Epoch, p.Version = e, rest
	}
	drift.NormalizePackage(&p)
	switch {
	case !utf8.ValidString(p.Name + p.Arch + p.Epoch + p.Version + p.Release):
		return p, "", false, "", fmt.Errorf("%q: not valid UTF-8 once decoded", s)
	case p.Name == "":
		return p, "", false, "", fmt.Errorf("%q: no package name", s)
	case p.Version == "":
		return p, "", false, "", fmt.Errorf("%q: no version", s)
	}
	for _, f := range [...]struct{ name, v string }{{"name", p.Name}, {"arch", p.Arch}, {"epoch", p.Epoch}, {"version", p.Version}, {"release", p.Release}} {
		if err := drift.CheckText(f.v); err != nil {
			return p, "", false, "", fmt.Errorf("%q: %s %v", s, f.name, err)
		}
	}
	if err := drift.CheckEpoch(p.Epoch); err != nil {
		return p, "", false, "", fmt.Errorf("%q: epoch %v", s, err)
	}
	distro = q["distro"]
	if fam := osFamilyFromDistro(distro); fam == "" || !isLetter(fam[0]) {
		// Inspector writes distro=2023 under the "amazon" namespace
		distro = u.Namespace
	}
	return p, distro, true, "", nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func splitEpochPrefix(v string) (string, string) {
	if i := strings.IndexByte(v, ':'); i > 0 && allDigits(v[:i]) {
		return v[:i], v[i+1:]
	}
	return "", v
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// osFamilyFromDistro maps "amzn-2023", "amazon-2023.3", "debian-12" to an
// OS family; any name mentioning Windows ("Microsoft Windows Server 2022
// Datacenter", "windows-server-2022") is the windows family.
func osFamilyFromDistro(d string) string {
	d = strings.ToLower(d)
	if strings.Contains(d, drift.OSFamilyWindows) {
		return drift.OSFamilyWindows
	}
	if i := strings.IndexAny(d, "-@"); i > 0 {
		d = d[:i]
	}
	switch d {
	case "amazon", "amazonlinux", "amzn":
		return "amzn"
	}
	return d
}

var amiFindRE = regexp.MustCompile(`\bami-(?:[0-9a-f]{17}|[0-9a-f]{8})\b`)

// amiFrom collects AMI ids found in the candidate strings; more than one
// distinct id is an error.
func amiFrom(where string, candidates ...string) (string, error) {
	found := ""
	for _, c := range candidates {
		for _, a := range amiFindRE.FindAllString(c, -1) {
			if found != "" && a != found {
				return "", fmt.Errorf("%s: names two AMIs, %s and %s", where, found, a)
			}
			found = a
		}
	}
	return found, nil
}

// ---- CycloneDX ----

func decodeCycloneDX(data []byte) (*drift.Manifest, error) {
	var bom cdx.BOM
	if err := json.Unmarshal(data, &bom); err != nil {
		if errors.Is(err, cdx.ErrInvalidSpecVersion) {
			return nil, errors.New("specVersion: not a known CycloneDX version")
		}
		return nil, errors.New(jsonErr(err))
	}
	if bom.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("bomFormat: %q, want \"CycloneDX\"", bom.BOMFormat)
	}
	if bom.SpecVersion < cdx.SpecVersion1_4 {
		return nil, fmt.Errorf("specVersion: %s is not supported (need 1.4 or later)", bom.SpecVersion)
	}
	m := &drift.Manifest{SchemaVersion: SchemaVersion, Provenance: map[string]string{"source_format": "cyclonedx " + bom.SpecVersion.String()}}
	var amiCandidates []string
	if md := bom.Metadata; md != nil {
		if md.Timestamp != "" {
			m.Provenance["sbom_timestamp"] = md.Timestamp
		}
		for _, props := range []*[]cdx.Property{md.Properties, componentProps(md.Component)} {
			if props == nil {
				continue
			}
			for _, pr := range *props {
				ln := strings.ToLower(pr.Name)
				if strings.Contains(ln, "image") || strings.Contains(ln, "ami") || strings.Contains(ln, "source") {
					amiCandidates = append(amiCandidates, pr.Value)
				}
				if ln == "resourcetype" {
					m.Provenance["resource_type"] = pr.Value
				}
			}
		}
		if c := md.Component; c != nil {
			amiCandidates = append(amiCandidates, c.Name, c.BOMRef)
			if c.Type == cdx.ComponentTypeOS {
				m.OSFamily = osFamilyFromDistro(c.Name)
			}
		}
	}
	ami, err := amiFrom("metadata", amiCandidates...)
	if err != nil {
		return nil, err
	}
	m.AMI = ami
	items, err := cdxItems(bom.Components, m)
	if err != nil {
		return nil, err
	}
	skip := skipped{}
	distros := map[string]bool{}
	windows := m.OSFamily == drift.OSFamilyWindows
	for _, it := range items {
		if it.purl == "" {
			if err := addNoPURL(m, it, "components", windows, skip); err != nil {
				return nil, err
			}
			continue
		}
		if err := addPURL(m, it, "components", windows, distros, skip); err != nil {
			return nil, err
		}
	}
	if len(m.Packages) == 0 && len(m.Updates) == 0 {
		return nil, errors.New("components: no rpm or deb packages (purl pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or application components in a Windows SBOM) found")
	}
	setFormatAndOS(m, distros)
	skip.record(m)
	return m, nil
}

// sbomItem is one SBOM component or package that may name an installed
// package: its purl, its publisher (CycloneDX publisher or supplier, SPDX
// supplier), its own name and version, whether the SBOM calls it an
// application (CycloneDX type application, SPDX primaryPackagePurpose
// APPLICATION) and where it is in the document (at; path is its purl's).
type sbomItem struct {
	at, path, purl, publisher string
	name, version             string
	app                       bool
}

// cdxItems flattens the component tree (nested components included) and
// learns the OS family from operating-system components.
func cdxItems(top *[]cdx.Component, m *drift.Manifest) ([]sbomItem, error) {
	type frame struct {
		path string
		cs   *[]cdx.Component
	}
	var items []sbomItem
	stack := []frame{{"components", top}}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if fr.cs == nil {
			continue
		}
		for i := range *fr.cs {
			c := &(*fr.cs)[i]
			path := fr.path + "[" + strconv.Itoa(i) + "]"
			if c.Components != nil {
				if len(stack) > 64 {
					return nil, fmt.Errorf("%s.components: nested too deeply", path)
				}
				stack = append(stack, frame{path + ".components", c.Components})
			}
			if c.Type == cdx.ComponentTypeOS {
				if m.OSFamily == "" {
					m.OSFamily = osFamilyFromDistro(c.Name)
				}
				continue
			}
			pub := c.Publisher
			if pub == "" && c.Supplier != nil {
				pub = c.Supplier.Name
			}
			items = append(items, sbomItem{at: path, path: path + ".purl", purl: c.PackageURL, publisher: pub,
				name: c.Name, version: c.Version, app: c.Type == cdx.ComponentTypeApplication})
		}
	}
	return items, nil
}

// addPURL adds the OS package an item's purl names to m; in a Windows SBOM
// (windows), a pkg:generic purl names an installed application or update
// (see windowsFromPURL). Non-OS purls (pypi, npm, nuget, chocolatey, ...)
// are counted as skipped; the item's path and list name them in errors.
func addPURL(m *drift.Manifest, it sbomItem, list string, windows bool, distros map[string]bool, skip skipped) error {
	if windows {
		done, err := addWindowsPURL(m, it, list)
		if err != nil || done {
			return err
		}
	}
	p, distro, ok, kind, err := packageFromPURL(it.purl)
	if err != nil {
		return fmt.Errorf("%s: %v", it.path, err)
	}
	if !ok {
		skip.add(kind)
		return nil
	}
	if distro != "" {
		distros[distro] = true
	}
	m.Packages = append(m.Packages, p)
	if len(m.Packages) > MaxPackages {
		return fmt.Errorf("%s: more than the limit of %d packages", list, MaxPackages)
	}
	return nil
}

func componentProps(c *cdx.Component) *[]cdx.Property {
	if c == nil {
		return nil
	}
	return c.Properties
}

// setFormatAndOS derives the manifest's package format (when all packages
// agree) and OS family (from purl distro qualifiers when not already known).
func setFormatAndOS(m *drift.Manifest, distros map[string]bool) {
	if len(m.Packages) == 0 {
		m.PackageFormat = drift.FormatWindows // a Windows SBOM listing updates only
		return
	}
	f := m.Packages[0].Format
	for i := range m.Packages {
		if m.Packages[i].Format != f {
			f = drift.FormatGeneric
			break
		}
	}
	m.PackageFormat = f
	if m.OSFamily == "" && len(distros) > 0 {
		ds := make([]string, 0, len(distros))
		for d := range distros {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		m.OSFamily = osFamilyFromDistro(ds[0])
		m.Provenance["distro"] = strings.Join(ds, ",")
	}
}

// ---- SPDX ----

type spdxDoc struct {
	SPDXVersion       string `json:"spdxVersion"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      *struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages *[]spdxPackage `json:"packages"`
}

type spdxPackage struct {
	SPDXID       string `json:"SPDXID"`
	Name         string `json:"name"`
	VersionInfo  string `json:"versionInfo"`
	Supplier     string `json:"supplier"`
	ExternalRefs []struct {
		ReferenceCategory string `json:"referenceCategory"`
		ReferenceType     string `json:"referenceType"`
		ReferenceLocator  string `json:"referenceLocator"`
	} `json:"externalRefs"`
	PrimaryPackagePurpose string `json:"primaryPackagePurpose"`
}

func decodeSPDX(data []byte) (*drift.Manifest, error) {
	var doc spdxDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.New(jsonErr(err))
	}
	switch doc.SPDXVersion {
	case "SPDX-2.2", "SPDX-2.3":
	case "":
		return nil, errors.New("spdxVersion: required")
	default:
		return nil, fmt.Errorf("spdxVersion: %q is not supported (need SPDX-2.2 or SPDX-2.3)", doc.SPDXVersion)
	}
	if doc.Packages == nil {
		return nil, errors.New("packages: required")
	}
	m := &drift.Manifest{SchemaVersion: SchemaVersion, Name: "", Provenance: map[string]string{"source_format": strings.ToLower(doc.SPDXVersion)}}
	if doc.CreationInfo != nil && doc.CreationInfo.Created != "" {
		m.Provenance["sbom_timestamp"] = doc.CreationInfo.Created
	}
	ami, err := amiFrom("name/documentNamespace", doc.Name, doc.DocumentNamespace)
	if err != nil {
		return nil, err
	}
	m.AMI = ami
	var items []sbomItem
	for i, sp := range *doc.Packages {
		purl := ""
		for _, ref := range sp.ExternalRefs {
			if strings.EqualFold(ref.ReferenceType, "purl") {
				purl = ref.ReferenceLocator
				break
			}
		}
		if sp.PrimaryPackagePurpose == "OPERATING-SYSTEM" {
			if m.OSFamily == "" {
				m.OSFamily = osFamilyFromDistro(sp.Name)
			}
			continue
		}
		items = append(items, sbomItem{at: fmt.Sprintf("packages[%d]", i), path: fmt.Sprintf("packages[%d].externalRefs.purl", i), purl: purl,
			publisher: spdxSupplier(sp.Supplier), name: sp.Name, version: sp.VersionInfo, app: sp.PrimaryPackagePurpose == "APPLICATION"})
	}
	skip := skipped{}
	distros := map[string]bool{}
	windows := m.OSFamily == drift.OSFamilyWindows
	for _, it := range items {
		if it.purl == "" {
			if err := addNoPURL(m, it, "packages", windows, skip); err != nil {
				return nil, err
			}
			continue
		}
		if err := addPURL(m, it, "packages", windows, distros, skip); err != nil {
			return nil, err
		}
	}
	if len(m.Packages) == 0 && len(m.Updates) == 0 {
		return nil, errors.New("packages: no rpm or deb packages (purl externalRefs pkg:rpm/... or pkg:deb/...), and no Windows applications (pkg:generic/... or APPLICATION packages in a Windows SBOM) found")
	}
	setFormatAndOS(m, distros)
	skip.record(m)
	return m, nil
}

// spdxSupplier reads an SPDX supplier ("Organization: Amazon Web
// Services", "Person: ...", or NOASSERTION) as a publisher name.
func spdxSupplier(s string) string {
	s = strings.TrimSpace(s)
	if s == "NOASSERTION" {
		return ""
	}
	for _, p := range []string{"Organization:", "Person:", "Tool:"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return strings.TrimSpace(rest)
		}
	}
	return s
}

// ---- EC2 Image Builder ----

type ibPage struct {
	RequestID        string       `json:"requestId,omitempty"`
	ImagePackageList *[]ibPackage `json:"imagePackageList"`
	NextToken        string       `json:"nextToken,omitempty"`
}

type ibPackage struct {
	PackageName    *string `json:"packageName"`
	PackageVersion *string `json:"packageVersion"`
}

// decodeImageBuilder reads ListImagePackages output: one response object, or
// a JSON array of the response pages.
func decodeImageBuilder(data []byte) (*drift.Manifest, error) {
	var pages []ibPage
	trimmed := bytes.TrimSpace(data)
	strict := func(b []byte, v any) error {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return errors.New(jsonErr(err))
		}
		if dec.More() {
			return errors.New("trailing data after the JSON value")
		}
		return nil
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strict(trimmed, &pages); err != nil {
			return nil, err
		}
		if len(pages) == 0 {
			return nil, errors.New("no pages")
		}
	} else {
		var p ibPage
		if err := strict(trimmed, &p); err != nil {
			return nil, err
		}
		pages = []ibPage{p}
	}
	m := &drift.Manifest{SchemaVersion: SchemaVersion, NameVersionOnly: true, Provenance: map[string]string{"source_format": "imagebuilder"}}
	for pi, pg := range pages {
		prefix := "imagePackageList"
		if len(pages) > 1 {
			prefix = fmt.Sprintf("[%d].imagePackageList", pi)
		}
		if pg.ImagePackageList == nil {
			return nil, fmt.Errorf("%s: required", prefix)
		}
		for i, ip := range *pg.ImagePackageList {
			switch {
			case ip.PackageName == nil || strings.TrimSpace(*ip.PackageName) == "":
				return nil, fmt.Errorf("%s[%d].packageName: required", prefix, i)
			case ip.PackageVersion == nil || strings.TrimSpace(*ip.PackageVersion) == "":
				return nil, fmt.Errorf("%s[%d].packageVersion: required", prefix, i)
			}
			if err := drift.CheckText(*ip.PackageName); err != nil {
				return nil, fmt.Errorf("%s[%d].packageName: %w", prefix, i, err)
			}
			if err := drift.CheckText(*ip.PackageVersion); err != nil {
				return nil, fmt.Errorf("%s[%d].packageVersion: %w", prefix, i, err)
			}
			m.Packages = append(m.Packages, drift.Package{Name: *ip.PackageName, Version: *ip.PackageVersion})
			if len(m.Packages) > MaxPackages {
				return nil, fmt.Errorf("imagePackageList: more than the limit of %d packages", MaxPackages)
			}
		}
	}
	if len(m.Packages) == 0 {
		return nil, errors.New("imagePackageList: empty (was the image built with enhancedImageMetadataEnabled?)")
	}
	return m, nil
}
