package services

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkListObjectsV2VirtualPrefix lists a 10,000-key virtual prefix
// (Resource Data Sync layout) through the SDK paginator: 10 pages of 1,000
// keys per iteration.
func BenchmarkListObjectsV2VirtualPrefix(b *testing.B) {
	e := newEnv(b, Options{})
	fleet := newFleetSource(10000, 1)
	e.svc.SetObjectSource("rds", rdsPrefix, fleet)
	for i := 0; i < 10000; i++ {
		fleet.info(i) // warm the source's metadata cache; listing cost is the simulator's
	}
	cx := context.Background()
	pages := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String(rdsPrefix)})
		keys := 0
		for p.HasMorePages() {
			out, err := p.NextPage(cx)
			if err != nil {
				b.Fatal(err)
			}
			keys += len(out.Contents)
			pages++
		}
		if keys != 10000 {
			b.Fatalf("listed %d keys", keys)
		}
	}
	b.ReportMetric(float64(pages)/time.Since(start).Seconds(), "pages/s")
}

// BenchmarkGetObjectRendered reads a virtual 1,000-line JSON-lines object
// (rendered on each request) through the SDK.
func BenchmarkGetObjectRendered(b *testing.B) {
	e := newEnv(b, Options{})
	fleet := newFleetSource(10, 1000)
	e.svc.SetObjectSource("rds", rdsPrefix, fleet)
	key := fleet.key(3)
	size := fleet.info(3).Size
	cx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.s3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(key)})
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, out.Body)
		out.Body.Close()
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
	}
}

// BenchmarkListObjectsV2ServerOnly measures the simulator's side of a
// 1,000-key page over the 10,000-key virtual prefix (no network, no SDK
// decoding).
func BenchmarkListObjectsV2ServerOnly(b *testing.B) {
	svc := New(Options{})
	fleet := newFleetSource(10000, 1)
	svc.SetObjectSource("rds", rdsPrefix, fleet)
	for i := 0; i < 10000; i++ {
		fleet.info(i)
	}
	rt := &router{handlers: svc.Handlers()}
	after := []string{""}
	for i := 1; i < 10; i++ {
		after = append(after, "&continuation-token="+encodeToken(fleet.key(i*1000-1)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", "http://127.0.0.1:9/rds?list-type=2&prefix="+url.QueryEscape(rdsPrefix)+after[i%10], nil)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.Len() < 100000 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
}
