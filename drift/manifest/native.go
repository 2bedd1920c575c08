package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
)

// SchemaVersion is the native schema version this package reads and writes.
const SchemaVersion = 1

// text is a scalar decoded as its literal text, so that YAML `version: 1.10`,
// `epoch: 1` or `mode: 0644` keep their spelling.
type text string

func (t *text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a scalar", n.Line)
	}
	switch n.Tag {
	case "!!null":
		*t = ""
		return nil
	case "!!binary":
		return fmt.Errorf("line %d: binary values are not allowed", n.Line)
	}
	*t = text(n.Value)
	return nil
}

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	}
	if string(b) == "null" {
		*t = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("expected a string or number")
	}
	*t = text(n)
	return nil
}

type nativeDoc struct {
	SchemaVersion        *int                    `yaml:"schema_version" json:"schema_version"`
	AMI                  string                  `yaml:"ami_id" json:"ami_id"`
	Name                 string                  `yaml:"name,omitempty" json:"name,omitempty"`
	OSFamily             string                  `yaml:"os_family,omitempty" json:"os_family,omitempty"`
	PackageFormat        string                  `yaml:"package_format,omitempty" json:"package_format,omitempty"`
	NormalizationVersion int                     `yaml:"normalization_version,omitempty" json:"normalization_version,omitempty"`
	NameVersionOnly      bool                    `yaml:"name_version_only,omitempty" json:"name_version_only,omitempty"`
	RunningKernel        string                  `yaml:"running_kernel,omitempty" json:"running_kernel,omitempty"`
	Provenance           map[string]string       `yaml:"provenance,omitempty" json:"provenance,omitempty"`
	Packages             []nativePackage         `yaml:"packages,omitempty" json:"packages,omitempty"`
	Files                []nativeFile            `yaml:"files,omitempty" json:"files,omitempty"`
	Services             []nativeService         `yaml:"services,omitempty" json:"services,omitempty"`
	Updates              []nativeUpdate          `yaml:"updates,omitempty" json:"updates,omitempty"`
	Roles                []nativeRole            `yaml:"roles,omitempty" json:"roles,omitempty"`
	Custom               map[string]nativeCustom `yaml:"custom,omitempty" json:"custom,omitempty"`
}

type nativePackage struct {
	Name      text `yaml:"name" json:"name"`
	Publisher text `yaml:"publisher,omitempty" json:"publisher,omitempty"`
	Arch      text `yaml:"arch,omitempty" json:"arch,omitempty"`
	Epoch     text `yaml:"epoch,omitempty" json:"epoch,omitempty"`
	Version   text `yaml:"version" json:"version"`
	Release   text `yaml:"release,omitempty" json:"release,omitempty"`
	Format    text `yaml:"format,omitempty" json:"format,omitempty"`
}

type nativeFile struct {
	Path   text   `yaml:"path" json:"path"`
	Size   *int64 `yaml:"size,omitempty" json:"size,omitempty"`
	MTime  text   `yaml:"mtime,omitempty" json:"mtime,omitempty"`
	SHA256 text   `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	Mode   text   `yaml:"mode,omitempty" json:"mode,omitempty"`
	Owner  text   `yaml:"owner,omitempty" json:"owner,omitempty"`
}

// nativeService is a systemd unit (state, enabled) or a Windows service,
// whose Status and StartType may be written as status and start_type.
type nativeService struct {
	Name      text `yaml:"name" json:"name"`
	State     text `yaml:"state,omitempty" json:"state,omitempty"`
	Enabled   text `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Status    text `yaml:"status,omitempty" json:"status,omitempty"`
	StartType text `yaml:"start_type,omitempty" json:"start_type,omitempty"`
}

// nativeUpdate is an installed Windows update (KB).
type nativeUpdate struct {
	HotFixID    text `yaml:"hotfix_id" json:"hotfix_id"`
	Description text `yaml:"description,omitempty" json:"description,omitempty"`
}

// nativeRole is an installed Windows role, role service or feature.
type nativeRole struct {
	Name        text `yaml:"name" json:"name"`
	DisplayName text `yaml:"display_name,omitempty" json:"display_name,omitempty"`
	FeatureType text `yaml:"feature_type,omitempty" json:"feature_type,omitempty"`
}

type nativeCustom struct {
	Key     string              `yaml:"key,omitempty" json:"key,omitempty"`
	Entries []map[string]string `yaml:"entries" json:"entries"`
}

var yamlFieldRE = regexp.MustCompile(`field (\S+) not found in type manifest\.(\w+)`)

var typeNames = map[string]string{
	"nativeDoc": "the document", "nativePackage": "a package", "nativeFile": "a file",
	"nativeService": "a service", "nativeCustom": "a custom type", "nativeUpdate": "an update", "nativeRole": "a role",
}

