package drift

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// hugeDrift is a manifest of n packages and a snapshot where every package
// has another version, plus n/2 packages the manifest does not list: 1.5n
// findings. Every tenth package name matches a high-severity rule.
func hugeDrift(n int) (*Manifest, *Snapshot) {
	m := &Manifest{SchemaVersion: 1, AMI: "ami-0abc", PackageFormat: FormatRPM}
	s := &Snapshot{InstanceID: "i-1", AMI: "ami-0abc", ASG: "web", CaptureTimes: map[string]time.Time{TypeApplication: benchNow}}
	for i := range n {
		name := fmt.Sprintf("pkg-%06d", i)
		if i%10 == 0 {
			name = fmt.Sprintf("sec-%06d", i)
		}
		m.Packages = append(m.Packages, Package{Name: name, Arch: "x86_64", Version: "1.0", Release: "1", Format: FormatRPM})
		s.Packages = append(s.Packages, Package{Name: name, Arch: "x86_64", Version: "1.1", Release: "1", Format: FormatRPM})
		if i%2 == 0 {
			s.Packages = append(s.Packages, Package{Name: fmt.Sprintf("extra-%06d", i), Arch: "noarch", Version: "1", Format: FormatRPM})
		}
	}
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	s.Normalize()
	return m, s
}

var capRules = []Rule{{ID: "sec", Category: CategoryPackage, Name: "sec-*", Action: ActionSeverity, Severity: SeverityCritical}}

