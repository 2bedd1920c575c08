package awssim

import (
	"fmt"
	"os"
	"time"

	"github.com/driftd/driftd/awssim/datasync"
	"github.com/driftd/driftd/awssim/fleet"
)

// Fleet returns the region model, for tests and tools that need more than
// the simulator's own methods.
func (s *Sim) Fleet() *fleet.Fleet { return s.fleet }

// The fleet's Go API, on the simulator (see awssim/fleet for each).

// AddAMI registers an AMI and returns its id; a ManifestParameter publishes
// its baseline to Parameter Store (and S3 when too large).
func (s *Sim) AddAMI(spec AMISpec) (string, error) { return s.fleet.AddAMI(spec) }

// AddLaunchTemplate creates a launch template whose versions launch the
// given images (version i+1 = images[i]); the default version is the last.
func (s *Sim) AddLaunchTemplate(name, instanceType string, images ...string) (string, error) {
	return s.fleet.AddLaunchTemplate(name, instanceType, images...)
}

// AddLaunchTemplateVersion adds a version launching image and optionally
// makes it the default; it returns the version number.
func (s *Sim) AddLaunchTemplateVersion(ltName, image string, makeDefault bool) (int, error) {
	return s.fleet.AddLaunchTemplateVersion(ltName, image, makeDefault)
}

// AddGroup creates an Auto Scaling group whose initial members are already
// InService (launched age ago, inventory reported) and returns their ids.
func (s *Sim) AddGroup(spec GroupSpec, age time.Duration) ([]string, error) {
	return s.fleet.AddGroup(spec, age)
}

// AddInstances launches count standalone instances of image, running since
// age ago, and returns their ids.
func (s *Sim) AddInstances(image, instanceType string, count int, tags map[string]string, age time.Duration) ([]string, error) {
	return s.fleet.AddInstances(image, instanceType, count, tags, age)
}

// Inject applies d to instance id.
func (s *Sim) Inject(id string, d Drift) error { return s.fleet.Inject(id, d) }

// SetInventory replaces an instance's content for one type (as PutInventory
// or a custom inventory collector would).
func (s *Sim) SetInventory(id, typeName string, entries []Entry) error {
	return s.fleet.SetInventory(id, typeName, entries)
}

// Instance returns a snapshot of an instance.
func (s *Sim) Instance(id string) (InstanceView, bool) { return s.fleet.Instance(id) }

// Instances returns snapshots of every instance (launch order).
func (s *Sim) Instances() []InstanceView { return s.fleet.Instances() }

// Group returns a snapshot of an Auto Scaling group.
func (s *Sim) Group(name string) (GroupView, bool) { return s.fleet.Group(name) }

// GroupMembers returns the ids of a group's members in launch order.
func (s *Sim) GroupMembers(name string) []string { return s.fleet.GroupMembers(name) }

// Summary returns counts describing the fleet.
func (s *Sim) Summary() Summary { return s.fleet.Summary() }

// CaptureTime returns the CaptureTime ListInventoryEntries would report now
// for an instance's inventory type; false when the instance has no
// inventory (yet) or none of that type.
func (s *Sim) CaptureTime(id, typeName string) (time.Time, bool) {
	return s.fleet.CaptureTime(id, typeName)
}

// BaselineDocument returns the AMI's baseline as ManifestParameter publishes
// it (native JSON or a CycloneDX SBOM, per AMISpec.ManifestFormat) with the
// file name a pipeline would give it (<ami>.json, <ami>.cdx.json).
func (s *Sim) BaselineDocument(amiID string) (string, []byte, error) {
	return s.fleet.BaselineDocument(amiID)
}

// Manifest returns the AMI's baseline manifest as driftd native JSON.
func (s *Sim) Manifest(amiID string) ([]byte, error) { return s.fleet.Manifest(amiID) }

// Reset empties the fleet (AMIs, templates, groups, instances) and Parameter Store.
func (s *Sim) Reset() {
	s.fleet.Reset()
	s.ssm.ResetParameters()
}

// LoadScenario replaces the fleet and Parameter Store with the scenario's.
func (s *Sim) LoadScenario(sc *Scenario) error {
	if sc == nil {
		return fmt.Errorf("scenario is nil")
	}
	s.ssm.ResetParameters()
	return s.fleet.LoadScenario(sc)
}

// LoadScenarioFile loads a YAML/JSON scenario file ("demo" loads DemoScenario).
func (s *Sim) LoadScenarioFile(path string) error {
	if path == "demo" {
		return s.LoadScenario(DemoScenario())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := s.LoadScenario(sc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// publisher is where the fleet publishes baselines: the simulator's
// Parameter Store and S3.
type publisher struct{ s *Sim }

func (p publisher) PutParameter(name, value string)           { p.s.PutParameter(name, value) }
func (p publisher) PutObject(bucket, key string, data []byte) { p.s.s3.PutObject(bucket, key, data) }

// PutParameter stores a parameter (overwriting) from the Go API; it returns
// the new version.
func (s *Sim) PutParameter(name, value string) int64 { return s.ssm.PutParameter(name, value) }

// DeleteParameter removes a parameter from the Go API.
func (s *Sim) DeleteParameter(name string) bool { return s.ssm.DeleteParameter(name) }

// Parameter returns the latest version of a Parameter Store parameter.
func (s *Sim) Parameter(name string) (Parameter, bool) { return s.ssm.Parameter(name) }

// EnableResourceDataSync makes bucket (created if needed) hold Resource
// Data Sync objects for the fleet under prefix, rendered on demand, and
// starts the change watcher (see awssim/datasync). Close the returned
// DataSync to stop the watcher.
func (s *Sim) EnableResourceDataSync(bucket, prefix string) *DataSync {
	return datasync.Enable(s.fleet, s.s3, bucket, prefix)
}

// DataSyncKey returns the key of an instance's Resource Data Sync object
// for a type under prefix.
func (s *Sim) DataSyncKey(prefix, typeName, instanceID string) string {
	return datasync.Key(s.fleet.Options(), prefix, typeName, instanceID)
}
