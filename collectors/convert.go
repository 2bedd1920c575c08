package collectors

import (
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// BuildSnapshot converts collected inventory into a normalised drift
// snapshot. Only types read completely are included; a type absent from the
// snapshot's CaptureTimes is not compared (missing data is never drift).
// format is the package ordering to use ("" detects it from the entries);
// the applications of an instance whose agent reports the Windows platform
// are Windows applications whatever the format (PackageFormatFor).
func BuildSnapshot(in Instance, types []*TypeData, format drift.PackageFormat) *drift.Snapshot {
	format = PackageFormatFor(in, format)
	s := &drift.Snapshot{
		InstanceID:   in.ID,
		AMI:          in.AMI,
		ASG:          in.ASG,
		Unknown:      in.Unknown,
		CaptureTimes: map[string]time.Time{},
		Instance:     drift.InstanceFacts{LaunchTemplateAMI: in.LaunchTemplateAMI},
	}
	for _, td := range types {
		if td == nil || !td.Present || !td.Complete {
			continue
		}
		s.CaptureTimes[td.TypeName] = td.CaptureTime
		switch td.TypeName {
		case drift.TypeApplication:
			f := format
			if f == drift.FormatGeneric && len(td.Entries) > 0 {
				f = drift.DetectFormat(td.Entries[0])
			}
			s.Packages = drift.PackagesFromInventory(td.Entries, f)
		case drift.TypeFile, drift.TypeFileDigest:
			if td.TypeName == drift.TypeFile && hasType(types, drift.TypeFileDigest) {
				continue // the digest type carries more; the engine prefers it too
			}
			s.Files = drift.FilesFromInventory(td.TypeName, td.Entries)
		case drift.TypeService, drift.TypeSystemdUnit:
			if td.TypeName == drift.TypeService && hasType(types, drift.TypeSystemdUnit) {
				continue
			}
			s.Services = drift.ServicesFromInventory(td.TypeName, td.Entries)
		case drift.TypeWindowsUpdate:
			s.Updates = drift.UpdatesFromInventory(td.Entries)
		case drift.TypeWindowsRole:
			s.Roles = drift.RolesFromInventory(td.Entries)
		default:
			if s.Custom == nil {
				s.Custom = map[string]*drift.CustomType{}
			}
			s.Custom[td.TypeName] = &drift.CustomType{TypeName: td.TypeName, Entries: td.Entries}
		}
	}
	s.Normalize()
	return s
}

func hasType(types []*TypeData, name string) bool {
	for _, t := range types {
		if t != nil && t.TypeName == name && t.Present && t.Complete {
			return true
		}
	}
	return false
}

// PackageFormatFor is the package format of an instance's AWS:Application
// entries: FormatWindows when its SSM agent reports the Windows platform
// (the agent's Windows provider reads the uninstall registry keys, whose
// entries cannot be told from rpm or deb ones by their attributes alone),
// else format.
func PackageFormatFor(in Instance, format drift.PackageFormat) drift.PackageFormat {
	if in.Agent != nil && strings.EqualFold(in.Agent.PlatformType, drift.PlatformWindows) {
		return drift.FormatWindows
	}
	return format
}

// InventoryTypesFor returns the configured types that apply to the
// instance's platform (drift.TypeApplies on its agent's PlatformType): a
// Linux instance is not asked for AWS:WindowsUpdate, a Windows instance not
// for Custom:SystemdUnit. A type that does not apply is not collected, so
// it can never make the instance unknown. An instance without agent
// information gets every type.
func InventoryTypesFor(in Instance, types []string) []string {
	platform := ""
	if in.Agent != nil {
		platform = in.Agent.PlatformType
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		if drift.TypeApplies(t, platform) {
			out = append(out, t)
		}
	}
	return out
}