// TestCompareCapsFindings: a report lists at most the policy's MaxFindings
// findings, the most severe ones (ties in report order), sorted; totals,
// counts, severity and summary stay exact.
func TestCompareCapsFindings(t *testing.T) {
	m, s := hugeDrift(3000) // 4,500 findings, 300 critical
	full := Compare(m, s, &Policy{Now: benchNow, Rules: capRules, MaxFindings: 1 << 30})
	if full.Truncated || full.FindingsTotal != 4500 || len(full.Findings) != 4500 {
		t.Fatalf("uncapped: truncated %v, total %d, listed %d", full.Truncated, full.FindingsTotal, len(full.Findings))
	}
	for _, limit := range []int{1, 299, 300, 301, 1000, 2249, 2250, 4499} {
		r := Compare(m, s, &Policy{Now: benchNow, Rules: capRules, MaxFindings: limit})
		if !r.Truncated || r.FindingsTotal != 4500 || len(r.Findings) != limit {
			t.Fatalf("cap %d: truncated %v, total %d, listed %d", limit, r.Truncated, r.FindingsTotal, len(r.Findings))
		}
		want := slices.Clone(full.Findings)
		slices.SortFunc(want, byImportance)
		want = want[:limit]
		slices.SortFunc(want, compareFindings)
		if !slices.Equal(r.Findings, want) {
			t.Fatalf("cap %d: kept findings are not the most severe in report order", limit)
		}
		if !mapsEqual(r.Counts, full.Counts) || r.Counts["package/critical"] != 300 || r.Counts["package/low"] != 4200 {
			t.Fatalf("cap %d: counts %v, uncapped %v", limit, r.Counts, full.Counts)
		}
		if r.Severity != SeverityCritical || r.Verdict != VerdictDrifted || !slices.Equal(r.Reasons, full.Reasons) {
			t.Fatalf("cap %d: severity %s verdict %s reasons %v, uncapped %v", limit, r.Severity, r.Verdict, r.Reasons, full.Reasons)
		}
	}
	if got := full.Reasons[0]; got != "package sec-000000.x86_64 changed (upgrade) and 4499 more findings" {
		t.Errorf("summary %q", got)
	}
	// The default cap applies without a policy setting.
	r := Compare(m, s, &Policy{Now: benchNow})
	if len(r.Findings) != MaxFindings || r.FindingsTotal != 4500 || !r.Truncated {
		t.Errorf("default cap: %d of %d", len(r.Findings), r.FindingsTotal)
	}
	// Under the cap nothing changes but the totals being set.
	small := Compare(m, s, &Policy{Now: benchNow, MaxFindings: 4500})
	if small.Truncated || small.FindingsTotal != 4500 || len(small.Findings) != 4500 {
		t.Errorf("at the cap: truncated %v, %d of %d", small.Truncated, len(small.Findings), small.FindingsTotal)
	}
	if _, err := CompilePolicy(&Policy{MaxFindings: -1}); err == nil {
		t.Error("negative max_findings accepted")
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCompareMemoryBounded: a comparison with 300,000 findings allocates
// and retains what the cap allows, not what the differences would take:
// pruned findings are dropped as the comparison goes, so its peak is bounded
// by twice the cap (plus the index of unmatched packages).
func TestCompareMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200,000-package fleet")
	}
	m, s := hugeDrift(200_000) // 300,000 findings
	for _, tc := range []struct {
		limit                 int
		maxAlloc, maxRetained uint64
	}{
		{MaxFindings, 16 << 20, 2 << 20},
		{1 << 30, 0, 0}, // uncapped: measured for comparison
	} {
		cp, err := CompilePolicy(&Policy{Now: benchNow, Rules: capRules, MaxFindings: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		before := memStats()
		r := cp.Compare(m, s)
		after := memStats()
		runtime.KeepAlive(r)
		if r.FindingsTotal != 300_000 || len(r.Findings) != min(tc.limit, 300_000) {
			t.Fatalf("%d of %d", len(r.Findings), r.FindingsTotal)
		}
		alloc, held := after.TotalAlloc-before.TotalAlloc, int64(after.HeapAlloc)-int64(before.HeapAlloc)
		t.Logf("cap %d: %d findings, %d listed: allocated %d KiB, report holds %d KiB", tc.limit, r.FindingsTotal, len(r.Findings), alloc>>10, held>>10)
		if tc.maxAlloc > 0 && (alloc > tc.maxAlloc || held > int64(tc.maxRetained)) {
			t.Errorf("cap %d: allocated %d KiB (bound %d), holds %d KiB (bound %d)", tc.limit, alloc>>10, tc.maxAlloc>>10, held>>10, tc.maxRetained>>10)
		}
	}
	runtime.KeepAlive(m)
	runtime.KeepAlive(s)
}

func memStats() runtime.MemStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// FuzzCompareCap: for any package lists and any cap, the capped report
// lists the cap's worth of the uncapped report's most important findings,
// in report order, with the same total, counts, severity and reasons.
func FuzzCompareCap(f *testing.F) {
	f.Add("bash x86_64 5.2.15-1\nkernel x86_64 6.1.79-1\nglibc i686 2.34-1\nsec-a x86_64 1-1", "bash x86_64 5.2.15-2\nglibc x86_64 2.34-1\nsec-a x86_64 2-1\nsec-b - 1", uint8(2))
	f.Fuzz(func(t *testing.T, a, b string, limit uint8) {
		ma := &Manifest{PackageFormat: FormatRPM, Packages: parseFuzzPackages(a, FormatRPM)}
		mb := &Manifest{PackageFormat: FormatRPM, Packages: parseFuzzPackages(b, FormatRPM)}
		opts := NormalizeOptions{InstallOnly: []string{"*"}}
		if ma.NormalizeWith(opts) != nil || mb.NormalizeWith(opts) != nil {
			return
		}
		s := SnapshotFromManifest(mb)
		k := int(limit%8) + 1
		full := Compare(ma, s, &Policy{Rules: capRules, MaxFindings: 1 << 20})
		r := Compare(ma, s, &Policy{Rules: capRules, MaxFindings: k})
		want := slices.Clone(full.Findings)
		slices.SortFunc(want, byImportance)
		want = want[:min(k, len(want))]
		slices.SortFunc(want, compareFindings)
		if !slices.Equal(r.Findings, want) || r.FindingsTotal != full.FindingsTotal || r.Truncated != (full.FindingsTotal > k) ||
			!mapsEqual(r.Counts, full.Counts) || r.Severity != full.Severity || !slices.Equal(r.Reasons, full.Reasons) || r.Verdict != full.Verdict {
			t.Fatalf("cap %d:\n%+v\nuncapped:\n%+v", k, r, full)
		}
	})
}
