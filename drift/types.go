// Package drift is driftd's domain: what an instance should have (Manifest),
// what it has (Snapshot), the rules that shape the comparison (Policy), and the
// outcome (Report, Finding, Verdict).
//
// The package is pure: no AWS SDK, no I/O, no logger, no wall clock. Time enters
// only as values (Policy.Now, Snapshot capture times), so every decision can be
// replayed in a test. purity_test.go enforces the import rules.
package drift

import (
	"fmt"
	"strings"
	"time"
)

// Verdict is the per-instance outcome of a comparison. Only VerdictDrifted can
// ever lead to an action (tagging, notification, replacement).
type Verdict string

const (
	VerdictInSync     Verdict = "in_sync"
	VerdictDrifted    Verdict = "drifted"
	VerdictUnknown    Verdict = "unknown"     // no inventory, agent not online, collection error
	VerdictStale      Verdict = "stale"       // inventory older than the policy allows
	VerdictNoBaseline Verdict = "no_baseline" // no manifest for the AMI
	VerdictExempt     Verdict = "exempt"      // instance or group exempted by policy
)

// Verdicts lists every verdict in a stable order (for metrics pre-initialisation).
var Verdicts = []Verdict{VerdictInSync, VerdictDrifted, VerdictUnknown, VerdictStale, VerdictNoBaseline, VerdictExempt}

// Category is the kind of item a finding is about.
type Category string

const (
	CategoryPackage  Category = "package"
	CategoryFile     Category = "file"
	CategoryService  Category = "service"
	CategoryCustom   Category = "custom"
	CategoryInstance Category = "instance" // instance-level facts, e.g. AMI differs from the ASG's launch template
	CategoryUpdate   Category = "update"   // an installed Windows update (KB) from AWS:WindowsUpdate
	CategoryRole     Category = "role"     // a Windows Server role, role service or feature from AWS:WindowsRole
)

// Categories lists every category in a stable order. It is the closed set
// of values of a finding's category (and of the category label of
// driftd_findings); the order is that of findings in a report.
var Categories = []Category{CategoryPackage, CategoryFile, CategoryService, CategoryCustom, CategoryInstance, CategoryRuntime, CategoryUpdate, CategoryRole}

// Change says what happened to an item relative to the baseline.
type Change string

const (
	ChangeAdded   Change = "added"   // present on the instance, absent from the manifest
	ChangeRemoved Change = "removed" // in the manifest, absent from the instance
	ChangeChanged Change = "changed" // present on both, an attribute differs
)

// Direction qualifies a package version change.
type Direction string

const (
	DirectionNone      Direction = ""
	DirectionUpgrade   Direction = "upgrade"
	DirectionDowngrade Direction = "downgrade"
)

// Severity orders findings; an instance's severity is the highest of its findings.
type Severity uint8

const (
	SeverityNone Severity = iota
	SeverityInfo
	SeverityLow
	SeverityHigh
	SeverityCritical
)

// Severities lists the real severities in ascending order.
var Severities = []Severity{SeverityInfo, SeverityLow, SeverityHigh, SeverityCritical}