// yamlErr rewrites yaml.v3 errors into operator language.
func yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = yamlFieldRE.ReplaceAllStringFunc(msg, func(s string) string {
		m := yamlFieldRE.FindStringSubmatch(s)
		return fmt.Sprintf("unknown field %q in %s", m[1], typeNames[m[2]])
	})
	msg = strings.ReplaceAll(msg, "manifest.text", "a scalar")
	return errors.New(msg)
}

func decodeNativeYAML(data []byte) (*drift.Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc nativeDoc
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty document")
		}
		return nil, yamlErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document; a manifest is a single document")
	}
	return doc.toManifest()
}

func decodeNativeJSON(data []byte) (*drift.Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc nativeDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New(jsonErr(err))
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	return doc.toManifest()
}

func (d *nativeDoc) toManifest() (*drift.Manifest, error) {
	if d.SchemaVersion == nil {
		return nil, errors.New("schema_version: required")
	}
	if *d.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("schema_version: %d is not supported (this driftd reads version %d)", *d.SchemaVersion, SchemaVersion)
	}
	if d.AMI == "" {
		return nil, errors.New("ami_id: required")
	}
	if len(d.Packages) > MaxPackages {
		return nil, fmt.Errorf("packages: %d entries, more than the limit of %d", len(d.Packages), MaxPackages)
	}
	m := &drift.Manifest{
		SchemaVersion:        SchemaVersion,
		NormalizationVersion: d.NormalizationVersion,
		AMI:                  d.AMI,
		Name:                 d.Name,
		OSFamily:             d.OSFamily,
		PackageFormat:        drift.PackageFormat(d.PackageFormat),
		NameVersionOnly:      d.NameVersionOnly,
		RunningKernel:        strings.TrimSpace(d.RunningKernel),
		Provenance:           d.Provenance,
		Packages:             make([]drift.Package, 0, len(d.Packages)),
	}
	if strings.ContainsAny(m.RunningKernel, " \t\n\r") {
		return nil, fmt.Errorf("running_kernel: %q is not a kernel release as uname -r prints it", d.RunningKernel)
	}
	for _, step := range [...]func(*drift.Manifest) error{d.packages, d.files, d.services, d.updates, d.roles, d.custom} {
		if err := step(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (d *nativeDoc) packages(m *drift.Manifest) error {
	for i, p := range d.Packages {
		switch {
		case strings.TrimSpace(string(p.Name)) == "":
			return fmt.Errorf("packages[%d].name: required", i)
		case strings.TrimSpace(string(p.Version)) == "":
			return fmt.Errorf("packages[%d].version: required", i)
		}
		m.Packages = append(m.Packages, drift.Package{
			Name: string(p.Name), Publisher: string(p.Publisher), Arch: string(p.Arch), Epoch: string(p.Epoch),
			Version: string(p.Version), Release: string(p.Release), Format: drift.PackageFormat(p.Format),
		})
	}
	return nil
}

func (d *nativeDoc) files(m *drift.Manifest) error {
	for i, f := range d.Files {
		if strings.TrimSpace(string(f.Path)) == "" {
			return fmt.Errorf("files[%d].path: required", i)
		}
		df := drift.File{Path: string(f.Path), SHA256: string(f.SHA256), Mode: string(f.Mode), Owner: string(f.Owner)}
		if f.Size != nil {
			if *f.Size < 0 {
				return fmt.Errorf("files[%d].size: %d is negative", i, *f.Size)
			}
			df.Size, df.HasSize = *f.Size, true
		}
		if f.MTime != "" {
			t, err := time.Parse(time.RFC3339, string(f.MTime))
			if err != nil {
				return fmt.Errorf("files[%d].mtime: %q is not an RFC3339 time", i, f.MTime)
			}
			df.ModTime = t.UTC()
		}
		if df.SHA256 != "" && !isSHA256(df.SHA256) {
			return fmt.Errorf("files[%d].sha256: %q is not 64 hex digits", i, df.SHA256)
		}
		m.Files = append(m.Files, df)
	}
	return nil
}

func (d *nativeDoc) services(m *drift.Manifest) error {
	for i, s := range d.Services {
		if strings.TrimSpace(string(s.Name)) == "" {
			return fmt.Errorf("services[%d].name: required", i)
		}
		state, enabled := s.State, s.Enabled
		switch {
		case s.Status != "" && state != "":
			return fmt.Errorf("services[%d]: state and status are one field; write one of them", i)
		case s.StartType != "" && enabled != "":
			return fmt.Errorf("services[%d]: enabled and start_type are one field; write one of them", i)
		}
		if s.Status != "" {
			state = s.Status
		}
		if s.StartType != "" {
			enabled = s.StartType
		}
		m.Services = append(m.Services, drift.Service{Name: string(s.Name), State: string(state), Enabled: string(enabled)})
	}
	return nil
}

func (d *nativeDoc) updates(m *drift.Manifest) error {
	for i, u := range d.Updates {
		if strings.TrimSpace(string(u.HotFixID)) == "" {
			return fmt.Errorf("updates[%d].hotfix_id: required", i)
		}
		m.Updates = append(m.Updates, drift.Update{HotFixID: string(u.HotFixID), Description: string(u.Description)})
	}
	return nil
}

func (d *nativeDoc) roles(m *drift.Manifest) error {
	for i, r := range d.Roles {
		if strings.TrimSpace(string(r.Name)) == "" {
			return fmt.Errorf("roles[%d].name: required", i)
		}
		m.Roles = append(m.Roles, drift.Role{Name: string(r.Name), DisplayName: string(r.DisplayName), FeatureType: string(r.FeatureType), Installed: true})
	}
	return nil
}

func (d *nativeDoc) custom(m *drift.Manifest) error {
	if len(d.Custom) == 0 {
		return nil
	}
	m.Custom = make(map[string]*drift.CustomType, len(d.Custom))
	names := make([]string, 0, len(d.Custom))
	for name := range d.Custom {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := d.Custom[name]
		if !strings.HasPrefix(name, "Custom:") && !strings.HasPrefix(name, "AWS:") {
			return fmt.Errorf("custom[%s]: type name must start with Custom: or AWS:", name)
		}
		key := c.Key
		if key == "" {
			key = "Name"
		}
		seen := make(map[string]int, len(c.Entries))
		for i, e := range c.Entries {
			k, ok := e[key]
			if !ok || k == "" {
				return fmt.Errorf("custom[%s].entries[%d].%s: required (the key attribute)", name, i, key)
			}
			if j, dup := seen[k]; dup {
				return fmt.Errorf("custom[%s].entries[%d]: %s %q repeats entries[%d]", name, i, key, k, j)
			}
			seen[k] = i
		}
		m.Custom[name] = &drift.CustomType{TypeName: name, Key: c.Key, Entries: c.Entries}
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// Encode writes m in the native YAML schema (what `driftd baseline capture`
// stores). Decode(Encode(m)) yields m again (normalised).
func Encode(m *drift.Manifest) ([]byte, error) {
	if m == nil {
		return nil, errors.New("nil manifest")
	}
	sv := SchemaVersion
	d := nativeDoc{
		SchemaVersion:        &sv,
		AMI:                  m.AMI,
		Name:                 m.Name,
		OSFamily:             m.OSFamily,
		PackageFormat:        string(m.PackageFormat),
		NormalizationVersion: drift.NormalizationVersion,
		NameVersionOnly:      m.NameVersionOnly,
		RunningKernel:        m.RunningKernel,
		Provenance:           m.Provenance,
	}
	for _, p := range m.Packages {
		f := p.Format
		if f == m.PackageFormat {
			f = drift.FormatGeneric
		}
		// architectures are written as the package's format spells them
		// (amd64 in a Debian manifest), as dpkg and the image's SBOM do
		pf := p.Format
		if pf == drift.FormatGeneric {
			pf = m.PackageFormat
		}
		d.Packages = append(d.Packages, nativePackage{Name: text(p.Name), Publisher: text(p.Publisher), Arch: text(drift.DisplayArch(pf, p.Arch)),
			Epoch: text(p.Epoch), Version: text(p.Version), Release: text(p.Release), Format: text(f)})
	}
	for _, f := range m.Files {
		nf := nativeFile{Path: text(f.Path), SHA256: text(f.SHA256), Mode: text(f.Mode), Owner: text(f.Owner)}
		if f.HasSize {
			size := f.Size
			nf.Size = &size
		}
		if !f.ModTime.IsZero() {
			nf.MTime = text(f.ModTime.UTC().Format(time.RFC3339))
		}
		d.Files = append(d.Files, nf)
	}
	windows := m.IsWindows()
	for _, s := range m.Services {
		if windows { // a Windows service's Status and StartType, by the agent's names
			d.Services = append(d.Services, nativeService{Name: text(s.Name), Status: text(s.State), StartType: text(s.Enabled)})
			continue
		}
		d.Services = append(d.Services, nativeService{Name: text(s.Name), State: text(s.State), Enabled: text(s.Enabled)})
	}
	for _, u := range m.Updates {
		d.Updates = append(d.Updates, nativeUpdate{HotFixID: text(u.HotFixID), Description: text(u.Description)})
	}
	for _, r := range m.Roles {
		d.Roles = append(d.Roles, nativeRole{Name: text(r.Name), DisplayName: text(r.DisplayName), FeatureType: text(r.FeatureType)})
	}
	if len(m.Custom) > 0 {
		d.Custom = make(map[string]nativeCustom, len(m.Custom))
		for name, c := range m.Custom {
			if c == nil {
				continue
			}
			d.Custom[name] = nativeCustom{Key: c.Key, Entries: c.Entries}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&d); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalYAML writes text as a plain string (quoted by the encoder when it
// would otherwise read back as a number).
func (t text) MarshalYAML() (any, error) { return string(t), nil }
