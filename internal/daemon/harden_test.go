package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
)

// TestUnreadableDirBaselinesAreNoBaseline: a dir baseline that is a named
// pipe or a symlink to /dev/zero makes its AMI's instances no_baseline with
// the reason, at once; the other AMI's instances are judged as usual.
func TestUnreadableDirBaselinesAreNoBaseline(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		make       func(p string) error
	}{
		{"fifo", "is a named pipe (FIFO), not a regular file", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"dev-zero", "is a character device, not a regular file", func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := filepath.Join(f.dir, f.amiB+".json")
			must(t, os.Remove(p))
			must(t, tt.make(p))
			c := f.config()
			c.Schedule.Timeout = 20 * time.Second
			a := f.app(t, c)
			start := time.Now()
			res, err := a.Scan(context.Background(), nil)
			must(t, err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("scan took %s", d)
			}
			got := byID(res)
			for _, id := range f.api {
				r := got[id]
				if r.Verdict != drift.VerdictNoBaseline || !strings.Contains(strings.Join(r.Reasons, "; "), p+": "+tt.want) {
					t.Errorf("%s: %s %v", id, r.Verdict, r.Reasons)
				}
			}
			for _, id := range f.web {
				if got[id].Verdict != drift.VerdictInSync {
					t.Errorf("%s (other AMI): %s %v", id, got[id].Verdict, got[id].Reasons)
				}
			}
		})
	}
}

// TestHostileManifestIsNoBaselineNotDrift: a manifest naming packages with
// NUL or control characters, or an epoch of 10^23, is refused: its AMI's
// instances are no_baseline with the reason naming the field, never drifted.
func TestHostileManifestIsNoBaselineNotDrift(t *testing.T) {
	for _, tt := range []struct{ name, from, to, want string }{
		{"nul-name", `"name": "curl"`, `"name": "curl\u0000"`, `packages[1].name: contains control character U+0000`},
		{"escape-version", `"version": "8.5.0"`, `"version": "8.5.0\u001b[2J"`, `packages[1].version: contains control character U+001B`},
		{"epoch-1e23", `"epoch": "1"`, `"epoch": "100000000000000000000000"`, `packages[4].epoch: "100000000000000000000000" is out of range (at most 2147483647)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := filepath.Join(f.dir, f.amiB+".json")
			b, err := os.ReadFile(p)
			must(t, err)
			if !strings.Contains(string(b), tt.from) {
				t.Fatalf("fixture manifest lacks %s:\n%s", tt.from, b)
			}
			must(t, os.WriteFile(p, []byte(strings.Replace(string(b), tt.from, tt.to, 1)), 0o644))
			a := f.app(t, f.config())
			res, err := a.Scan(context.Background(), nil)
			must(t, err)
			got := byID(res)
			for _, id := range f.api {
				r := got[id]
				if r.Verdict != drift.VerdictNoBaseline || !strings.Contains(strings.Join(r.Reasons, "; "), p+": "+filepath.Base(p)+": "+tt.want) {
					t.Errorf("%s: %s %v", id, r.Verdict, r.Reasons)
				}
			}
			if res.Summary[drift.VerdictDrifted] != 0 || res.Summary[drift.VerdictInSync] != len(f.web) {
				t.Errorf("summary %v", res.Summary)
			}
		})
	}
}

// TestControlCharactersInInventoryAreData: an instance reporting a package
// whose name holds NUL and an ANSI escape is judged (drifted: the package
// is not in the baseline), and its finding renders escaped on one line.
func TestControlCharactersInInventoryAreData(t *testing.T) {
	f := newFixture(t)
	// the agent keeps the first line of a field (cleanupJSONField)
	name := "evil\x00pkg\x1b[2J"
	must(t, f.sim.Inject(f.web[0], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: name + "\nline", Version: "1\x07", Release: "1"}}))
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	r := byID(res)[f.web[0]]
	if r.Verdict != drift.VerdictDrifted || len(r.Findings) != 1 || r.Findings[0].Name != name || r.Findings[0].Observed != "1\x07-1" {
		t.Fatalf("%s %q %q", r.Verdict, r.Findings[0].Name, r.Findings[0].Observed)
	}
	if got, want := r.Findings[0].String(), `package evil\x00pkg\x1b[2J.x86_64 added: 1\a-1 (low)`; got != want {
		t.Errorf("Finding.String = %q, want %q", got, want)
	}
	if res.Summary[drift.VerdictInSync] != 6 {
		t.Errorf("summary %v", res.Summary)
	}
}

// TestManyFindingsAreCappedWithExactCounts: an instance whose baseline lists
// 2,500 packages it does not have is drifted with 2,500 findings counted,
// drift.MaxFindings listed, and the API says so; a second (reused) scan
// keeps the exact counts.
func TestManyFindingsAreCappedWithExactCounts(t *testing.T) {
	f := newFixture(t)
	p := filepath.Join(f.dir, f.amiA+".json")
	raw, err := os.ReadFile(p)
	must(t, err)
	var doc map[string]any
	must(t, json.Unmarshal(raw, &doc))
	list := doc["packages"].([]any)
	for i := range 2500 {
		list = append(list, map[string]any{"name": fmt.Sprintf("absent-%04d", i), "arch": "x86_64", "version": "1", "release": "1"})
	}
	doc["packages"] = list
	raw, err = json.Marshal(doc)
	must(t, err)
	must(t, os.WriteFile(p, raw, 0o644))
	a := f.app(t, f.config())
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	for scan := range 2 {
		res, err := a.Scan(context.Background(), nil)
		must(t, err)
		for _, ir := range res.Instances {
			if ir.Report.ASG != "web" {
				continue
			}
			r := ir.Report
			if r.Verdict != drift.VerdictDrifted || len(r.Findings) > drift.MaxFindings || r.FindingsTotal != 2500 || !r.Truncated ||
				r.Counts["package/low"] != 2500 || r.Reasons[0] != "package absent-0000.x86_64 removed and 2499 more findings" {
				t.Fatalf("scan %d %s: %s, %d listed of %d, counts %v, reasons %v", scan, r.InstanceID, r.Verdict, len(r.Findings), r.FindingsTotal, r.Counts, r.Reasons)
			}
			if scan == 1 && !ir.Reused {
				t.Errorf("%s: second scan not reused", r.InstanceID)
			}
		}
		var inst struct {
			Findings      int             `json:"findings"`
			FindingCounts map[string]int  `json:"finding_counts"`
			TopFindings   []drift.Finding `json:"top_findings"`
			Truncated     bool            `json:"truncated"`
		}
		must(t, json.Unmarshal(get(t, srv, "/api/v1/instances/"+f.web[0], 200), &inst))
		if inst.Findings != 2500 || inst.FindingCounts["package/low"] != 2500 || !inst.Truncated || len(inst.TopFindings) != state.MaxFindings {
			t.Errorf("scan %d API: %+v", scan, inst)
		}
	}
}