var severityNames = [...]string{"none", "info", "low", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity parses "info", "low", "high" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && n == s {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want info, low, high or critical)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	if string(b) == "none" || len(b) == 0 {
		*s = SeverityNone
		return nil
	}
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// PackageFormat selects the version ordering used for a package.
type PackageFormat string

const (
	FormatRPM PackageFormat = "rpm"
	FormatDeb PackageFormat = "deb"
	// FormatWindows is an installed Windows application (an uninstall
	// registry entry, as the SSM agent reports it in AWS:Application):
	// identified by name, publisher and architecture, versioned by a dotted
	// numeric ordering (WindowsVerCmp), with no epoch and no release.
	FormatWindows PackageFormat = "windows"
	FormatGeneric PackageFormat = "" // unknown: compared for equality, direction from a generic ordering
)

// Package is one installed package in canonical form. Both sides of a
// comparison (manifest and snapshot) are normalised into this shape, so equal
// packages have equal EVR strings and never produce a finding.
type Package struct {
	Name string `json:"name"`
	// Publisher identifies a Windows application together with its name
	// (two products of one name from different publishers are different
	// applications). It is kept for FormatWindows packages only; rpm and
	// deb packages are identified by name and arch (normalisation clears
	// it). Empty in a manifest means "any publisher".
	Publisher string `json:"publisher,omitempty"`
	// Arch is the architecture as the source spells it ("x86_64", "amd64",
	// "arm64", "all", ...); normalisation maps it to its canonical name
	// (CanonicalArch: "x86_64", "aarch64", "noarch", ...), so amd64 and
	// x86_64 are one architecture. Empty in a manifest means "any
	// architecture" (Image Builder lists carry none).
	Arch string `json:"arch,omitempty"`
	// Epoch is the numeric epoch as a string; "" and "0" are equal.
	Epoch   string `json:"epoch,omitempty"`
	Version string `json:"version"`           // upstream version
	Release string `json:"release,omitempty"` // rpm release or Debian revision
	// EVR is the canonical [epoch:]version[-release] string (epoch omitted when 0),
	// filled by Normalize; it is what equality and findings use.
	EVR    string        `json:"-"`
	Format PackageFormat `json:"format,omitempty"`
}

// File is a file's observed or expected attributes. Zero values mean "not
// provided"; only attributes present on both sides are compared.
type File struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size,omitempty"` // -1 or 0 with HasSize=false means unknown
	HasSize bool      `json:"-"`
	ModTime time.Time `json:"mtime,omitzero"`
	SHA256  string    `json:"sha256,omitempty"` // from a custom inventory type, e.g. Custom:FileDigest
	Mode    string    `json:"mode,omitempty"`
	Owner   string    `json:"owner,omitempty"`
}

// Service is a service/unit state. For a systemd unit (Custom:SystemdUnit)
// State is its ActiveState and Enabled its UnitFileState; for a Windows
// service (AWS:Service) State is its Status (Running, Stopped, ...) and
// Enabled its StartType (Automatic, Manual, Disabled, Boot, System).
type Service struct {
	Name    string `json:"name"`
	State   string `json:"state,omitempty"`   // e.g. active/inactive, Running/Stopped
	Enabled string `json:"enabled,omitempty"` // e.g. enabled/disabled, Automatic/Manual/Disabled
}

// Update is an installed Windows update (AWS:WindowsUpdate, the SSM agent's
// reading of Win32_QuickFixEngineering). Updates are compared by HotFixID
// alone: installed or not.
type Update struct {
	// HotFixID is the update's id, e.g. KB5034439 (normalised to upper case).
	HotFixID string `json:"hotfix_id"`
	// Description is Windows' kind of update: Update, Security Update, ...
	Description string `json:"description,omitempty"`
	// InstalledBy and InstalledTime are what the instance reports; they are
	// informational and never compared.
	InstalledBy   string `json:"installed_by,omitempty"`
	InstalledTime string `json:"installed_time,omitempty"`
}

// Role is a Windows Server role, role service or feature (AWS:WindowsRole,
// the SSM agent's reading of Get-WindowsFeature). The agent reports every
// feature the server knows, installed or not; roles are compared on
// whether they are installed.
type Role struct {
	Name        string `json:"name"` // e.g. Web-Server, NET-Framework-45-Core
	DisplayName string `json:"display_name,omitempty"`
	FeatureType string `json:"feature_type,omitempty"` // Role, Role Service, Feature
	// Installed is true when the role is installed. A manifest lists the
	// roles that must be installed, so every manifest role is installed.
	Installed bool `json:"installed"`
	// InstallState is the agent's InstalledState: Installed, Available,
	// Removed (payload removed), InstallPending, UninstallPending.
	InstallState string `json:"install_state,omitempty"`
}

// CustomType holds entries of one Custom:* (or other) inventory type, each
// entry a flat attribute map as SSM returns it.
type CustomType struct {
	TypeName string `json:"type_name"`
	// Key is the attribute identifying an entry ("" = Policy.Custom's key,
	// else "Name").
	Key     string              `json:"key,omitempty"`
	Entries []map[string]string `json:"entries"`
}

