// Package manifest decodes baseline manifests into *drift.Manifest: the
// native YAML/JSON schema, CycloneDX JSON (1.4+), SPDX 2.3 JSON and EC2
// Image Builder ListImagePackages output. Decoding is strict and total: a
// document either yields a complete, normalised manifest or an error naming
// the document and the field (e.g.
// "baselines/ami-0abc.yaml: packages[12].version: required"); never a panic
// and never a partially loaded manifest.
//
// Like drift, the package does no I/O of its own: it decodes bytes (or an
// io.Reader handed in by the caller).
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/driftd/driftd/drift"
)

// Format names a manifest document format.
type Format string

const (
	FormatAuto         Format = ""             // detect from the name suffix, then the content
	FormatNativeYAML   Format = "yaml"         // native schema, YAML
	FormatNativeJSON   Format = "json"         // native schema, JSON
	FormatCycloneDX    Format = "cyclonedx"    // CycloneDX JSON 1.4+
	FormatSPDX         Format = "spdx"         // SPDX 2.3 JSON
	FormatImageBuilder Format = "imagebuilder" // EC2 Image Builder ListImagePackages JSON
)

// Limits on what a document may contain. Anything larger is rejected with
// a clear error before or while decoding.
const (
	MaxDocumentBytes = 64 << 20 // 64 MiB
	MaxPackages      = 200_000
	MaxFieldBytes    = 1024 // names, versions, arches, paths...
	MaxItems         = 200_000
)

// Options tune Decode.
type Options struct {
	// Format forces a format; FormatAuto detects it.
	Format Format
	// AMI is the AMI id the manifest describes. It is used when the document
	// carries none (SBOMs, Image Builder lists); a document naming a different
	// AMI is an error.
	AMI string
	// Name, OSFamily and PackageFormat fill the manifest's fields when the
	// document does not provide them.
	Name          string
	OSFamily      string
	PackageFormat drift.PackageFormat
	// InstallOnly overrides drift.DefaultInstallOnly for duplicate validation.
	InstallOnly []string
}

// Decode decodes one manifest document. name (a file path, S3 key or
// parameter name) prefixes every error and selects the format by suffix:
// .cdx.json (CycloneDX), .spdx.json (SPDX), .imagebuilder.json (Image
// Builder), .yaml/.yml (native YAML), other .json by content. The result is
// normalised ((*drift.Manifest).NormalizeWith) and Source is set to name.
func Decode(name string, data []byte, opts Options) (*drift.Manifest, error) {
	m, err := decode(name, data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// DecodeReader reads at most MaxDocumentBytes from r and decodes it (see Decode).
func DecodeReader(name string, r io.Reader, opts Options) (*drift.Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	return Decode(name, data, opts)
}

var amiRE = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)

// IsAMIID reports whether s looks like an AMI id (ami- and 8 or 17 hex digits).
func IsAMIID(s string) bool { return amiRE.MatchString(s) }

func decode(name string, data []byte, opts Options) (*drift.Manifest, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is larger than %d MiB", MaxDocumentBytes>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty document")
	}
	if opts.AMI != "" && !IsAMIID(opts.AMI) {
		return nil, fmt.Errorf("ami %q is not an AMI id", opts.AMI)
	}
	switch opts.PackageFormat {
	case drift.FormatRPM, drift.FormatDeb, drift.FormatWindows, drift.FormatGeneric:
	default:
		return nil, fmt.Errorf("package format %q is not rpm, deb or windows", opts.PackageFormat)
	}
	f := opts.Format
	if f == FormatAuto {
		var err error
		if f, err = Detect(name, data); err != nil {
			return nil, err
		}
	}
	var (
		m   *drift.Manifest
		err error
	)
	switch f {
	case FormatNativeYAML:
		m, err = decodeNativeYAML(data)
	case FormatNativeJSON:
		m, err = decodeNativeJSON(data)
	case FormatCycloneDX:
		m, err = decodeCycloneDX(data)
	case FormatSPDX:
		m, err = decodeSPDX(data)
	case FormatImageBuilder:
		m, err = decodeImageBuilder(data)
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return nil, err
	}
	if err := finish(m, name, opts); err != nil {
		return nil, err
	}
	return m, nil
}

