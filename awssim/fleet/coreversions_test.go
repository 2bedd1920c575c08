package fleet

import (
	"strings"
	"testing"
)

// TestCorePackagesHaveTheDistributionsVersions: the core packages of a
// generated image carry their distribution's version (the demo's findings
// read like real ones), architecture-independent ones say so, and the
// generated packages after them are unchanged by the table.
func TestCorePackagesHaveTheDistributionsVersions(t *testing.T) {
	for _, tt := range []struct {
		format, dist, key string
		name, want        string
	}{
		{"rpm", "", "amzn2023", "openssl-libs", "1:3.0.8-1.amzn2023.0.12"},
		{"rpm", "amzn2", "amzn2", "openssl-libs", "1:1.0.2k-24.amzn2.0.12"},
		{"deb", "", "debian12", "libssl3", "3.0.11-1~deb12u2"},
		{"deb", "ubuntu", "ubuntu2404", "curl", "8.5.0-2ubuntu10.5"},
	} {
		pkgs := GeneratePackagesFor(40, 7, tt.format, tt.dist)
		seen := 0
		for _, p := range pkgs {
			want, core := coreVersions[tt.key][p.Name]
			if !core {
				continue
			}
			seen++
			got := p.Version
			if tt.format == "rpm" {
				got = p.Version + "-" + p.Release
				if p.Epoch != "" {
					got = p.Epoch + ":" + got
				}
			}
			if got != want {
				t.Errorf("%s %s: %s %s, want %s", tt.format, tt.dist, p.Name, got, want)
			}
			if p.Name == tt.name && got != tt.want {
				t.Errorf("%s: %s", p.Name, got)
			}
			switch {
			case p.Name == "tzdata" || p.Name == "ca-certificates":
				if p.Arch != "noarch" && p.Arch != "all" {
					t.Errorf("%s %s: arch %q, want architecture-independent", tt.key, p.Name, p.Arch)
				}
			case p.Arch != "":
				t.Errorf("%s %s: arch %q, want the image's", tt.key, p.Name, p.Arch)
			}
		}
		if seen != len(corePackages) {
			t.Errorf("%s: %d core packages with the distribution's version, want %d", tt.key, seen, len(corePackages))
		}
		// Past the core packages, versions stay synthetic and the names
		// generated.
		if last := pkgs[len(pkgs)-1]; !strings.HasSuffix(last.Name, "-39") {
			t.Errorf("%s: the 40th package is %q", tt.key, last.Name)
		}
	}
}
