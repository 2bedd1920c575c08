package baselines

import (
	"strings"
	"testing"
)

func FuzzParseS3URI(f *testing.F) {
	for _, s := range []string{"s3://golden-images/manifests/", "s3://b-1.x/k/ami-0abc.yaml", "s3://bucket", "s3://Bad/x",
		"s3:///key", "https://b/k", "s3://bucket/key with spaces%2F+", "s3://a..b/x", "s3://bucket/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseS3URI(s)
		if err != nil {
			if loc != (S3Location{}) {
				t.Fatalf("error with a location: %+v", loc)
			}
			return
		}
		if !strings.HasPrefix(s, "s3://") || loc.Bucket == "" || strings.Contains(loc.Bucket, "/") {
			t.Fatalf("accepted %q as %+v", s, loc)
		}
		again, err := ParseS3URI(loc.String())
		if err != nil || again != loc {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}

func FuzzSniffParameterValue(f *testing.F) {
	for _, s := range []string{"s3://golden-images/releases/web-42.yaml", " s3://b-1/k.json\n", "s3://bucket/", "s3://b/x\ny",
		"schema_version: 1\nami_id: ami-0abc\n", `{"schema_version":1}`, "", "   ", "s3://UPPER/k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		kind, loc, err := SniffParameterValue(v)
		switch {
		case err != nil:
			if kind != 0 {
				t.Fatalf("error with a kind: %v", kind)
			}
		case kind == ValueS3URI:
			if loc.Key == "" || strings.HasSuffix(loc.Key, "/") || !strings.HasPrefix(strings.TrimSpace(v), "s3://") {
				t.Fatalf("%q sniffed as %+v", v, loc)
			}
		case kind == ValueManifest:
			if strings.TrimSpace(v) == "" || strings.HasPrefix(strings.TrimSpace(v), "s3://") {
				t.Fatalf("%q sniffed as a manifest", v)
			}
		default:
			t.Fatalf("kind %v", kind)
		}
	})
}
