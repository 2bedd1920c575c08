package baselines

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"

	simib "github.com/driftd/driftd/awssim/imagebuilder"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
)

const (
	amiA   = "ami-0aaaaaaaaaaaaaaa1"
	amiB   = "ami-0bbbbbbbbbbbbbbb2"
	bucket = "golden-images"
)

// nativeYAML renders a native manifest; pkgs are "name=version-release".
func nativeYAML(ami string, pkgs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema_version: 1\nami_id: %s\npackage_format: rpm\npackages:\n", ami)
	for _, p := range pkgs {
		name, vr, _ := strings.Cut(p, "=")
		v, r, _ := strings.Cut(vr, "-")
		fmt.Fprintf(&b, "  - {name: %s, version: %q, release: %q, arch: x86_64}\n", name, v, r)
	}
	return b.String()
}

func pkgsOf(m *drift.Manifest) string {
	var s []string
	for _, p := range m.Packages {
		s = append(s, p.Name+"="+p.EVR)
	}
	return strings.Join(s, ",")
}

func TestS3PrefixCachingAndRevalidation(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	clk := newClock()
	e.sim.S3().PutObject(bucket, "manifests/"+amiA+".yaml", []byte(nativeYAML(amiA, "bash=5.2.15-1.amzn2023", "openssl=3.0.8-1.amzn2023")))
	src, err := NewS3Source("s3", e.s3, "s3://"+bucket+"/manifests", "", Options{CacheTTL: time.Minute, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ami := collectors.AMIInfo{ID: amiA}

	m1, r1, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pkgsOf(m1), "bash=5.2.15-1.amzn2023,openssl=3.0.8-1.amzn2023"; got != want {
		t.Errorf("packages = %s, want %s", got, want)
	}
	if r1.Where != "s3://"+bucket+"/manifests/"+amiA+".yaml" || r1.Version == "" {
		t.Errorf("resolution = %+v", r1)
	}
	if e.count("s3:ListObjectsV2") != 1 || e.count("s3:GetObject") != 1 {
		t.Errorf("cold resolution calls: %v", e.calls)
	}

	// Within the TTL: no call at all.
	e.resetCalls()
	m2, _, err := src.Resolve(ctx, ami)
	if err != nil || m2 != m1 {
		t.Fatalf("cached resolution: %v, same manifest %v", err, m2 == m1)
	}
	if len(e.calls) != 0 {
		t.Errorf("calls within TTL: %v", e.calls)
	}

	// After the TTL, unchanged: one conditional GET (304), same manifest.
	clk.advance(2 * time.Minute)
	m3, r3, err := src.Resolve(ctx, ami)
	if err != nil || m3 != m1 || r3.Version != r1.Version {
		t.Fatalf("revalidation: %v, same manifest %v, version %s", err, m3 == m1, r3.Version)
	}
	if e.count("s3:GetObject") != 1 || len(e.calls) != 1 {
		t.Errorf("calls after TTL (unchanged): %v, want one GetObject", e.calls)
	}

	// Changed object (new ETag): re-read.
	e.sim.S3().PutObject(bucket, "manifests/"+amiA+".yaml", []byte(nativeYAML(amiA, "bash=5.2.26-1.amzn2023", "openssl=3.0.8-1.amzn2023")))
	e.resetCalls()
	if _, _, err := src.Resolve(ctx, ami); err != nil {
		t.Fatal(err)
	}
	if len(e.calls) != 0 {
		t.Errorf("changed object re-read before the TTL ran out: %v", e.calls)
	}
	clk.advance(2 * time.Minute)
	m4, r4, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if got := pkgsOf(m4); !strings.Contains(got, "bash=5.2.26-1.amzn2023") {
		t.Errorf("after change: packages %s", got)
	}
	if r4.Version == r1.Version {
		t.Errorf("version did not change: %s", r4.Version)
	}
	if e.count("s3:GetObject") != 1 || e.count("s3:ListObjectsV2") != 0 {
		t.Errorf("calls after change: %v", e.calls)
	}
}

func TestS3SuffixOrderAndTag(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.sim.S3().PutObject(bucket, "m/"+amiA+".json", []byte(`{"schema_version":1,"ami_id":"`+amiA+`","packages":[{"name":"json-wins","version":"1"}]}`))
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiA, "yaml-wins=1-1")))
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml.bak", []byte("garbage"))
	e.sim.S3().PutObject("other-bucket", "x/web.cdx.json", []byte(`{"bomFormat":"CycloneDX","specVersion":"1.4","version":1,"components":[{"type":"library","name":"curl","version":"8.5.0-1.amzn2023","purl":"pkg:rpm/amazon/curl@8.5.0-1.amzn2023?arch=x86_64&distro=amzn-2023"}]}`))
	src, err := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "driftd:manifest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, r, err := src.Resolve(ctx, collectors.AMIInfo{ID: amiA})
	if err != nil {
		t.Fatal(err)
	}
	if pkgsOf(m) != "yaml-wins=1-1" || !strings.HasSuffix(r.Where, ".yaml") {
		t.Errorf(".yaml must win over .json: %s from %s", pkgsOf(m), r.Where)
	}
	// The tag wins over the prefix, and any format is read.
	m, r, err = src.Resolve(ctx, collectors.AMIInfo{ID: amiB, Tags: map[string]string{"driftd:manifest": "s3://other-bucket/x/web.cdx.json"}})
	if err != nil {
		t.Fatal(err)
	}
	if pkgsOf(m) != "curl=8.5.0-1.amzn2023" || r.Where != "s3://other-bucket/x/web.cdx.json" || m.AMI != amiB {
		t.Errorf("tag resolution: %s from %s (ami %s)", pkgsOf(m), r.Where, m.AMI)
	}
	// No tag and no object: a miss, not an error.
	_, _, err = src.Resolve(ctx, collectors.AMIInfo{ID: "ami-0ccccccccccccccc3"})
	if !errors.Is(err, collectors.ErrNoManifest) || !strings.Contains(err.Error(), "no s3://golden-images/m/ami-0ccccccccccccccc3.{yaml") {
		t.Errorf("miss: %v", err)
	}
}

