package manifest

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/driftd/driftd/drift"
)

// Windows SBOMs. Windows has no OS package manager with a purl type of its
// own: what the SSM agent reports in AWS:Application is the list of
// "Add/Remove Programs" entries (the uninstall registry keys, see
// amazon-ssm-agent agent/plugins/inventory/gatherers/application/
// dataProvider_windows.go), and the purl type for such programs is the one
// for things without a package ecosystem, generic (package-url/purl-spec
// types/generic-definition.json):
//
//	pkg:generic/Amazon%20SSM%20Agent@3.3.1142.0?arch=x86_64
//
// So in an SBOM whose operating system is Windows (an operating-system
// component or SPDX OPERATING-SYSTEM package naming Windows), each
// pkg:generic component is an installed application: name and version from
// the purl, architecture from its arch qualifier (x86_64/x64 or i386/x86),
// publisher from the component's publisher (CycloneDX publisher or
// supplier, SPDX supplier), else the purl's namespace. A generic component
// named like a Windows update (KB followed by digits) is an installed
// update, as the agent itself files such entries under AWS:WindowsUpdate
// and not under AWS:Application. Outside Windows SBOMs pkg:generic is not
// an OS package and is skipped, as before.
//
// Windows SBOM tools that read the same registry keys often write no purl
// at all: openclarity/vmclarity's Windows analyzer
// (scanner/families/sbom/windows) writes each uninstall entry as a
// CycloneDX component of type application with the entry's DisplayName,
// DisplayVersion and Publisher, and each installed update as an application
// component named by its KB id with publisher Microsoft Corporation and no
// version, under an operating-system metadata component naming Windows. So,
// in a Windows SBOM, a component without purl (addNoPURL) is
//   - an installed update when its name is a KB id, whatever its type;
//   - an installed application when it is an application (CycloneDX type
//     application, SPDX primaryPackagePurpose APPLICATION) with a version:
//     name, version and publisher as written, any architecture (the
//     registry keys say nothing of it);
//   - skipped otherwise: "no-version" for an application without version
//     (an uninstall entry without DisplayVersion: a baseline cannot pin
//     it), "no-purl" for anything else (files, libraries, ...).
//
// pkg:nuget (.NET libraries inside applications) and pkg:chocolatey (a
// Chocolatey package id, not the name the program registers for
// Add/Remove Programs) are not installed applications in the agent's sense
// and are skipped (counted in skipped_by_type).

// kbRE matches a Windows update id. The agent's registry query drops
// entries whose DisplayName matches '^KB[000000-999999]' (KB and a digit).
var kbRE = regexp.MustCompile(`^(?i)KB[0-9]+$`)

// addWindowsPURL adds the application or update a pkg:generic purl of a
// Windows SBOM names. done is false for every other purl type, which the
// caller handles as in any SBOM.
func addWindowsPURL(m *drift.Manifest, it sbomItem, list string) (done bool, err error) {
	u, err := packageurl.FromString(it.purl)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a package URL: %v", it.path, it.purl, err)
	}
	if !strings.EqualFold(u.Type, packageurl.TypeGeneric) {
		return false, nil
	}
	name := strings.TrimSpace(u.Name)
	if name == "" {
		return true, fmt.Errorf("%s: %q: no name", it.path, it.purl)
	}
	if kbRE.MatchString(name) {
		if err := checkWindowsText(it, textOf("name", name)); err != nil {
			return true, err
		}
		m.Updates = append(m.Updates, drift.Update{HotFixID: name})
		if len(m.Updates) > MaxItems {
			return true, fmt.Errorf("%s: more than the limit of %d updates", list, MaxItems)
		}
		return true, nil
	}
	if strings.TrimSpace(u.Version) == "" {
		return true, fmt.Errorf("%s: %q: no version", it.path, it.purl)
	}
	pub := strings.TrimSpace(it.publisher)
	if pub == "" {
		pub = strings.TrimSpace(u.Namespace)
	}
	p := drift.Package{Name: name, Publisher: pub, Arch: u.Qualifiers.Map()["arch"], Version: u.Version, Format: drift.FormatWindows}
	drift.NormalizePackage(&p)
	if err := checkWindowsText(it, textOf("name", p.Name), textOf("publisher", p.Publisher), textOf("arch", p.Arch), textOf("version", p.Version)); err != nil {
		return true, err
	}
	m.Packages = append(m.Packages, p)
	if len(m.Packages) > MaxPackages {
		return true, fmt.Errorf("%s: more than the limit of %d packages", list, MaxPackages)
	}
	return true, nil
}

type namedText struct{ name, v string }

func textOf(name, v string) namedText { return namedText{name, v} }

// checkWindowsText rejects decoded purl fields that are not UTF-8, hold
// control characters or are too long.
func checkWindowsText(it sbomItem, fields ...namedText) error {
	for _, f := range fields {
		switch {
		case !utf8.ValidString(f.v):
			return fmt.Errorf("%s: %q: %s not valid UTF-8 once decoded", it.path, it.purl, f.name)
		case len(f.v) > MaxFieldBytes:
			return fmt.Errorf("%s: %s longer than %d bytes", it.path, f.name, MaxFieldBytes)
		}
		if err := drift.CheckText(f.v); err != nil {
			return fmt.Errorf("%s: %q: %s %v", it.path, it.purl, f.name, err)
		}
	}
	return nil
}

// addNoPURL handles an SBOM item without purl: in a Windows SBOM, an
// installed update or application named by the item's own fields (see
// above); everything else is counted as skipped.
func addNoPURL(m *drift.Manifest, it sbomItem, list string, windows bool, skip skipped) error {
	name := strings.TrimSpace(it.name)
	switch {
	case !windows || name == "":
		skip.add("no-purl")
		return nil
	case kbRE.MatchString(name):
		if err := checkComponentText(it, textOf("name", name)); err != nil {
			return err
		}
		m.Updates = append(m.Updates, drift.Update{HotFixID: name})
		if len(m.Updates) > MaxItems {
			return fmt.Errorf("%s: more than the limit of %d updates", list, MaxItems)
		}
		return nil
	case !it.app:
		skip.add("no-purl")
		return nil
	case strings.TrimSpace(it.version) == "":
		skip.add("no-version")
		return nil
	}
	p := drift.Package{Name: name, Publisher: it.publisher, Version: it.version, Format: drift.FormatWindows}
	drift.NormalizePackage(&p)
	if err := checkComponentText(it, textOf("name", p.Name), textOf("publisher", p.Publisher), textOf("version", p.Version)); err != nil {
		return err
	}
	m.Packages = append(m.Packages, p)
	if len(m.Packages) > MaxPackages {
		return fmt.Errorf("%s: more than the limit of %d packages", list, MaxPackages)
	}
	return nil
}

// checkComponentText rejects fields of a purl-less item that are not
// UTF-8, hold control characters or are too long, naming the item.
func checkComponentText(it sbomItem, fields ...namedText) error {
	for _, f := range fields {
		switch {
		case !utf8.ValidString(f.v):
			return fmt.Errorf("%s.%s: not valid UTF-8", it.at, f.name)
		case len(f.v) > MaxFieldBytes:
			return fmt.Errorf("%s.%s: longer than %d bytes", it.at, f.name, MaxFieldBytes)
		}
		if err := drift.CheckText(f.v); err != nil {
			return fmt.Errorf("%s.%s: %v", it.at, f.name, err)
		}
	}
	return nil
}
