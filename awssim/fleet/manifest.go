package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	packageurl "github.com/package-url/packageurl-go"
)

// Manifest formats an AMI's baseline can be published in (AMISpec.ManifestFormat).
const (
	ManifestNative    = "native"
	ManifestCycloneDX = "cyclonedx"
)

// ManifestBucket holds published manifests too large for a parameter.
const ManifestBucket = "awssim-golden-manifests"

// StandardParameterLimit is the value size of a standard-tier parameter:
// a larger baseline is published to S3 behind an s3:// pointer.
const StandardParameterLimit = 4096

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

// BaselineDocument returns the AMI's baseline as ManifestParameter publishes
// it (native JSON or a CycloneDX SBOM, per AMISpec.ManifestFormat) with the
// file name a pipeline would give it (<ami>.json, <ami>.cdx.json).
func (f *Fleet) BaselineDocument(amiID string) (string, []byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := f.amis[amiID]
	if a == nil {
		return "", nil, fmt.Errorf("ami %s not found", amiID)
	}
	return baselineDocument(a)
}

// Manifest returns the AMI's baseline manifest as driftd native JSON.
func (f *Fleet) Manifest(amiID string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := f.amis[amiID]
	if a == nil {
		return nil, fmt.Errorf("ami %s not found", amiID)
	}
	return manifestJSON(a)
}

// manifestJSON renders an AMI's baseline in driftd's native manifest shape
// (field names of drift.Manifest, schema_version 1).
func manifestJSON(a *AMI) ([]byte, error) {
	if a.PackageFormat == FormatWindows {
		return windowsManifestJSON(a)
	}
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
	if a.PackageFormat == FormatWindows {
		return windowsCycloneDXJSON(a)
	}
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
