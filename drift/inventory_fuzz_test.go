package drift

import (
	"strings"
	"testing"
)

// FuzzPackageFromInventory feeds arbitrary SSM AWS:Application entries
// through the conversion: it never panics, yields a normalised package
// (normalising again changes nothing) whose EVR compares equal to itself,
// and rpm and deb spellings of one version agree.
func FuzzPackageFromInventory(f *testing.F) {
	f.Add("openssl-libs", "3.0.8", "1.amzn2023.0.12", "1", "x86_64", "openssl-3.0.8-1.amzn2023.0.12.src.rpm")
	f.Add("openssh-server", "1:9.2p1-2+deb12u2", "", "", "amd64", "openssh-server_1:9.2p1-2+deb12u2_amd64.deb")
	f.Add("kernel", "6.1.79", "99.167.amzn2023", "0", "x86_64", "")
	f.Add("x", ":", "-", "00", "", ".deb")
	f.Add("libc6", "2.39-0ubuntu8.3", "", "", "arm64", "libc6_2.39-0ubuntu8.3_arm64.deb")
	f.Add("tzdata", "2024a-0+deb12u1", "", "", " ALL ", "tzdata_2024a-0+deb12u1_all.deb")
	// control characters are data on the inventory side: never a panic
	f.Add("evil\x00pkg\x1b[2J", "1\x07", "1\n2", "99999999999999999999999", "x86\u0085_64", "\x00.rpm")
	f.Fuzz(func(t *testing.T, name, version, release, epoch, arch, pkgid string) {
		e := map[string]string{"Name": name, "Version": version, "Architecture": arch, "PackageId": pkgid}
		if release != "" {
			e["Release"] = release
		}
		if epoch != "" {
			e["Epoch"] = epoch
		}
		// The same entry from the agent's Windows registry provider (the
		// release stands in for the publisher): a Windows application,
		// normalised for good, its version whole.
		e["Publisher"] = release
		w := PackageFromInventory(e, FormatWindows)
		if w2 := w; func() bool { NormalizePackage(&w2); return w2 != w }() {
			t.Fatalf("windows: not idempotent: %+v", w)
		}
		if w.Format != FormatWindows || w.Epoch != "" || w.Release != "" || w.EVR != w.Version || CanonicalArch(w.Arch) != w.Arch {
			t.Fatalf("windows entry %+v", w)
		}
		if c := CompareVersions(FormatWindows, w.EVR, w.EVR); c != 0 {
			t.Fatalf("windows %q compares %d to itself", w.EVR, c)
		}
		delete(e, "Publisher")
		p := PackageFromInventory(e, "")
		if p.Publisher != "" {
			t.Fatalf("publisher kept on a %s package: %+v", p.Format, p)
		}
		q := p
		NormalizePackage(&q)
		if q != p {
			t.Fatalf("not idempotent: %+v then %+v", p, q)
		}
		if a := CanonicalArch(p.Arch); a != p.Arch {
			t.Fatalf("arch %q is not canonical (%q)", p.Arch, a)
		}
		if a := CanonicalArch(DisplayArch(p.Format, p.Arch)); a != p.Arch {
			t.Fatalf("arch %q displayed for %s as %q reads back as %q", p.Arch, p.Format, DisplayArch(p.Format, p.Arch), a)
		}
		if c := CompareVersions(p.Format, p.EVR, p.EVR); c != 0 {
			t.Fatalf("%q compares %d to itself", p.EVR, c)
		}
		if p.Format == FormatRPM && allDigits(p.Epoch) && p.Epoch != "" && !strings.Contains(p.Version, ":") {
			// EVR with an explicit epoch orders after the same without one
			if CompareVersions(FormatRPM, p.EVR, CanonicalEVR("", p.Version, p.Release)) < 0 {
				t.Fatalf("epoch %s does not raise %q", p.Epoch, p.EVR)
			}
		}
	})
}
