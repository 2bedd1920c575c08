package baselines

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
)

// TestBadInputNoBaseline: every unusable document or failing read gives a
// clear error naming the source and the key, and the AMI's instances get
// no_baseline (never drifted).
func TestBadInputNoBaseline(t *testing.T) {
	good := nativeYAML(amiA, "bash=5.2.15-1.amzn2023")
	tests := []struct {
		name  string
		setup func(e *testEnv)
		src   func(e *testEnv) collectors.BaselineSource
		want  string // exact error of the chain
		miss  bool   // the source reports a miss (not counted as an error)
	}{
		{
			name: "s3 wrong AMI",
			setup: func(e *testEnv) {
				e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiB, "bash=1-1")))
			},
			src:  s3Src,
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.yaml (etag ETAG): ami_id: document describes ami-0bbbbbbbbbbbbbbb2, expected ami-0aaaaaaaaaaaaaaa1)",
		},
		{
			name:  "s3 empty object",
			setup: func(e *testEnv) { e.sim.S3().PutObject(bucket, "m/"+amiA+".json", nil) },
			src:   s3Src,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.json (etag ETAG): empty document)",
		},
		{
			name:  "s3 manifest without packages",
			setup: func(e *testEnv) { e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiA))) },
			src:   s3Src,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.yaml (etag ETAG): manifest lists no packages (empty or truncated baseline))",
		},
		{
			name: "s3 truncated JSON",
			setup: func(e *testEnv) {
				e.sim.S3().PutObject(bucket, "m/"+amiA+".json", []byte(`{"schema_version":1,"ami_id":"`+amiA+`","packages":[{"name":"bash","ver`))
			},
			src:  s3Src,
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.json (etag ETAG): invalid JSON: unexpected end of JSON input at byte 84)",
		},
		{
			name:  "s3 truncated YAML",
			setup: func(e *testEnv) { e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(good[:len(good)-30])) },
			src:   s3Src,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.yaml (etag ETAG): line 4: did not find expected ',' or '}')",
		},
		{
			name: "s3 access denied",
			setup: func(e *testEnv) {
				e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(good))
				e.sim.S3().SetAccessDenied(bucket, "m/", true)
			},
			src:  s3Src,
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1. (listing): AccessDenied: Access Denied)",
		},
		{
			name:  "s3 tag names a missing object",
			setup: func(e *testEnv) { e.sim.S3().CreateBucket(bucket) },
			src: func(e *testEnv) collectors.BaselineSource {
				s, _ := NewS3Source("s3", e.s3, "", "driftd:manifest", Options{})
				return s
			},
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/gone.yaml (AMI tag driftd:manifest): NoSuchKey: The specified key does not exist.)",
		},
		{
			name: "s3 timeout",
			setup: func(e *testEnv) {
				e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(good))
				e.setLatency("s3:GetObject", 20*time.Second)
			},
			src: func(e *testEnv) collectors.BaselineSource {
				s, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{Timeout: time.Second})
				return s
			},
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (s3: s3://golden-images/m/ami-0aaaaaaaaaaaaaaa1.yaml: timed out after 1s)",
		},
		{
			name: "ssm access denied",
			setup: func(e *testEnv) {
				e.putParameter("/golden/"+amiA+"/manifest", good)
				e.deny("/golden/" + amiA + "/manifest")
			},
			src:  ssmSrc,
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest: AccessDeniedException: User is not authorized to perform ssm:GetParameter on /golden/ami-0aaaaaaaaaaaaaaa1/manifest)",
		},
		{
			name:  "ssm parameter not found",
			setup: func(e *testEnv) {},
			src:   ssmSrc,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: no manifest: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest: ParameterNotFound)",
			miss:  true,
		},
		{
			name:  "ssm wrong AMI",
			setup: func(e *testEnv) { e.putParameter("/golden/"+amiA+"/manifest", nativeYAML(amiB, "bash=1-1")) },
			src:   ssmSrc,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest (version 1): ami_id: document describes ami-0bbbbbbbbbbbbbbb2, expected ami-0aaaaaaaaaaaaaaa1)",
		},
		{
			name:  "ssm blank value",
			setup: func(e *testEnv) { e.putParameter("/golden/"+amiA+"/manifest", "  \n") },
			src:   ssmSrc,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest (version 1): value is empty)",
		},
		{
			name:  "ssm truncated JSON",
			setup: func(e *testEnv) { e.putParameter("/golden/"+amiA+"/manifest", `{"schema_version":1,"ami_id":"`+amiA) },
			src:   ssmSrc,
			want:  "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest (version 1): invalid JSON: unexpected end of JSON input at byte 51)",
		},
		{
			name: "ssm points to a missing object",
			setup: func(e *testEnv) {
				e.sim.S3().CreateBucket(bucket)
				e.putParameter("/golden/"+amiA+"/manifest", "s3://"+bucket+"/nope.yaml")
			},
			src:  ssmSrc,
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest (version 1) -> s3://golden-images/nope.yaml: NoSuchKey: The specified key does not exist.)",
		},
		{
			name: "ssm timeout",
			setup: func(e *testEnv) {
				e.putParameter("/golden/"+amiA+"/manifest", good)
				e.setLatency("ssm:GetParameter", 20*time.Second)
			},
			src: func(e *testEnv) collectors.BaselineSource {
				s, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{Timeout: time.Second})
				return s
			},
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (params: ssm:/golden/ami-0aaaaaaaaaaaaaaa1/manifest: timed out after 1s)",
		},
		{
			name:  "image builder unknown build",
			setup: func(e *testEnv) {},
			src: func(e *testEnv) collectors.BaselineSource {
				s, _ := NewImageBuilderSource("ib", e.ib, "", "", Options{})
				return s
			},
			want: "no baseline for ami-0aaaaaaaaaaaaaaa1 (ib: imagebuilder:arn:aws:imagebuilder:us-east-1:123456789012:image/web/1.0.0/1 (ListImagePackages page 1): ResourceNotFoundException: The resource 'arn:aws:imagebuilder:us-east-1:123456789012:image/web/1.0.0/1' does not exist.)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			rec := &errRecorder{}
			src := tt.src(e)
			chain := &collectors.Chain{Sources: []collectors.BaselineSource{src}, Recorder: rec}
			ami := collectors.AMIInfo{ID: amiA, Tags: map[string]string{
				"driftd:manifest":    "s3://" + bucket + "/gone.yaml",
				"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/web/1.0.0/1",
			}}
			m, res, err := chain.Resolve(testCtx(t), ami)
			if m != nil || err == nil {
				t.Fatalf("manifest %v, err %v", m != nil, err)
			}
			got := err.Error()
			if i := strings.Index(got, "(etag "); i >= 0 {
				j := strings.Index(got[i:], ")")
				got = got[:i] + "(etag ETAG" + got[i+j:]
			}
			if got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
			if len(res.Tried) != 1 || res.Tried[0].Missing != tt.miss {
				t.Errorf("tried = %+v", res.Tried)
			}
			if wantErrs := map[bool]int{true: 0, false: 1}[tt.miss]; rec.get(src.Name()) != wantErrs {
				t.Errorf("baseline errors counted = %d, want %d", rec.get(src.Name()), wantErrs)
			}
			// The instances of the AMI are no_baseline, never drifted.
			snap := &drift.Snapshot{InstanceID: "i-1", AMI: amiA, CaptureTimes: map[string]time.Time{drift.TypeApplication: {}},
				Packages: []drift.Package{{Name: "bash", Version: "9"}}}
			snap.Normalize()
			if r := drift.Compare(m, snap, &drift.Policy{}); r.Verdict != drift.VerdictNoBaseline {
				t.Errorf("verdict = %s, want no_baseline", r.Verdict)
			}
		})
	}
}

