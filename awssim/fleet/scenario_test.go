package fleet

import "testing"

func TestInstanceTypeArch(t *testing.T) {
	for it, want := range map[string]string{
		"m7g.large": "arm64", "t4g.small": "arm64", "c7gn.xlarge": "arm64", "r8gd.2xlarge": "arm64", "im4gn.large": "arm64",
		"x2gd.medium": "arm64", "g5g.xlarge": "arm64", "a1.medium": "arm64", "is4gen.large": "arm64",
		"m7i.large": "x86_64", "t3.micro": "x86_64", "c7i.xlarge": "x86_64", "g4dn.xlarge": "x86_64", "g4ad.xlarge": "x86_64",
		"m6a.large": "x86_64", "u7i-12tb.224xlarge": "x86_64", "inf2.xlarge": "x86_64", "": "",
	} {
		if got := instanceTypeArch(it); got != want {
			t.Errorf("instanceTypeArch(%q) = %q, want %q", it, got, want)
		}
	}
}