func TestSSMParameterInlineAndVersion(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	clk := newClock()
	name := "/golden/" + amiA + "/manifest"
	e.putParameter(name, nativeYAML(amiA, "bash=5.2.15-1.amzn2023"))
	src, err := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{CacheTTL: time.Minute, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ami := collectors.AMIInfo{ID: amiA, Name: "web-base-2026-05"}
	m1, r1, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Where != "ssm:"+name || r1.Version != "v1" || pkgsOf(m1) != "bash=5.2.15-1.amzn2023" {
		t.Errorf("resolution %+v, packages %s", r1, pkgsOf(m1))
	}
	e.resetCalls()
	clk.advance(30 * time.Second)
	if _, _, err := src.Resolve(ctx, ami); err != nil || len(e.calls) != 0 {
		t.Errorf("within TTL: err %v calls %v", err, e.calls)
	}
	clk.advance(time.Minute)
	m2, _, err := src.Resolve(ctx, ami)
	if err != nil || m2 != m1 || e.count("ssm:GetParameter") != 1 {
		t.Errorf("unchanged version: err %v, same manifest %v, calls %v", err, m2 == m1, e.calls)
	}
	// New version (JSON this time): re-read.
	e.putParameter(name, `{"schema_version":1,"ami_id":"`+amiA+`","package_format":"rpm","packages":[{"name":"bash","version":"5.2.26","release":"1.amzn2023"}]}`)
	clk.advance(2 * time.Minute)
	m3, r3, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Version != "v2" || pkgsOf(m3) != "bash=5.2.26-1.amzn2023" {
		t.Errorf("after new version: %+v %s", r3, pkgsOf(m3))
	}

	// {ami_name} template.
	byName, _ := NewSSMSource("by-name", e.ssm, nil, "/golden/by-name/{ami_name}", false, Options{})
	e.putParameter("/golden/by-name/web-base-2026-05", nativeYAML(amiA, "zlib=1.2.13-1"))
	if m, _, err := byName.Resolve(ctx, ami); err != nil || pkgsOf(m) != "zlib=1.2.13-1" {
		t.Errorf("{ami_name}: %v", err)
	}
	if _, _, err := byName.Resolve(ctx, collectors.AMIInfo{ID: amiB}); !errors.Is(err, collectors.ErrNoManifest) || !strings.Contains(err.Error(), "AMI name of "+amiB+" is unknown") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestSSMParameterPointsToS3(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	clk := newClock()
	e.sim.S3().PutObject(bucket, "releases/web-42.yaml", []byte(nativeYAML(amiA, "bash=5.2.15-1.amzn2023")))
	e.putParameter("/golden/"+amiA+"/manifest", "s3://"+bucket+"/releases/web-42.yaml\n")
	src, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{CacheTTL: time.Minute, Now: clk.now})
	ami := collectors.AMIInfo{ID: amiA}
	m1, r1, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r1.Version, "v1/") || r1.Where != "ssm:/golden/"+amiA+"/manifest -> s3://"+bucket+"/releases/web-42.yaml" {
		t.Errorf("resolution %+v", r1)
	}
	// Unchanged parameter and object: GetParameter + one conditional GET.
	e.resetCalls()
	clk.advance(2 * time.Minute)
	m2, _, err := src.Resolve(ctx, ami)
	if err != nil || m2 != m1 || e.count("ssm:GetParameter") != 1 || e.count("s3:GetObject") != 1 || len(e.calls) != 2 {
		t.Errorf("revalidation: err %v same %v calls %v", err, m2 == m1, e.calls)
	}
	// The object changes behind the same parameter version: re-read.
	e.sim.S3().PutObject(bucket, "releases/web-42.yaml", []byte(nativeYAML(amiA, "bash=5.2.26-1.amzn2023")))
	clk.advance(2 * time.Minute)
	m3, r3, err := src.Resolve(ctx, ami)
	if err != nil || pkgsOf(m3) != "bash=5.2.26-1.amzn2023" || r3.Version == r1.Version {
		t.Errorf("object change: err %v %s %s", err, pkgsOf(m3), r3.Version)
	}
}