func s3Src(e *testEnv) collectors.BaselineSource {
	s, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{})
	return s
}

func ssmSrc(e *testEnv) collectors.BaselineSource {
	s, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{})
	return s
}

// TestKeepPreviousGood: a new version that cannot be used keeps the last
// good manifest for the AMI, counts one baseline error and says so in the
// resolution; a fixed version is picked up again.
func TestKeepPreviousGood(t *testing.T) {
	tests := []struct {
		name  string
		src   func(e *testEnv, clk *clock, rec *errRecorder, log *zap.Logger) collectors.BaselineSource
		write func(e *testEnv, doc string)
	}{
		{"s3", func(e *testEnv, clk *clock, rec *errRecorder, log *zap.Logger) collectors.BaselineSource {
			s, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{CacheTTL: time.Minute, Now: clk.now, Recorder: rec, Logger: log})
			return s
		}, func(e *testEnv, doc string) { e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(doc)) }},
		{"ssm", func(e *testEnv, clk *clock, rec *errRecorder, log *zap.Logger) collectors.BaselineSource {
			s, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{CacheTTL: time.Minute, Now: clk.now, Recorder: rec, Logger: log})
			return s
		}, func(e *testEnv, doc string) { e.putParameter("/golden/"+amiA+"/manifest", doc) }},
		{"ssm->s3", func(e *testEnv, clk *clock, rec *errRecorder, log *zap.Logger) collectors.BaselineSource {
			s, _ := NewSSMSource("params", e.ssm, e.s3, "/golden/{ami_id}/manifest", false, Options{CacheTTL: time.Minute, Now: clk.now, Recorder: rec, Logger: log})
			e.putParameter("/golden/"+amiA+"/manifest", "s3://"+bucket+"/r/web.yaml")
			return s
		}, func(e *testEnv, doc string) { e.sim.S3().PutObject(bucket, "r/web.yaml", []byte(doc)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := testCtx(t)
			clk := newClock()
			rec := &errRecorder{}
			core, logs := observer.New(zap.WarnLevel)
			src := tt.src(e, clk, rec, zap.New(core))
			ami := collectors.AMIInfo{ID: amiA}
			tt.write(e, nativeYAML(amiA, "bash=5.2.15-1.amzn2023"))
			m1, r1, err := src.Resolve(ctx, ami)
			if err != nil {
				t.Fatal(err)
			}
			tt.write(e, `schema_version: 1
ami_id: `+amiA+`
packages:
  - {name: bash, version: "5.2.26"`) // truncated upload
			clk.advance(2 * time.Minute)
			m2, r2, err := src.Resolve(ctx, ami)
			if err != nil || m2 != m1 {
				t.Fatalf("bad new version must keep the previous manifest: err %v same %v", err, m2 == m1)
			}
			if r2.Version != r1.Version || !strings.Contains(r2.Where, "keeping version "+r1.Version) {
				t.Errorf("resolution after bad version: %+v", r2)
			}
			if rec.get(src.Name()) != 1 {
				t.Errorf("baseline errors = %d, want 1", rec.get(src.Name()))
			}
			if entries := logs.All(); len(entries) != 1 || entries[0].ContextMap()["source"] != src.Name() ||
				!strings.Contains(fmt.Sprint(entries[0].ContextMap()["where"]), "/") || entries[0].ContextMap()["kept_version"] != r1.Version {
				t.Errorf("log lines: %+v", entries)
			}
			// The bad version is not downloaded again while unchanged.
			e.resetCalls()
			clk.advance(2 * time.Minute)
			if m3, _, err := src.Resolve(ctx, ami); err != nil || m3 != m1 {
				t.Errorf("still keeping: err %v", err)
			}
			if rec.get(src.Name()) != 1 {
				t.Errorf("baseline errors = %d after an unchanged bad version, want 1", rec.get(src.Name()))
			}
			// Fixed: picked up.
			tt.write(e, nativeYAML(amiA, "bash=5.2.26-1.amzn2023"))
			clk.advance(2 * time.Minute)
			m4, r4, err := src.Resolve(ctx, ami)
			if err != nil || pkgsOf(m4) != "bash=5.2.26-1.amzn2023" || strings.Contains(r4.Where, "keeping") {
				t.Errorf("fixed version: err %v %s %+v", err, pkgsOf(m4), r4)
			}
		})
	}
}