// Manifest is the baseline of one AMI.
type Manifest struct {
	SchemaVersion        int    `json:"schema_version"`
	NormalizationVersion int    `json:"normalization_version"`
	AMI                  string `json:"ami_id"`
	Name                 string `json:"name,omitempty"`
	OSFamily             string `json:"os_family,omitempty"` // amzn, rhel, debian, ubuntu, windows, ...
	// PackageFormat is the default ordering for the manifest's packages.
	PackageFormat PackageFormat `json:"package_format,omitempty"`
	// NameVersionOnly marks manifests whose packages carry only name and
	// version (EC2 Image Builder's ListImagePackages); comparison then ignores
	// architecture and release details the source cannot know.
	NameVersionOnly bool `json:"name_version_only,omitempty"`
	// Source describes where the manifest came from (file path, s3 URI, ...).
	Source string `json:"source,omitempty"`
	// Provenance carries free-form facts (captured_from, capture_time, agent_version, ...).
	Provenance map[string]string `json:"provenance,omitempty"`
	// RunningKernel is the kernel release (uname -r) instances of the AMI
	// run; "" derives it from the kernel packages (see BaselineKernel).
	RunningKernel string `json:"running_kernel,omitempty"`

	Packages []Package              `json:"packages"`
	Files    []File                 `json:"files,omitempty"`
	Services []Service              `json:"services,omitempty"`
	Updates  []Update               `json:"updates,omitempty"` // Windows updates (KBs) that must be installed
	Roles    []Role                 `json:"roles,omitempty"`   // Windows roles and features that must be installed
	Custom   map[string]*CustomType `json:"custom,omitempty"`  // by TypeName
}

// IsWindows reports whether the manifest describes a Windows AMI (its OS
// family or its package format says so).
func (m *Manifest) IsWindows() bool {
	return m.PackageFormat == FormatWindows || strings.EqualFold(m.OSFamily, OSFamilyWindows)
}

// OSFamilyWindows is the os_family of Windows manifests.
const OSFamilyWindows = "windows"

// InstanceFacts are instance-level facts from EC2/Auto Scaling, compared as
// CategoryInstance findings.
type InstanceFacts struct {
	// LaunchTemplateAMI is the AMI the instance's ASG currently launches
	// ("" when not in an ASG or unknown). When set and different from
	// Snapshot.AMI, Compare reports an instance-level finding.
	LaunchTemplateAMI string `json:"launch_template_ami,omitempty"`
}

// Snapshot is what one instance really has, as collected in one scan.
type Snapshot struct {
	InstanceID string `json:"instance_id"`
	AMI        string `json:"ami_id"`
	ASG        string `json:"asg,omitempty"`

	// Unknown, when non-empty, says why the instance's state could not be
	// determined (agent offline, collection error, throttled...). Compare then
	// returns VerdictUnknown with this reason and never drift.
	Unknown string `json:"unknown,omitempty"`

	// CaptureTimes holds the inventory CaptureTime per inventory type collected
	// (e.g. "AWS:Application"). A type absent from this map was not collected:
	// its category is not compared at all (missing data is never drift).
	CaptureTimes map[string]time.Time `json:"capture_times,omitempty"`

	Packages []Package              `json:"packages,omitempty"`
	Files    []File                 `json:"files,omitempty"`
	Services []Service              `json:"services,omitempty"`
	Updates  []Update               `json:"updates,omitempty"`
	Roles    []Role                 `json:"roles,omitempty"` // every role the agent reported, installed or not
	Custom   map[string]*CustomType `json:"custom,omitempty"`

	Instance InstanceFacts `json:"instance,omitzero"`
}

// Inventory type names the engine knows. Collectors convert these into typed
// content; everything else lands in Snapshot.Custom.
const (
	TypeApplication     = "AWS:Application"
	TypeFile            = "AWS:File"
	TypeService         = "AWS:Service"         // Windows services (Windows only)
	TypeWindowsUpdate   = "AWS:WindowsUpdate"   // installed Windows updates (Windows only)
	TypeWindowsRole     = "AWS:WindowsRole"     // Windows roles and features (Windows only)
	TypeWindowsRegistry = "AWS:WindowsRegistry" // registry values (Windows only; compared as a custom type)
	TypeFileDigest      = "Custom:FileDigest"
	TypeSystemdUnit     = "Custom:SystemdUnit"
)

