package awssim

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// BenchmarkListInventoryEntriesPages measures ListInventoryEntries pages
// (50 entries each) served to real SDK clients over loopback. pages/s is the
// figure to compare with the 5,000 pages/s target.
func BenchmarkListInventoryEntriesPages(b *testing.B) {
	e := newEnv(b, Options{CallLogLimit: 1000}, GenerateFleet(200, 1000, 4, 1))
	ids := e.sim.GroupMembers("fleet-00")
	b.ReportAllocs()
	b.ResetTimer()
	var pages atomic.Int64
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := int(pages.Add(1))
		var tok *string
		id := ids[i%len(ids)]
		for pb.Next() {
			out, err := e.ssm.ListInventoryEntries(e.ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id),
				TypeName: aws.String(TypeApplication), MaxResults: aws.Int32(50), NextToken: tok})
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
	b.ReportMetric(n/(cpuTime()-cpu0).Seconds(), "pages/cpu-s")
}

// cpuTime is the process's user+system CPU time: with other work competing
// for the machine, pages per CPU-second is the stable capacity figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkListInventoryEntriesServer measures the simulator alone (handler
// called in-process, no SDK, no network): its ceiling for the same pages.
func BenchmarkListInventoryEntriesServer(b *testing.B) {
	s := New(Options{Clock: NewManualClock(t0), CallLogLimit: 1000})
	if err := s.LoadScenario(GenerateFleet(200, 1000, 4, 1)); err != nil {
		b.Fatal(err)
	}
	id := s.GroupMembers("fleet-00")[1]
	body := `{"InstanceId":"` + id + `","TypeName":"AWS:Application","MaxResults":50}`
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "pages/cpu-s") }()
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

// TestLargeFleetMemory checks that 10,000 instances × 1,000 packages fit
// comfortably: inventory is shared per AMI, instances hold only overlays.
func TestLargeFleetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-instance fleet; skipped with -short")
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := New(Options{Clock: NewManualClock(t0)})
	if err := s.LoadScenario(GenerateFleet(10000, 1000, 10, 1)); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("10,000 instances × 1,000 packages on 10 AMIs: %.1f MiB heap", float64(used)/(1<<20))
	if used > 256<<20 {
		t.Fatalf("fleet uses %d MiB, want < 256 MiB", used>>20)
	}
	if sm := s.Summary(); sm.Instances != 10000 || sm.Drifted != 100 {
		t.Fatalf("summary %+v", sm)
	}
	runtime.KeepAlive(s)
}