// TestOlderNormalizationVersion: a manifest recorded with an older
// normalization version is re-normalised on load by every source and
// compares in_sync against an equivalent snapshot, so a driftd upgrade
// never makes the fleet drift overnight; a newer one is refused clearly.
func TestOlderNormalizationVersion(t *testing.T) {
	old := `schema_version: 1
ami_id: ` + amiA + `
normalization_version: 0
package_format: rpm
packages:
  - {name: bash, epoch: "0", version: "5.2.15", release: "1.amzn2023", arch: x86_64}
  - {name: " openssl-libs ", epoch: "1", version: "3.0.8", release: "1.amzn2023.0.12", arch: x86_64}
  - {name: tzdata, version: "2024a", release: "1.amzn2023.0.1", arch: noarch}
`
	e := newEnv(t)
	ctx := testCtx(t)
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(old))
	e.putParameter("/golden/"+amiA+"/manifest", old)
	snap := &drift.Snapshot{InstanceID: "i-1", AMI: amiA, CaptureTimes: map[string]time.Time{drift.TypeApplication: {}},
		Packages: drift.PackagesFromInventory([]map[string]string{
			{"Name": "bash", "Version": "5.2.15", "Release": "1.amzn2023", "Architecture": "x86_64", "Epoch": ""},
			{"Name": "openssl-libs", "Version": "3.0.8", "Release": "1.amzn2023.0.12", "Architecture": "x86_64", "Epoch": "1"},
			{"Name": "tzdata", "Version": "2024a", "Release": "1.amzn2023.0.1", "Architecture": "noarch"},
		}, drift.FormatRPM)}
	snap.Normalize()
	for _, src := range []collectors.BaselineSource{s3Src(e), ssmSrc(e)} {
		m, _, err := src.Resolve(ctx, collectors.AMIInfo{ID: amiA})
		if err != nil {
			t.Fatalf("%s: %v", src.Name(), err)
		}
		if m.NormalizationVersion != drift.NormalizationVersion {
			t.Errorf("%s: normalization_version %d after load, want %d", src.Name(), m.NormalizationVersion, drift.NormalizationVersion)
		}
		if r := drift.Compare(m, snap, &drift.Policy{}); r.Verdict != drift.VerdictInSync {
			t.Errorf("%s: verdict %s, findings %+v", src.Name(), r.Verdict, r.Findings)
		}
	}
	newer := strings.Replace(old, "normalization_version: 0", "normalization_version: 99", 1)
	e.sim.S3().PutObject(bucket, "m/"+amiB+".yaml", []byte(strings.ReplaceAll(newer, amiA, amiB)))
	_, _, err := s3Src(e).Resolve(ctx, collectors.AMIInfo{ID: amiB})
	if err == nil || errors.Is(err, collectors.ErrNoManifest) || !strings.Contains(err.Error(), "s3://golden-images/m/"+amiB+".yaml") ||
		!strings.Contains(err.Error(), fmt.Sprintf("normalization_version: 99 is newer than this driftd supports (%d)", drift.NormalizationVersion)) {
		t.Errorf("newer normalization version: %v", err)
	}
}