// finish applies options, checks limits and normalises.
func finish(m *drift.Manifest, name string, opts Options) error {
	switch {
	case m.AMI == "":
		m.AMI = opts.AMI
	case opts.AMI != "" && m.AMI != opts.AMI:
		return fmt.Errorf("ami_id: document describes %s, expected %s", m.AMI, opts.AMI)
	}
	if m.AMI != "" && !IsAMIID(m.AMI) {
		return fmt.Errorf("ami_id: %q is not an AMI id", m.AMI)
	}
	if m.Name == "" {
		m.Name = opts.Name
	}
	if m.OSFamily == "" {
		m.OSFamily = opts.OSFamily
	}
	if m.PackageFormat == drift.FormatGeneric {
		m.PackageFormat = opts.PackageFormat
	}
	if m.PackageFormat == drift.FormatGeneric {
		m.PackageFormat = formatForOS(m.OSFamily)
	}
	if m.PackageFormat == drift.FormatWindows && m.OSFamily == "" {
		m.OSFamily = drift.OSFamilyWindows
	}
	if m.Source == "" {
		m.Source = name
	}
	if err := checkLimits(m); err != nil {
		return err
	}
	return m.NormalizeWith(drift.NormalizeOptions{InstallOnly: opts.InstallOnly})
}

// formatForOS maps an OS family to its package format.
func formatForOS(os string) drift.PackageFormat {
	switch strings.ToLower(os) {
	case "amzn", "amazon", "amazonlinux", "rhel", "centos", "fedora", "rocky", "almalinux", "ol", "sles", "opensuse", "suse":
		return drift.FormatRPM
	case "debian", "ubuntu":
		return drift.FormatDeb
	case drift.OSFamilyWindows:
		return drift.FormatWindows
	}
	return drift.FormatGeneric
}

func checkLimits(m *drift.Manifest) error {
	if len(m.Packages) > MaxPackages {
		return fmt.Errorf("packages: %d entries, more than the limit of %d", len(m.Packages), MaxPackages)
	}
	for _, l := range [...]struct {
		field string
		n     int
	}{{"files", len(m.Files)}, {"services", len(m.Services)}, {"updates", len(m.Updates)}, {"roles", len(m.Roles)}} {
		if l.n > MaxItems {
			return fmt.Errorf("%s: %d entries, more than the limit of %d", l.field, l.n, MaxItems)
		}
	}
	for _, check := range [...]func(*drift.Manifest) error{checkHeader, checkPackageFields, checkItemFields, checkCustom} {
		if err := check(m); err != nil {
			return err
		}
	}
	return nil
}

// checkHeader checks the manifest's own fields and provenance.
func checkHeader(m *drift.Manifest) error {
	for _, f := range []struct{ field, v string }{{"ami_id", m.AMI}, {"name", m.Name}, {"os_family", m.OSFamily}, {"running_kernel", m.RunningKernel}} {
		if len(f.v) > MaxFieldBytes {
			return fmt.Errorf("%s: longer than %d bytes", f.field, MaxFieldBytes)
		}
	}
	for _, f := range []struct{ field, v string }{{"ami_id", m.AMI}, {"name", m.Name}, {"os_family", m.OSFamily}, {"running_kernel", m.RunningKernel}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s: not valid UTF-8", f.field)
		}
		if err := drift.CheckText(f.v); err != nil {
			return fmt.Errorf("%s: %w", f.field, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Provenance)) {
		v := m.Provenance[k]
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("provenance: not valid UTF-8")
		}
		if err := drift.CheckText(k); err != nil {
			return fmt.Errorf("provenance: key %q: %w", k, err)
		}
		if err := drift.CheckText(v); err != nil {
			return fmt.Errorf("provenance.%s: %w", k, err)
		}
	}
	return nil
}

func checkPackageFields(m *drift.Manifest) error {
	for i := range m.Packages {
		p := &m.Packages[i]
		for _, f := range []struct{ field, v string }{{"name", p.Name}, {"publisher", p.Publisher}, {"arch", p.Arch}, {"epoch", p.Epoch}, {"version", p.Version}, {"release", p.Release}} {
			if len(f.v) > MaxFieldBytes {
				return fmt.Errorf("packages[%d].%s: longer than %d bytes", i, f.field, MaxFieldBytes)
			}
			if !utf8.ValidString(f.v) {
				return fmt.Errorf("packages[%d].%s: not valid UTF-8", i, f.field)
			}
		}
	}
	return nil
}

