package collectors

import (
	"time"

	"github.com/driftd/driftd/drift"
)

// BuildSnapshot converts collected inventory into a normalised drift
// snapshot. Only types read completely are included; a type absent from the
// snapshot's CaptureTimes is not compared (missing data is never drift).
// format is the package ordering to use ("" detects it from the entries).
func BuildSnapshot(in Instance, types []*TypeData, format drift.PackageFormat) *drift.Snapshot {
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
