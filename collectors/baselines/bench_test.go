package baselines

import (
	"testing"
	"time"

	"github.com/driftd/driftd/collectors"
)

// BenchmarkS3ResolveCached is the per-scan cost of an AMI whose baseline is
// cached (within the TTL): no API call.
func BenchmarkS3ResolveCached(b *testing.B) {
	e := newEnv(b)
	ctx := testCtx(b)
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiA, "bash=5.2.15-1.amzn2023", "openssl=3.0.8-1.amzn2023")))
	src, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{CacheTTL: time.Hour})
	ami := collectors.AMIInfo{ID: amiA}
	if _, _, err := src.Resolve(ctx, ami); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := src.Resolve(ctx, ami); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkS3Revalidate is the cost after the TTL of an unchanged object:
// one conditional GET answered 304 over loopback HTTP.
func BenchmarkS3Revalidate(b *testing.B) {
	e := newEnv(b)
	ctx := testCtx(b)
	e.sim.S3().PutObject(bucket, "m/"+amiA+".yaml", []byte(nativeYAML(amiA, "bash=5.2.15-1.amzn2023", "openssl=3.0.8-1.amzn2023")))
	clk := newClock()
	src, _ := NewS3Source("s3", e.s3, "s3://"+bucket+"/m/", "", Options{CacheTTL: time.Minute, Now: clk.now})
	ami := collectors.AMIInfo{ID: amiA}
	if _, _, err := src.Resolve(ctx, ami); err != nil {
		b.Fatal(err)
	}
	e.resetCalls()
	b.ReportAllocs()
	for b.Loop() {
		clk.advance(2 * time.Minute)
		if _, _, err := src.Resolve(ctx, ami); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if e.count("s3:GetObject") == 0 || len(e.calls) != 1 {
		b.Fatalf("calls: %v", e.calls)
	}
}
