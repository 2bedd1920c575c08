package ssm_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// BenchmarkListInventoryEntriesPages measures ListInventoryEntries pages
// (50 entries each) served to real SDK clients over loopback. pages/s is the
// figure to compare with the 5,000 pages/s target.
func BenchmarkListInventoryEntriesPages(b *testing.B) {
	e := simtest.New(b, awssim.Options{CallLogLimit: 1000}, awssim.GenerateFleet(200, 1000, 4, 1))
	ids := e.Sim.GroupMembers("fleet-00")
	b.ReportAllocs()
	b.ResetTimer()
	var pages atomic.Int64
	start, cpu0 := time.Now(), simtest.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		i := int(pages.Add(1))
		var tok *string
		id := ids[i%len(ids)]
		for pb.Next() {
			out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id),
				TypeName: aws.String(awssim.TypeApplication), MaxResults: aws.Int32(50), NextToken: tok})
			if err != nil {
				b.Error(err)
				return
			}
			if len(out.Entries) == 0 {
				b.Error("empty page")
				return
			}
			tok = out.NextToken
			if tok == nil {
				i++
				id = ids[i%len(ids)]
			}
			pages.Add(1)
		}
	})
	n := float64(pages.Load())
	b.ReportMetric(n/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric(n/(simtest.CPUTime()-cpu0).Seconds(), "pages/cpu-s")
}

// BenchmarkListInventoryEntriesServer measures the simulator alone (handler
// called in-process, no SDK, no network): its ceiling for the same pages.
func BenchmarkListInventoryEntriesServer(b *testing.B) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0), CallLogLimit: 1000})
	if err := s.LoadScenario(awssim.GenerateFleet(200, 1000, 4, 1)); err != nil {
		b.Fatal(err)
	}
	id := s.GroupMembers("fleet-00")[1]
	body := `{"InstanceId":"` + id + `","TypeName":"AWS:Application","MaxResults":50}`
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := simtest.CPUTime()
	defer func() { b.ReportMetric(float64(b.N)/(simtest.CPUTime()-cpu0).Seconds(), "pages/cpu-s") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", "AmazonSSM.ListInventoryEntries")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Body.String())
			}
		}
	})
}
