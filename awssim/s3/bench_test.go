package s3_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

// BenchmarkListObjectsV2VirtualPrefix lists a 10,000-key virtual prefix
// (Resource Data Sync layout) through the SDK paginator: 10 pages of 1,000
// keys per iteration.
func BenchmarkListObjectsV2VirtualPrefix(b *testing.B) {
	e := simtest.NewServices(b, awssim.Options{})
	fleet := simtest.NewFleetSource(10000, 1)
	e.Sim.S3().SetObjectSource("rds", simtest.RDSPrefix, fleet)
	for i := 0; i < 10000; i++ {
		fleet.Info(i) // warm the source's metadata cache; listing cost is the simulator's
	}
	cx := context.Background()
	pages := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p := s3.NewListObjectsV2Paginator(e.S3, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String(simtest.RDSPrefix)})
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
	e := simtest.NewServices(b, awssim.Options{})
	fleet := simtest.NewFleetSource(10, 1000)
	e.Sim.S3().SetObjectSource("rds", simtest.RDSPrefix, fleet)
	key := fleet.Key(3)
	size := fleet.Info(3).Size
	cx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(key)})
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
	svc := awssim.New(awssim.Options{})
	fleet := simtest.NewFleetSource(10000, 1)
	// A source with precomputed metadata, so the figure is the simulator's
	// own cost (merge, paging, XML) rather than the test fleet's.
	src := &infoSource{}
	for i := 0; i < 10000; i++ {
		src.infos = append(src.infos, fleet.Info(i))
	}
	svc.S3().SetObjectSource("rds", simtest.RDSPrefix, src)
	rt := &simtest.Router{H: svc}
	after := []string{""}
	for i := 1; i < 10; i++ {
		after = append(after, "&continuation-token="+sims3.EncodeToken(fleet.Key(i*1000-1)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", "http://127.0.0.1:9/rds?list-type=2&prefix="+url.QueryEscape(simtest.RDSPrefix)+after[i%10], nil)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.Len() < 100000 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
}

// infoSource lists precomputed, sorted object metadata.
type infoSource struct{ infos []sims3.ObjectInfo }

func (s *infoSource) List(prefix, after string, limit int) ([]sims3.ObjectInfo, error) {
	i := sort.Search(len(s.infos), func(k int) bool { return s.infos[k].Key > after && s.infos[k].Key >= prefix })
	var out []sims3.ObjectInfo
	for ; i < len(s.infos) && len(out) < limit && strings.HasPrefix(s.infos[i].Key, prefix); i++ {
		out = append(out, s.infos[i])
	}
	return out, nil
}

func (s *infoSource) Stat(key string) (sims3.ObjectInfo, bool, error) {
	i := sort.Search(len(s.infos), func(k int) bool { return s.infos[k].Key >= key })
	if i < len(s.infos) && s.infos[i].Key == key {
		return s.infos[i], true, nil
	}
	return sims3.ObjectInfo{}, false, nil
}

func (s *infoSource) Open(key string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("infoSource has no content")
}
