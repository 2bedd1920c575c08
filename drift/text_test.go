package drift

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"openssl-libs 3.0.8": "openssl-libs 3.0.8",
		"bash\x00evil":       `bash\x00evil`,
		"\x1b[2Jcleared":     `\x1b[2Jcleared`,
		"two\nlines\r\t":     `two\nlines\r\t`,
		"del\x7f c1\u0085":   `del\x7f c1\u0085`,
		"rtl\u202eexe.txt":   `rtl\u202eexe.txt`,
		"bad\xffutf8":        `bad\xffutf8`,
		"naïve 日本":           "naïve 日本",
		"line\u2028sep":      `line\u2028sep`,
		"":                   "",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	s := "plain text"
	if n := testing.AllocsPerRun(100, func() { _ = Printable(s) }); n != 0 {
		t.Errorf("printable text allocates %v times", n)
	}
}

func FuzzPrintable(f *testing.F) {
	f.Add("bash\x00\x1b[31m\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		p := Printable(s)
		for _, r := range p {
			if !isPrintable(r) {
				t.Fatalf("%q → %q keeps %U", s, p, r)
			}
		}
		if Printable(p) != p {
			t.Fatalf("not idempotent on %q", p)
		}
	})
}