// Platform types as SSM reports them (DescribeInstanceInformation's
// PlatformType).
const (
	PlatformWindows = "Windows"
	PlatformLinux   = "Linux"
	PlatformMacOS   = "MacOS"
)

// TypeApplies reports whether instances of a platform (an SSM PlatformType)
// can report an inventory type, so that a scan asks each instance only for
// the types its platform has. The SSM agent gathers AWS:Service,
// AWS:WindowsUpdate, AWS:WindowsRole and AWS:WindowsRegistry on Windows
// only (amazon-ssm-agent agent/plugins/inventory/gatherers/models_windows.go
// and models_unix.go); Custom:SystemdUnit describes systemd units, which
// Windows does not have. Every other type applies to every platform, and an
// unknown platform ("") is asked for every type (an AWS:* type it cannot
// report then makes it unknown, never drifted).
func TypeApplies(typeName, platformType string) bool {
	switch typeName {
	case TypeService, TypeWindowsUpdate, TypeWindowsRole, TypeWindowsRegistry:
		return !strings.EqualFold(platformType, PlatformLinux) && !strings.EqualFold(platformType, PlatformMacOS)
	case TypeSystemdUnit:
		return !strings.EqualFold(platformType, PlatformWindows)
	}
	return true
}

// Finding is one difference between manifest and snapshot, per item and attribute.
type Finding struct {
	Category Category `json:"category"`
	// Type is the inventory type the item came from (AWS:Application, Custom:X).
	Type string `json:"type,omitempty"`
	Name string `json:"name"`
	// Publisher is a Windows application's publisher (packages of format
	// windows only).
	Publisher string `json:"publisher,omitempty"`
	// Arch is a package's architecture as its own package manager spells it
	// (DisplayArch): amd64, arm64 or all for a Debian package, x86_64,
	// aarch64 or noarch for an rpm.
	Arch      string    `json:"arch,omitempty"`
	Attribute string    `json:"attribute,omitempty"` // version, size, mtime, sha256, state, ...
	Change    Change    `json:"change"`
	Direction Direction `json:"direction,omitempty"`
	Expected  string    `json:"expected,omitempty"`
	Observed  string    `json:"observed,omitempty"`
	Severity  Severity  `json:"severity"`
	// Rule names the policy rule that set the severity, if any.
	Rule string `json:"rule,omitempty"`
}

// MaxFindings is how many findings a Report lists by default (see
// Policy.MaxFindings). An instance that differs from its baseline in every
// one of 200,000 packages yields 400,000 differences; listing them all would
// cost hundreds of megabytes per instance in memory, reports and
// notifications. The most severe are kept (ties in report order), and the
// counts stay exact.
const MaxFindings = 1000

// Report is the outcome of Compare for one instance.
type Report struct {
	InstanceID string   `json:"instance_id"`
	AMI        string   `json:"ami_id"`
	ASG        string   `json:"asg,omitempty"`
	Verdict    Verdict  `json:"verdict"`
	Severity   Severity `json:"severity"`
	Reasons    []string `json:"reasons,omitempty"`
	// Findings lists the differences, sorted; at most the policy's
	// MaxFindings of them, the most severe (see Truncated).
	Findings []Finding `json:"findings,omitempty"`
	// FindingsTotal is the exact number of findings, listed or not.
	FindingsTotal int `json:"findings_total,omitempty"`
	// Truncated is true when Findings lists fewer than FindingsTotal.
	Truncated bool `json:"truncated,omitempty"`
	// Counts are the exact finding counts by "category/severity" (CountKey),
	// listed or not.
	Counts map[string]int `json:"finding_counts,omitempty"`
	// Suppressed counts differences removed by ignore/allow rules.
	Suppressed int `json:"suppressed,omitempty"`
	// ExpiredRules names rules that would have matched but have expired.
	ExpiredRules []string `json:"expired_rules,omitempty"`
	// OldestCapture is the oldest CaptureTime among the compared types.
	OldestCapture time.Time `json:"oldest_capture,omitzero"`
}