func TestImageBuilderPagingAndThrottling(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	arn := "arn:aws:imagebuilder:us-east-1:123456789012:image/web-base/1.0.0/3"
	var pkgs []simib.Package
	for i := range 60 {
		pkgs = append(pkgs, simib.Package{Name: fmt.Sprintf("pkg-%02d", i), Version: fmt.Sprintf("1.%d-1.amzn2023", i)})
	}
	e.sim.ImageBuilder().PutImage(arn, amiA, pkgs)
	e.sim.ImageBuilder().Throttle(2)
	src, err := NewImageBuilderSource("ib", e.ib, "", drift.FormatRPM, Options{CacheTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	ami := collectors.AMIInfo{ID: amiA, Tags: map[string]string{"Ec2ImageBuilderArn": arn}}
	m, r, err := src.Resolve(ctx, ami)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Packages) != 60 || !m.NameVersionOnly || m.Provenance["image_build_version_arn"] != arn || !strings.Contains(m.Provenance["content"], "name and version only") {
		t.Errorf("manifest: %d packages, nvo %v, provenance %v", len(m.Packages), m.NameVersionOnly, m.Provenance)
	}
	if !strings.HasPrefix(r.Version, "1.0.0/3/") || r.Where != "imagebuilder:"+arn {
		t.Errorf("resolution %+v", r)
	}
	// 3 pages (25+25+10) plus 2 throttled attempts retried by the client.
	if got := e.count("imagebuilder:ListImagePackages"); got != 5 {
		t.Errorf("ListImagePackages calls = %d, want 5 (3 pages + 2 retried 429s)", got)
	}
	// A build version never changes: no call even after the TTL.
	e.resetCalls()
	if m2, _, err := src.Resolve(ctx, ami); err != nil || m2 != m || len(e.calls) != 0 {
		t.Errorf("second resolution: err %v same %v calls %v", err, m2 == m, e.calls)
	}

	// Without the retry wiring the SDK gives up on the first 429.
	plain := imagebuilder.NewFromConfig(e.cfg)
	bare, _ := NewImageBuilderSource("ib-plain", plain, "", "", Options{})
	e.sim.ImageBuilder().Throttle(1)
	_, _, err = bare.Resolve(ctx, ami)
	if err == nil || !strings.Contains(err.Error(), "imagebuilder:"+arn+" (ListImagePackages page 1): CallRateLimitExceededException") {
		t.Errorf("plain client: %v", err)
	}
	// An error is cached for the TTL, then retried.
	clk := newClock()
	cached, _ := NewImageBuilderSource("ib-ttl", e.ib, "", "", Options{CacheTTL: time.Minute, Now: clk.now})
	gone := collectors.AMIInfo{ID: amiB, Tags: map[string]string{"Ec2ImageBuilderArn": arn + "0"}}
	e.resetCalls()
	for range 2 {
		if _, _, err := cached.Resolve(ctx, gone); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("unknown build: %v", err)
		}
	}
	clk.advance(2 * time.Minute)
	_, _, _ = cached.Resolve(ctx, gone)
	if got := e.count("imagebuilder:ListImagePackages"); got != 2 {
		t.Errorf("ListImagePackages calls for a failing build = %d, want 2 (one per TTL)", got)
	}
	// No tag: a miss.
	if _, _, err := src.Resolve(ctx, collectors.AMIInfo{ID: amiB}); !errors.Is(err, collectors.ErrNoManifest) {
		t.Errorf("untagged AMI: %v", err)
	}
}

