package config

import (
	"strings"
	"testing"
	"time"
)

func TestBaselineSourcesValid(t *testing.T) {
	c, err := Parse([]byte(`
baselines:
  - s3: {uri: "s3://golden-images/manifests/", tag: "driftd:manifest", cache_ttl: 1m, timeout: 3s}
  - ssm_parameter: {name: "/golden/{ami_id}/manifest"}
  - name: ib
    image_builder: {package_format: rpm}
  - dir: {path: /etc/driftd/baselines}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Baselines
	tests := []struct{ name, got, want string }{
		{"kind 0", b[0].Kind(), BaselineKindS3},
		{"name 0", b[0].Name, "s3"},
		{"kind 1", b[1].Kind(), BaselineKindSSMParameter},
		{"name 1", b[1].Name, "ssm_parameter"},
		{"kind 2", b[2].Kind(), BaselineKindImageBuilder},
		{"name 2", b[2].Name, "ib"},
		{"kind 3", b[3].Kind(), BaselineKindDir},
		{"ttl", b[0].S3.CacheTTL.String(), (time.Minute).String()},
		{"timeout", b[0].S3.Timeout.String(), (3 * time.Second).String()},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestBaselineSourcesInvalid(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"two kinds", `[{s3: {uri: "s3://abc/"}, ssm_parameter: {name: "/x/{ami_id}"}}]`,
			[]string{"baselines[0]: exactly one source kind must be set, found s3 and ssm_parameter"}},
		{"none", `[{name: x}]`,
			[]string{"baselines[0]: exactly one source kind must be set (one of dir, s3, ssm_parameter, image_builder)"}},
		{"s3 empty", `[{s3: {}}]`,
			[]string{"baselines[0].s3: set uri (s3://bucket/prefix/), tag (an AMI tag key holding s3://bucket/key) or both"}},
		{"s3 bad uri", `[{s3: {uri: "https://x/y", cache_ttl: -1s, timeout: -2s}}]`, []string{
			"baselines[0].s3.cache_ttl: -1s must not be negative",
			"baselines[0].s3.timeout: -2s must not be negative",
			`baselines[0].s3.uri: "https://x/y" is not an s3://bucket/prefix URI`,
		}},
		{"s3 bad bucket", `[{s3: {uri: "s3://Bad_Bucket/x", tag: "a b\u0000"}}]`, []string{
			`baselines[0].s3.uri: "s3://Bad_Bucket/x": bucket "Bad_Bucket" is not a valid S3 bucket name`,
			`baselines[0].s3.tag: "a b\x00" is not a valid tag key`,
		}},
		{"ssm no name", `[{ssm_parameter: {}}]`, []string{"baselines[0].ssm_parameter.name: required (e.g. /golden/{ami_id}/manifest)"}},
		{"ssm no placeholder", `[{ssm_parameter: {name: /golden/manifest}}]`,
			[]string{`baselines[0].ssm_parameter.name: "/golden/manifest" must contain {ami_id} or {ami_name}`}},
		{"ssm unknown placeholder", `[{ssm_parameter: {name: "/golden/{ami}/m"}}]`,
			[]string{"baselines[0].ssm_parameter.name: unknown placeholder {ami} (use {ami_id} or {ami_name})"}},
		{"ssm bad chars", `[{ssm_parameter: {name: "/golden/{ami_id} x"}}]`,
			[]string{`baselines[0].ssm_parameter.name: "/golden/{ami_id} x" may only contain letters, digits, '_', '.', '-', '/' and {placeholders}`}},
		{"ssm braces", `[{ssm_parameter: {name: "/golden/{ami_id}}"}}]`,
			[]string{`baselines[0].ssm_parameter.name: "/golden/{ami_id}}" has unbalanced braces`}},
		{"ib format", `[{image_builder: {package_format: apk}}]`,
			[]string{`baselines[0].image_builder.package_format: "apk" is not rpm, deb or windows`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("baselines: " + tt.yaml + "\n"))
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			var got []string
			for _, e := range ve.Errors {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestBaselineSourcesUnknownKey(t *testing.T) {
	_, err := Parse([]byte("baselines:\n  - s3: {uri: \"s3://abc/\", name: x}\n"))
	// name belongs to the entry (or to ssm_parameter), not to s3.
	if err == nil || !strings.Contains(err.Error(), "baselines[0].s3.name: line 2: unknown key (valid here: cache_ttl, tag, timeout, uri)") {
		t.Fatalf("err = %v", err)
	}
}
