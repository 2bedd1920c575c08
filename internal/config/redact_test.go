package config

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/driftd":                              "https://hooks.example.com/driftd",
		"https://deploy:hunter2@hooks.example.com/x":                    "https://***@hooks.example.com/x",
		"https://tok3n@hooks.example.com":                               "https://***@hooks.example.com",
		"https://h.example.com/x?token=abc&team=ops&flag":               "https://h.example.com/x?token=***&team=***&flag",
		"https://u:p@h/x?sig=abc#frag":                                  "https://***@h/x?sig=***#***",
		"ftp://user:p@ss@host/path@x":                                   "ftp://***@host/path@x",
		"user:pass@host:80":                                             "***@host:80",
		"http://[::1]:80/a":                                             "http://[::1]:80/a",
		"https://u:p%zz@bad url/?k=v":                                   "https://***@bad url/?k=***",
		"s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/key":                     "s3://***@bucket/key",
		"https://sqs.us-east-1.amazonaws.com/123456789012/driftd-queue": "https://sqs.us-east-1.amazonaws.com/123456789012/driftd-queue",
		"": "",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?a=b#c", "u@h", "?x=y", "://@", "a://b@c/d@e?f=g&h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := RedactURL(s)
		if RedactURL(r) != r {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, r, RedactURL(r))
		}
		// Whatever stood between the scheme and the last '@' of the
		// authority is gone.
		rest, _, _ := strings.Cut(s, "#")
		rest, _, _ = strings.Cut(rest, "?")
		if i := strings.Index(rest, "://"); i >= 0 {
			rest = rest[i+3:]
		}
		auth, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndexByte(auth, '@'); at >= 0 && !strings.Contains(r, "***@") {
			t.Fatalf("userinfo of %q kept: %q", s, r)
		}
	})
}
