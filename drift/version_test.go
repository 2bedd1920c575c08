package drift

import (
	"testing"

	debversion "github.com/knqyf263/go-deb-version"
	rpmversion "github.com/knqyf263/go-rpm-version"
)

func TestCompareVersionsRPM(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "2.0", -1},
		{"2.0.1", "2.0", 1},
		{"1.0-1", "1.0-2", -1},
		{"1:1.0-1", "2.0-1", 1},        // epoch wins
		{"0:1.0-1", "1.0-1", 0},        // epoch 0 == absent
		{"1.0~rc1", "1.0", -1},         // tilde: pre-release sorts before
		{"1.0~rc1", "1.0~rc2", -1},     //
		{"1.0~~", "1.0~", -1},          //
		{"1.0^git1", "1.0", 1},         // caret: snapshot after base
		{"1.0^git1", "1.0.1", -1},      // but before the next version
		{"1.0^git1", "1.0^git2", -1},   //
		{"1.0~rc1^git1", "1.0~rc1", 1}, //
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0.1", -1},
		{"1.010", "1.9", 1},
		{"1.001", "1.1", 0},
		{"5.2.15-1.amzn2023.0.2", "5.2.15-1.amzn2023.0.1", 1},
		{"1:3.0.8-1.amzn2023.0.12", "1:3.0.8-1.amzn2023.0.9", 1},
		{"6.1.79-99.167.amzn2023", "6.1.82-99.168.amzn2023", -1},
		{"2.34-52.amzn2023.0.8", "2.34-52.amzn2023.0.10", -1},
		{"a", "1", -1},
		{"1.0.0", "1.0", 1},
		{"1_0", "1.0", 0},
	} {
		if got := CompareVersions(FormatRPM, tc.a, tc.b); got != tc.want {
			t.Errorf("rpm %q vs %q = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(FormatRPM, tc.b, tc.a); got != -tc.want {
			t.Errorf("rpm %q vs %q = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
		ref := rpmversion.NewVersion(tc.a)
		if got := ref.Compare(rpmversion.NewVersion(tc.b)); got != tc.want {
			t.Errorf("reference go-rpm-version %q vs %q = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestCompareVersionsDeb(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.36-9+deb12u4", "2.36-9+deb12u3", 1},
		{"2.36-9+deb12u4", "2.36-9", 1},
		{"1:2.36-1", "2.37-1", 1},
		{"0:2.36-1", "2.36-1", 0},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1.0-1~bpo12+1", "1.0-1", -1},
		{"3.0.11-1~deb12u2", "3.0.11-1~deb12u1", 1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"1.2.3-1", "1.2.3-1.1", -1},
		{"1.0+dfsg-1", "1.0-1", 1},
		{"9.2p1-2+deb12u2", "9.2p1-2+deb12u3", -1},
		{"252.22-1~deb12u1", "252.19-1~deb12u1", 1},
		{"1.0-a", "1.0-1", 1},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u5", 0},
		{"2:9.0.1378-2", "2:9.0.1378-2+deb12u1", -1},
	} {
		if got := CompareVersions(FormatDeb, tc.a, tc.b); got != tc.want {
			t.Errorf("deb %q vs %q = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(FormatDeb, tc.b, tc.a); got != -tc.want {
			t.Errorf("deb %q vs %q = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
		va, err1 := debversion.NewVersion(tc.a)
		vb, err2 := debversion.NewVersion(tc.b)
		if err1 != nil || err2 != nil {
			t.Fatalf("reference parse %q/%q: %v %v", tc.a, tc.b, err1, err2)
		}
		if got := va.Compare(vb); sign(got) != tc.want {
			t.Errorf("reference go-deb-version %q vs %q = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// asciiVersion keeps fuzz inputs to the alphabet real versions use, where
// the reference implementations are well defined.
func asciiVersion(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || isAlpha(c) || c == '.' || c == '~' || c == '^' || c == '+' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// FuzzCompareVersions checks the allocation-free orderings against the
// reference libraries and basic order laws.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][2]string{
		{"1.0", "1.0~rc1"}, {"1.0^git1", "1.0.1"}, {"1:3.0.8-1.amzn2023.0.12", "3.0.8-1.amzn2023.0.12"},
		{"2.36-9+deb12u4", "1:2.36-9"}, {"1.0a", "1.0.a"}, {"010", "10"}, {"~", "^"}, {"1.0-1~bpo1", "1.0-1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		rab, rba := CompareVersions(FormatRPM, a, b), CompareVersions(FormatRPM, b, a)
		if rab != -rba {
			t.Fatalf("rpm not antisymmetric: %q vs %q = %d, reverse %d", a, b, rab, rba)
		}
		dab, dba := CompareVersions(FormatDeb, a, b), CompareVersions(FormatDeb, b, a)
		if dab != -dba {
			t.Fatalf("deb not antisymmetric: %q vs %q = %d, reverse %d", a, b, dab, dba)
		}
		if !asciiVersion(a) || !asciiVersion(b) {
			return
		}
		// rpm: version/release strings without ':' and with at most one '-'
		// are where the reference library parses like rpm does.
		if rpmComparable(a) && rpmComparable(b) {
			ra, rb := rpmversion.NewVersion(a), rpmversion.NewVersion(b)
			if want := ra.Compare(rb); want != rab {
				t.Fatalf("rpm %q vs %q = %d, reference says %d", a, b, rab, want)
			}
		}
		va, err1 := debversion.NewVersion(a)
		vb, err2 := debversion.NewVersion(b)
		if err1 == nil && err2 == nil && va.String() == a && vb.String() == b {
			if want := sign(va.Compare(vb)); want != dab {
				t.Fatalf("deb %q vs %q = %d, reference says %d", a, b, dab, want)
			}
		}
	})
}

func rpmComparable(s string) bool {
	e, rest := splitEpoch(s)
	if e == "" && len(rest) != len(s) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == ':' {
			return false
		}
	}
	return len(e) < 9
}

func TestCompareVersionsAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		CompareVersions(FormatRPM, "1:3.0.8-1.amzn2023.0.12", "1:3.0.8-1.amzn2023.0.9")
		CompareVersions(FormatDeb, "2.36-9+deb12u4", "2.36-9+deb12u3")
	})
	if n != 0 {
		t.Errorf("CompareVersions allocates %.0f times per call pair, want 0", n)
	}
}
