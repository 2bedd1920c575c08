package drift

import (
	"strings"
	"testing"
	"time"
)

// parseFuzzPackages reads "name arch version" lines (arch "-" = none).
func parseFuzzPackages(s string, format PackageFormat) []Package {
	var out []Package
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || len(out) >= 64 {
			continue
		}
		arch := f[1]
		if arch == "-" {
			arch = ""
		}
		out = append(out, Package{Name: f[0], Arch: arch, Version: f[2], Format: format})
	}
	return out
}

// FuzzCompare drives the engine with arbitrary package lists and checks its
// laws: no panic, deterministic sorted output, a manifest compared with a
// perfect instance of itself is in sync, and diffing A→B mirrors B→A.
func FuzzCompare(f *testing.F) {
	f.Add("bash x86_64 5.2.15-1\nkernel x86_64 6.1.79-1\nkernel x86_64 6.1.82-1\nglibc i686 2.34-1\nglibc x86_64 2.34-1", "bash x86_64 5.2.15-2\nkernel x86_64 6.1.90-1\nglibc x86_64 2.34-1", false, false)
	f.Add("libc6 amd64 2.36-9+deb12u4\nvim amd64 2:9.0-2", "libc6 amd64 2.36-9+deb12u3\ncurl amd64 7.88.1-10", true, false)
	f.Add("bash - 5.2.15\nglibc - 2.34", "bash x86_64 5.2.15-1\nglibc i686 2.34-1\nglibc x86_64 2.35-1", false, true)
	f.Add("libc6 arm64 2.39-0ubuntu8.3\ntzdata all 2024a-3\nlibc6 AMD64 2.39-0ubuntu8.3", "libc6 aarch64 2.39-0ubuntu8.4\ntzdata noarch 2024a-3", true, false)
	f.Fuzz(func(t *testing.T, a, b string, deb, nvo bool) {
		format := FormatRPM
		if deb {
			format = FormatDeb
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p := &Policy{Now: now}
		ma := &Manifest{PackageFormat: format, NameVersionOnly: nvo, Packages: parseFuzzPackages(a, format)}
		mb := &Manifest{PackageFormat: format, Packages: parseFuzzPackages(b, format)}
		if ma.NormalizeWith(NormalizeOptions{InstallOnly: []string{"*"}}) != nil || mb.NormalizeWith(NormalizeOptions{InstallOnly: []string{"*"}}) != nil {
			return
		}
		sb := SnapshotFromManifest(mb)
		r1 := Compare(ma, sb, p)
		r2 := Compare(ma, sb, p)
		j1, _ := EncodeReport(r1)
		j2, _ := EncodeReport(r2)
		if string(j1) != string(j2) {
			t.Fatalf("not deterministic:\n%s\n%s", j1, j2)
		}
		for i := 1; i < len(r1.Findings); i++ {
			if compareFindings(r1.Findings[i-1], r1.Findings[i]) > 0 {
				t.Fatalf("findings not sorted: %+v", r1.Findings)
			}
		}
		if len(ma.Packages) > 0 && (r1.Verdict == VerdictDrifted) != (len(r1.Findings) > 0) {
			t.Fatalf("verdict %s with %d findings", r1.Verdict, len(r1.Findings))
		}
		// A manifest against a perfect instance of itself is in sync.
		if len(ma.Packages) > 0 && !nvo {
			if r := Compare(ma, SnapshotFromManifest(ma), p); r.Verdict != VerdictInSync {
				t.Fatalf("self-compare %s: %+v", r.Verdict, r.Findings)
			}
		}
		// The same packages reported the way the SSM agent spells their
		// arches (model.FormatArchitecture: lowercased, amd64 → x86_64,
		// 386 → i386) are in sync too.
		if len(ma.Packages) > 0 && !nvo {
			agent := &Snapshot{CaptureTimes: map[string]time.Time{TypeApplication: {}}, Packages: parseFuzzPackages(a, format)}
			for i := range agent.Packages {
				switch arch := strings.ToLower(strings.TrimSpace(agent.Packages[i].Arch)); arch {
				case "amd64":
					agent.Packages[i].Arch = "x86_64"
				case "386":
					agent.Packages[i].Arch = "i386"
				default:
					agent.Packages[i].Arch = arch
				}
			}
			agent.Normalize()
			if r := Compare(ma, agent, p); r.Verdict != VerdictInSync {
				t.Fatalf("against the agent's spelling %s: %+v", r.Verdict, r.Findings)
			}
		}
		// Mirror: with explicit arches and full versions, A→B and B→A swap
		// added and removed and invert directions.
		if nvo || len(ma.Packages) == 0 || len(mb.Packages) == 0 {
			return
		}
		for _, q := range append(append([]Package(nil), ma.Packages...), mb.Packages...) {
			if q.Arch == "" {
				return
			}
		}
		r3 := Compare(mb, SnapshotFromManifest(ma), p)
		count := func(r Report) (add, rem, chg, up, down int) {
			for _, f := range r.Findings {
				switch f.Change {
				case ChangeAdded:
					add++
				case ChangeRemoved:
					rem++
				case ChangeChanged:
					chg++
					if f.Direction == DirectionUpgrade {
						up++
					} else {
						down++
					}
				}
			}
			return
		}
		a1, rm1, c1, u1, d1 := count(r1)
		a3, rm3, c3, u3, d3 := count(r3)
		if a1 != rm3 || rm1 != a3 || c1 != c3 || u1 != d3 || d1 != u3 {
			t.Fatalf("A→B (+%d -%d ~%d ↑%d ↓%d) does not mirror B→A (+%d -%d ~%d ↑%d ↓%d)\nA→B %+v\nB→A %+v",
				a1, rm1, c1, u1, d1, a3, rm3, c3, u3, d3, r1.Findings, r3.Findings)
		}
	})
}