func TestChainOrderAndExplanations(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiA, "from-s3=1-1")))
	e.putParameter("/golden/"+amiA+"/manifest", nativeYAML(amiA, "from-ssm=1-1"))
	e.putParameter("/golden/"+amiB+"/manifest", nativeYAML(amiB, "from-ssm=1-1"))
	s3src, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{})
	ssmsrc, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{})
	chain := &collectors.Chain{Sources: []collectors.BaselineSource{s3src, ssmsrc}}

	m, r, err := chain.Resolve(ctx, collectors.AMIInfo{ID: amiA})
	if err != nil || r.Source != "s3" || pkgsOf(m) != "from-s3=1-1" || len(r.Tried) != 0 {
		t.Errorf("first source must answer: %v %+v", err, r)
	}
	e.resetCalls()
	m, r, err = chain.Resolve(ctx, collectors.AMIInfo{ID: amiB})
	if err != nil || r.Source != "params" || pkgsOf(m) != "from-ssm=1-1" {
		t.Fatalf("second source must answer: %v %+v", err, r)
	}
	if len(r.Tried) != 1 || r.Tried[0].Source != "s3" || !r.Tried[0].Missing || !strings.Contains(r.Tried[0].Reason, amiB) {
		t.Errorf("tried: %+v", r.Tried)
	}
	if e.count("s3:GetObject") != 0 {
		t.Errorf("no object to GET for %s: %v", amiB, e.calls)
	}
	// Nothing anywhere: every source and why.
	ami := "ami-0ccccccccccccccc3"
	_, r, err = chain.Resolve(ctx, collectors.AMIInfo{ID: ami})
	if err == nil || len(r.Tried) != 2 {
		t.Fatalf("no baseline: %v %+v", err, r)
	}
	want := "no baseline for ami-0ccccccccccccccc3 (s3: no manifest: no s3://golden-images/m/ami-0ccccccccccccccc3.{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json}; params: no manifest: ssm:/golden/ami-0ccccccccccccccc3/manifest: ParameterNotFound)"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestIdleEntriesEvicted(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	clk := newClock()
	for _, a := range []string{amiA, amiB} {
		e.sim.S3().PutObject(bucket, "m/"+a+".yaml", []byte(nativeYAML(a, "bash=5.2.15-1.amzn2023")))
	}
	src, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{CacheTTL: 48 * time.Hour, Now: clk.now})
	for _, a := range []string{amiA, amiB} {
		if _, _, err := src.Resolve(ctx, collectors.AMIInfo{ID: a}); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(12 * time.Hour)
	src.Resolve(ctx, collectors.AMIInfo{ID: amiB}) // B stays in use
	clk.advance(13 * time.Hour)
	e.resetCalls()
	src.Resolve(ctx, collectors.AMIInfo{ID: amiB})
	if n := src.cache.size(); n != 1 || len(e.calls) != 0 {
		t.Errorf("after A idle 25h: %d entries cached, calls %v (want 1, none)", n, e.calls)
	}
	if _, _, err := src.Resolve(ctx, collectors.AMIInfo{ID: amiA}); err != nil || e.count("s3:ListObjectsV2") != 1 {
		t.Errorf("evicted AMI resolves cold again: %v, calls %v", err, e.calls)
	}
}
