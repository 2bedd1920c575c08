package awssim

import (
	"time"

	"github.com/driftd/driftd/awssim/datasync"
	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/ssm"
)

// The region model lives in awssim/fleet; these names keep it reachable
// from the simulator's package, where scenarios, drifts and specs have
// always been spelled.

// Model types (see awssim/fleet).
type (
	Clock          = fleet.Clock
	ClockFunc      = fleet.ClockFunc
	ManualClock    = fleet.ManualClock
	AMI            = fleet.AMI
	LaunchTemplate = fleet.LaunchTemplate
	LTVersion      = fleet.LTVersion
	Instance       = fleet.Instance
	Group          = fleet.Group
	GroupTag       = fleet.GroupTag
	Hook           = fleet.Hook
	Activity       = fleet.Activity
	Refresh        = fleet.Refresh
	Entry          = fleet.Entry
	TypeData       = fleet.TypeData
	InstanceView   = fleet.InstanceView
	GroupView      = fleet.GroupView
	Summary        = fleet.Summary
)

// Scenario, spec and drift types (see awssim/fleet).
type (
	Scenario         = fleet.Scenario
	ScenarioGroup    = fleet.ScenarioGroup
	LaunchTemplateIn = fleet.LaunchTemplateIn
	InstanceSpec     = fleet.InstanceSpec
	DriftSpec        = fleet.DriftSpec
	Drift            = fleet.Drift
	AMISpec          = fleet.AMISpec
	PackageSpec      = fleet.PackageSpec
	FileSpec         = fleet.FileSpec
	ServiceSpec      = fleet.ServiceSpec
	// Windows content (format windows): see awssim/fleet/windows.go.
	UpdateSpec         = fleet.UpdateSpec
	WindowsServiceSpec = fleet.WindowsServiceSpec
	RoleSpec           = fleet.RoleSpec
	GenerateSpec       = fleet.GenerateSpec
	GroupSpec          = fleet.GroupSpec
	HookSpec           = fleet.HookSpec
)

// EC2 instance states.
const (
	StatePending      = fleet.StatePending
	StateRunning      = fleet.StateRunning
	StateShuttingDown = fleet.StateShuttingDown
	StateTerminated   = fleet.StateTerminated
	StateStopped      = fleet.StateStopped
)

// Auto Scaling lifecycle states.
const (
	LCPending            = fleet.LCPending
	LCPendingWait        = fleet.LCPendingWait
	LCInService          = fleet.LCInService
	LCTerminating        = fleet.LCTerminating
	LCTerminatingWait    = fleet.LCTerminatingWait
	LCTerminatingProceed = fleet.LCTerminatingProceed
	LCTerminated         = fleet.LCTerminated
	LCStandby            = fleet.LCStandby
)

// Drift actions (see fleet.Drift).
const (
	DriftInstall        = fleet.DriftInstall
	DriftRemove         = fleet.DriftRemove
	DriftUpgrade        = fleet.DriftUpgrade
	DriftDowngrade      = fleet.DriftDowngrade
	DriftFile           = fleet.DriftFile
	DriftStopService    = fleet.DriftStopService
	DriftDisableService = fleet.DriftDisableService
	DriftInstallUpdate  = fleet.DriftInstallUpdate
	DriftRemoveUpdate   = fleet.DriftRemoveUpdate
	DriftAgentOff       = fleet.DriftAgentOff
	DriftAgentOn        = fleet.DriftAgentOn
	DriftStale          = fleet.DriftStale
	DriftFresh          = fleet.DriftFresh
	DriftHeal           = fleet.DriftHeal
	DriftUnregister     = fleet.DriftUnregister
	DriftRegister       = fleet.DriftRegister
)

// Inventory type names.
const (
	TypeApplication   = fleet.TypeApplication
	TypeFile          = fleet.TypeFile
	TypeInstanceInfo  = fleet.TypeInstanceInfo
	TypePatchSummary  = fleet.TypePatchSummary
	TypeFileDigest    = fleet.TypeFileDigest
	TypeSystemdUnit   = fleet.TypeSystemdUnit
	TypeService       = fleet.TypeService
	TypeWindowsUpdate = fleet.TypeWindowsUpdate
	TypeWindowsRole   = fleet.TypeWindowsRole
)

// FormatWindows is the package format of a Windows AMI (AMISpec.Format).
const FormatWindows = fleet.FormatWindows

// Baseline publication (AMISpec.ManifestParameter, ManifestFormat).
const (
	ManifestNative    = fleet.ManifestNative
	ManifestCycloneDX = fleet.ManifestCycloneDX
	ManifestBucket    = fleet.ManifestBucket
)

// DataSync is a fleet's Resource Data Sync output (see awssim/datasync).
type DataSync = datasync.DataSync

// Parameter is a Parameter Store parameter (see awssim/ssm).
type Parameter = ssm.Parameter

// ListInventoryEntriesDefaultMax is ListInventoryEntries' page size when
// MaxResults is absent.
const ListInventoryEntriesDefaultMax = ssm.ListInventoryEntriesDefaultMax

// NewManualClock returns a ManualClock set to t.
func NewManualClock(t time.Time) *ManualClock { return fleet.NewManualClock(t) }

// NewTypeData builds inventory type content from entries (copied and sorted).
func NewTypeData(typeName, schemaVersion string, entries []Entry) *TypeData {
	return fleet.NewTypeData(typeName, schemaVersion, entries)
}

// GeneratePackages returns count deterministic synthetic packages in rpm or
// deb style.
func GeneratePackages(count int, seed uint64, format string) []PackageSpec {
	return fleet.GeneratePackages(count, seed, format)
}

// GeneratePackagesFor is GeneratePackages for a distribution (see
// fleet.GeneratePackagesFor).
func GeneratePackagesFor(count int, seed uint64, format, dist string) []PackageSpec {
	return fleet.GeneratePackagesFor(count, seed, format, dist)
}

// ParseScenario decodes a YAML or JSON scenario strictly (unknown keys are errors).
func ParseScenario(data []byte) (*Scenario, error) { return fleet.ParseScenario(data) }

// DemoScenario is a small, realistic fleet of 38 instances on six AMIs (see
// fleet.DemoScenario).
func DemoScenario() *Scenario { return fleet.DemoScenario() }

// GenerateFleet returns a benchmark scenario (see fleet.GenerateFleet).
func GenerateFleet(instances, packagesPerInstance, amis int, seed uint64) *Scenario {
	return fleet.GenerateFleet(instances, packagesPerInstance, amis, seed)
}