// checkItemFields checks the lengths and encoding of files, services,
// updates and roles.
func checkItemFields(m *drift.Manifest) error {
	for i := range m.Files {
		f := &m.Files[i]
		if len(f.Path) > 4*MaxFieldBytes {
			return fmt.Errorf("files[%d].path: longer than %d bytes", i, 4*MaxFieldBytes)
		}
		if !utf8.ValidString(f.Path) || !utf8.ValidString(f.SHA256) || !utf8.ValidString(f.Mode) || !utf8.ValidString(f.Owner) {
			return fmt.Errorf("files[%d]: not valid UTF-8", i)
		}
	}
	for i := range m.Services {
		s := &m.Services[i]
		if len(s.Name) > MaxFieldBytes {
			return fmt.Errorf("services[%d].name: longer than %d bytes", i, MaxFieldBytes)
		}
		if !utf8.ValidString(s.Name) || !utf8.ValidString(s.State) || !utf8.ValidString(s.Enabled) {
			return fmt.Errorf("services[%d]: not valid UTF-8", i)
		}
	}
	for i := range m.Updates {
		u := &m.Updates[i]
		if len(u.HotFixID) > MaxFieldBytes || len(u.Description) > MaxFieldBytes {
			return fmt.Errorf("updates[%d]: longer than %d bytes", i, MaxFieldBytes)
		}
		if !utf8.ValidString(u.HotFixID) || !utf8.ValidString(u.Description) {
			return fmt.Errorf("updates[%d]: not valid UTF-8", i)
		}
	}
	for i := range m.Roles {
		r := &m.Roles[i]
		if len(r.Name) > MaxFieldBytes || len(r.DisplayName) > MaxFieldBytes || len(r.FeatureType) > MaxFieldBytes {
			return fmt.Errorf("roles[%d]: longer than %d bytes", i, MaxFieldBytes)
		}
		if !utf8.ValidString(r.Name) || !utf8.ValidString(r.DisplayName) || !utf8.ValidString(r.FeatureType) {
			return fmt.Errorf("roles[%d]: not valid UTF-8", i)
		}
	}
	return nil
}

func checkCustom(m *drift.Manifest) error {
	n := 0
	for _, name := range slices.Sorted(maps.Keys(m.Custom)) {
		ct := m.Custom[name]
		if ct == nil {
			continue
		}
		n += len(ct.Entries)
		if !utf8.ValidString(name) || !utf8.ValidString(ct.Key) {
			return fmt.Errorf("custom: type name or key not valid UTF-8")
		}
		if err := drift.CheckText(name); err != nil {
			return fmt.Errorf("custom: type name %q: %w", name, err)
		}
		if err := drift.CheckText(ct.Key); err != nil {
			return fmt.Errorf("custom[%s].key: %w", name, err)
		}
		for i, e := range ct.Entries {
			for _, k := range slices.Sorted(maps.Keys(e)) {
				v := e[k]
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					return fmt.Errorf("custom[%s].entries[%d]: not valid UTF-8", name, i)
				}
				if err := drift.CheckText(k); err != nil {
					return fmt.Errorf("custom[%s].entries[%d]: attribute name %q: %w", name, i, k, err)
				}
				if err := drift.CheckText(v); err != nil {
					return fmt.Errorf("custom[%s].entries[%d].%s: %w", name, i, k, err)
				}
			}
		}
	}
	if n > MaxItems {
		return fmt.Errorf("custom: %d entries, more than the limit of %d", n, MaxItems)
	}
	return nil
}

// Detect names the format of a document from its name suffix and, for
// plain .json or unknown suffixes, its content.
func Detect(name string, data []byte) (Format, error) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".cdx.json"), strings.HasSuffix(lower, ".bom.json"):
		return FormatCycloneDX, nil
	case strings.HasSuffix(lower, ".spdx.json"):
		return FormatSPDX, nil
	case strings.HasSuffix(lower, ".imagebuilder.json"):
		return FormatImageBuilder, nil
	case strings.HasSuffix(lower, ".yaml"), strings.HasSuffix(lower, ".yml"):
		return FormatNativeYAML, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if strings.HasSuffix(lower, ".json") {
			return "", errors.New("not a JSON object")
		}
		// no telling suffix and not JSON: try the native YAML schema
		return FormatNativeYAML, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return "", fmt.Errorf("invalid JSON: %v", jsonErr(err))
	}
	switch {
	case top["bomFormat"] != nil:
		return FormatCycloneDX, nil
	case top["spdxVersion"] != nil:
		return FormatSPDX, nil
	case top["imagePackageList"] != nil:
		return FormatImageBuilder, nil
	case top["schema_version"] != nil:
		return FormatNativeJSON, nil
	}
	return "", errors.New("cannot tell the format: expected a native manifest (schema_version), CycloneDX (bomFormat), SPDX (spdxVersion) or Image Builder (imagePackageList) document")
}

// jsonErr shortens encoding/json errors.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "document"
		}
		return fmt.Sprintf("%s: cannot use JSON %s as %s", field, te.Value, te.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
