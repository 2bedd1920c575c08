package fleet

import "time"

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
	// For a Windows application, x64 (x86_64, the default) or x86 (i386, a
	// 32-bit install the agent reads from the Wow6432Node uninstall keys).
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
	ID              string            `json:"id,omitempty" yaml:"id,omitempty"`
	Name            string            `json:"name" yaml:"name"`
	Description     string            `json:"description,omitempty" yaml:"description,omitempty"`
	Platform        string            `json:"platform,omitempty" yaml:"platform,omitempty"` // "" or windows
	PlatformName    string            `json:"platformName,omitempty" yaml:"platformName,omitempty"`
	PlatformVersion string            `json:"platformVersion,omitempty" yaml:"platformVersion,omitempty"`
	Architecture    string            `json:"architecture,omitempty" yaml:"architecture,omitempty"`
	Format          string            `json:"format,omitempty" yaml:"format,omitempty"` // rpm (default) | deb | windows
	Created         time.Time         `json:"created,omitempty" yaml:"created,omitempty"`
	Tags            map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Packages        []PackageSpec     `json:"packages,omitempty" yaml:"packages,omitempty"`
	Generate        *GenerateSpec     `json:"generate,omitempty" yaml:"generate,omitempty"`
	Files           []FileSpec        `json:"files,omitempty" yaml:"files,omitempty"`
	Services        []ServiceSpec     `json:"services,omitempty" yaml:"services,omitempty"`
	// A Windows AMI (format windows) reports its installed updates
	// (AWS:WindowsUpdate), services (AWS:Service) and roles and features
	// (AWS:WindowsRole); see windows.go.
	Updates         []UpdateSpec         `json:"updates,omitempty" yaml:"updates,omitempty"`
	WindowsServices []WindowsServiceSpec `json:"windowsServices,omitempty" yaml:"windowsServices,omitempty"`
	Roles           []RoleSpec           `json:"roles,omitempty" yaml:"roles,omitempty"`
	Inventory       map[string][]Entry   `json:"inventory,omitempty" yaml:"inventory,omitempty"` // extra raw types
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
