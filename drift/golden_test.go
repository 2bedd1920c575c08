package drift_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
	"github.com/driftd/driftd/drift/manifest"
)

var update = flag.Bool("update", false, "rewrite the want.json golden files")

// goldenSnapshot is snapshot.json: a drift.Snapshot plus raw SSM inventory
// entries by type, converted with the exported helpers the collectors use.
// PlatformType is the agent's platform ("Windows" makes AWS:Application
// entries Windows applications, as collectors.BuildSnapshot does).
type goldenSnapshot struct {
	drift.Snapshot
	PlatformType string                         `json:"platform_type"`
	Inventory    map[string][]map[string]string `json:"inventory"`
}

// goldenPolicy is policy.yaml.
type goldenPolicy struct {
	Now             time.Time                         `yaml:"now"`
	MaxInventoryAge string                            `yaml:"max_inventory_age"`
	DefaultSeverity map[drift.Category]drift.Severity `yaml:"default_severity"`
	Rules           []drift.Rule                      `yaml:"rules"`
	Custom          map[string]drift.CustomSpec       `yaml:"custom"`
	InstallOnly     []string                          `yaml:"install_only"`
	// DefaultPolicy appends driftd's shipped default rules after Rules, as
	// the daemon does.
	DefaultPolicy bool `yaml:"default_policy"`
}

var goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func readGolden(t *testing.T, dir string) (*drift.Manifest, *drift.Snapshot, *drift.Policy) {
	t.Helper()
	s, windows := readGoldenSnapshot(t, dir)
	// The baseline is manifest.yaml (native) or an SBOM, manifest.cdx.json
	// (CycloneDX) or manifest.spdx.json (SPDX), or an Image Builder list,
	// manifest.imagebuilder.json, decoded as driftd loads it (an Image
	// Builder source of Windows AMIs is configured with package_format
	// windows).
	var m *drift.Manifest
	for _, name := range []string{"manifest.yaml", "manifest.cdx.json", "manifest.spdx.json", "manifest.imagebuilder.json"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			t.Fatalf("%s: a second manifest beside %s", path, m.Source)
		}
		var opts manifest.Options
		if windows && strings.HasSuffix(name, ".imagebuilder.json") {
			opts.PackageFormat = drift.FormatWindows
		}
		if m, err = manifest.Decode(path, data, opts); err != nil {
			t.Fatal(err)
		}
	}
	return m, s, readGoldenPolicy(t, dir)
}

// readGoldenSnapshot reads snapshot.json; windows is true for an instance
// whose agent reports the Windows platform.
func readGoldenSnapshot(t *testing.T, dir string) (s *drift.Snapshot, windows bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gs goldenSnapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gs); err != nil {
		t.Fatalf("snapshot.json: %v", err)
	}
	s = &gs.Snapshot
	windows = gs.PlatformType == drift.PlatformWindows
	format := drift.FormatGeneric
	if windows {
		format = drift.FormatWindows
	}
	for typ, entries := range gs.Inventory {
		switch typ {
		case drift.TypeApplication:
			s.Packages = append(s.Packages, drift.PackagesFromInventory(entries, format)...)
		case drift.TypeFile, drift.TypeFileDigest:
			s.Files = append(s.Files, drift.FilesFromInventory(typ, entries)...)
		case drift.TypeService, drift.TypeSystemdUnit:
			s.Services = append(s.Services, drift.ServicesFromInventory(typ, entries)...)
		case drift.TypeWindowsUpdate:
			s.Updates = append(s.Updates, drift.UpdatesFromInventory(entries)...)
		case drift.TypeWindowsRole:
			s.Roles = append(s.Roles, drift.RolesFromInventory(entries)...)
		default:
			if s.Custom == nil {
				s.Custom = map[string]*drift.CustomType{}
			}
			s.Custom[typ] = &drift.CustomType{TypeName: typ, Entries: entries}
		}
	}
	return s, windows
}

// readGoldenPolicy reads policy.yaml (an empty policy when absent).
func readGoldenPolicy(t *testing.T, dir string) *drift.Policy {
	t.Helper()
	p := &drift.Policy{Now: goldenNow}
	if data, err := os.ReadFile(filepath.Join(dir, "policy.yaml")); err == nil {
		var gp goldenPolicy
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&gp); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("policy.yaml: %v", err)
		}
		if !gp.Now.IsZero() {
			p.Now = gp.Now
		}
		if gp.MaxInventoryAge != "" {
			if p.MaxInventoryAge, err = time.ParseDuration(gp.MaxInventoryAge); err != nil {
				t.Fatalf("policy.yaml: max_inventory_age: %v", err)
			}
		}
		p.DefaultSeverity, p.Rules, p.Custom, p.InstallOnly = gp.DefaultSeverity, gp.Rules, gp.Custom, gp.InstallOnly
		if gp.DefaultPolicy {
			p.Rules = append(p.Rules, defaultpolicy.Rules()...)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return p
}

// TestGolden drives every case under testdata/golden/<case>/ (manifest.yaml
// or manifest.cdx.json / manifest.spdx.json, snapshot.json, policy.yaml →
// want.json). Run with -update to rewrite the
// want.json files, then review the diff.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 40 {
		t.Fatalf("found %d golden cases, want at least 40", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, s, p := readGolden(t, dir)
			// Shuffle the snapshot's packages before normalising: the
			// result must not depend on input order.
			rng := rand.New(rand.NewPCG(1, uint64(len(dir))))
			rng.Shuffle(len(s.Packages), func(i, j int) { s.Packages[i], s.Packages[j] = s.Packages[j], s.Packages[i] })
			s.Normalize()

			r := drift.Compare(m, s, p)
			got, err := drift.EncodeReport(r)
			if err != nil {
				t.Fatal(err)
			}
			// The compiled path and a second run give the same bytes.
			if cp, err := drift.CompilePolicy(p); err == nil {
				again, _ := drift.EncodeReport(cp.Compare(m, s))
				if !bytes.Equal(got, again) {
					t.Errorf("CompiledPolicy.Compare differs from Compare:\n%s\nvs\n%s", again, got)
				}
			}
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test ./drift -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("report differs from %s:\n--- got\n%s\n--- want\n%s", wantPath, got, want)
			}
			// Invariants independent of the golden bytes.
			checkReportInvariants(t, r)
		})
	}
}

func checkReportInvariants(t *testing.T, r drift.Report) {
	t.Helper()
	if (r.Verdict == drift.VerdictDrifted) != (len(r.Findings) > 0) {
		t.Errorf("verdict %s with %d findings", r.Verdict, len(r.Findings))
	}
	max := drift.SeverityNone
	for _, f := range r.Findings {
		if f.Severity == drift.SeverityNone {
			t.Errorf("finding without severity: %+v", f)
		}
		if f.Severity > max {
			max = f.Severity
		}
	}
	if r.Severity != max {
		t.Errorf("report severity %s, max finding severity %s", r.Severity, max)
	}
	if r.Verdict != drift.VerdictInSync && r.Verdict != drift.VerdictDrifted && len(r.Reasons) == 0 {
		t.Errorf("verdict %s without a reason", r.Verdict)
	}
}
