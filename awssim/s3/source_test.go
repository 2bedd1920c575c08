package s3_test

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

// mutableFleet is a tiny fleet whose inventory changes, exposed through a
// RenderedSource.
type mutableFleet struct {
	mu      sync.Mutex
	gen     map[string]int // instance -> inventory generation
	renders int
}

func (f *mutableFleet) key(id string) string { return simtest.RDSPrefix + id + ".json" }

func (f *mutableFleet) source() *sims3.RenderedSource {
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	version := func(id string) sims3.VersionedKey {
		g := f.gen[id]
		return sims3.VersionedKey{Key: f.key(id), Version: fmt.Sprint(g), LastModified: mod.Add(time.Duration(g) * time.Minute)}
	}
	return sims3.NewRenderedSource(
		func(prefix, after string, limit int) ([]sims3.VersionedKey, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var keys []string
			for id := range f.gen {
				if k := f.key(id); strings.HasPrefix(k, prefix) && k > after {
					keys = append(keys, id)
				}
			}
			sort.Strings(keys)
			var out []sims3.VersionedKey
			for _, id := range keys {
				if len(out) == limit {
					break
				}
				out = append(out, version(id))
			}
			return out, nil
		},
		func(key string) (sims3.VersionedKey, bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := strings.TrimSuffix(strings.TrimPrefix(key, simtest.RDSPrefix), ".json")
			if _, ok := f.gen[id]; !ok {
				return sims3.VersionedKey{}, false, nil
			}
			return version(id), true, nil
		},
		func(key string) ([]byte, sims3.VersionedKey, bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := strings.TrimSuffix(strings.TrimPrefix(key, simtest.RDSPrefix), ".json")
			g, ok := f.gen[id]
			if !ok {
				return nil, sims3.VersionedKey{}, false, nil
			}
			f.renders++
			var b bytes.Buffer
			for i := 0; i <= g; i++ {
				fmt.Fprintf(&b, `{"name":"pkg%d","version":"1.%d","resourceId":"%s"}`+"\n", i, g, id)
			}
			return b.Bytes(), version(id), true, nil
		},
		"application/json",
	)
}

func TestRenderedSource(t *testing.T) {
	e := simtest.NewServices(t, awssim.Options{})
	cx := simtest.Ctx(t)
	f := &mutableFleet{gen: map[string]int{"i-01": 0, "i-02": 1, "i-03": 2}}
	e.Sim.S3().SetObjectSource("rds", simtest.RDSPrefix, f.source())

	read := func(id string) (string, string, int64) {
		t.Helper()
		out, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(f.key(id))})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(out.Body)
		out.Body.Close()
		return string(d), aws.ToString(out.ETag), aws.ToInt64(out.ContentLength)
	}
	list := func() map[string]string {
		t.Helper()
		out, err := e.S3.ListObjectsV2(cx, &s3.ListObjectsV2Input{Bucket: aws.String("rds"), Prefix: aws.String(simtest.RDSPrefix)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, o := range out.Contents {
			m[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
		return m
	}
	l1 := list()
	if len(l1) != 3 {
		t.Fatalf("listed %d objects", len(l1))
	}
	body, etag, n := read("i-02")
	if etag != sims3.ETagOf([]byte(body)) || n != int64(len(body)) || l1[f.key("i-02")] != etag {
		t.Errorf("GetObject etag %s len %d for %d bytes; listing said %s", etag, n, len(body), l1[f.key("i-02")])
	}
	rendersAfterFirst := f.renders
	list()
	if f.renders != rendersAfterFirst {
		t.Errorf("listing unchanged objects rendered %d times", f.renders-rendersAfterFirst)
	}
	// new inventory: listing and reads see the new version
	f.mu.Lock()
	f.gen["i-02"] = 5
	f.mu.Unlock()
	l2 := list()
	body2, etag2, _ := read("i-02")
	if etag2 == etag || etag2 != sims3.ETagOf([]byte(body2)) || l2[f.key("i-02")] != etag2 || l2[f.key("i-01")] != l1[f.key("i-01")] {
		t.Errorf("after the change: listing %s, get %s (before %s)", l2[f.key("i-02")], etag2, etag)
	}
	// conditional GET with the old ETag now returns the new content
	out, err := e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(f.key("i-02")), IfNoneMatch: aws.String(etag)})
	if err != nil {
		t.Fatalf("If-None-Match with a stale ETag: %v", err)
	}
	out.Body.Close()
	_, err = e.S3.GetObject(cx, &s3.GetObjectInput{Bucket: aws.String("rds"), Key: aws.String(f.key("i-02")), IfNoneMatch: aws.String(etag2)})
	simtest.AssertStatus(t, err, 304)
	head, err := e.S3.HeadObject(cx, &s3.HeadObjectInput{Bucket: aws.String("rds"), Key: aws.String(f.key("i-03"))})
	if err != nil || aws.ToString(head.ContentType) != "application/json" || aws.ToInt64(head.ContentLength) == 0 {
		t.Errorf("HeadObject: %+v %v", head, err)
	}
}
