package awssim_test

import (
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift/manifest"
)

// TestManifestDecodesAsNative: the baselines the simulator publishes for its
// AMIs are valid driftd native manifests, files included.
func TestManifestDecodesAsNative(t *testing.T) {
	sim := awssim.New(awssim.Options{})
	if err := sim.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	files := 0
	for _, in := range sim.Instances() {
		if seen[in.ImageID] {
			continue
		}
		seen[in.ImageID] = true
		b, err := sim.Manifest(in.ImageID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.Decode(in.ImageID+".json", b, manifest.Options{})
		if err != nil {
			t.Fatalf("%s: %v", in.ImageID, err)
		}
		if m.AMI != in.ImageID || len(m.Packages) == 0 {
			t.Fatalf("%s: decoded ami %q with %d packages", in.ImageID, m.AMI, len(m.Packages))
		}
		for _, f := range m.Files {
			if f.HasSize && f.Size > 0 {
				files++
			}
		}
	}
	if files == 0 {
		t.Fatal("no file with a size in any demo manifest")
	}
}
