package fleet

import "testing"

// TestAgentArchitecture pins formatArchitecture to the agent's
// model.FormatArchitecture and nativeArch to each package manager's names.
func TestAgentArchitecture(t *testing.T) {
	for in, want := range map[string]string{"amd64": "x86_64", " AMD64 ": "x86_64", "386": "i386", "i386": "i386", "arm64": "arm64",
		"aarch64": "aarch64", "all": "all", "noarch": "noarch", "i686": "i686", "x86_64": "x86_64", "": ""} {
		if got := formatArchitecture(in); got != want {
			t.Errorf("formatArchitecture(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ format, ami, arch, want string }{
		{"deb", "x86_64", "", "amd64"}, {"deb", "arm64", "", "arm64"}, {"deb", "i386", "", "i386"},
		{"deb", "x86_64", "all", "all"}, {"deb", "x86_64", "x86_64", "amd64"}, {"deb", "arm64", "aarch64", "arm64"}, {"deb", "x86_64", "noarch", "all"},
		{"rpm", "x86_64", "", "x86_64"}, {"rpm", "arm64", "", "aarch64"}, {"rpm", "i386", "", "i686"},
		{"rpm", "x86_64", "i686", "i686"}, {"rpm", "arm64", "arm64", "aarch64"}, {"rpm", "x86_64", "amd64", "x86_64"}, {"rpm", "x86_64", "all", "noarch"},
	} {
		if got := nativeArch(tc.format, tc.ami, tc.arch); got != tc.want {
			t.Errorf("nativeArch(%s, %s, %q) = %q, want %q", tc.format, tc.ami, tc.arch, got, tc.want)
		}
	}
}
