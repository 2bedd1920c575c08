package s3_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

// sliceSource is an ObjectSource over a fixed sorted key list.
type sliceSource struct{ keys []string }

func (s *sliceSource) List(prefix, after string, limit int) ([]sims3.ObjectInfo, error) {
	i := sort.SearchStrings(s.keys, prefix)
	j := sort.Search(len(s.keys), func(k int) bool { return s.keys[k] > after })
	if j > i {
		i = j
	}
	var out []sims3.ObjectInfo
	for ; i < len(s.keys) && len(out) < limit && strings.HasPrefix(s.keys[i], prefix); i++ {
		out = append(out, sims3.ObjectInfo{Key: s.keys[i], Size: int64(len(s.keys[i])), ETag: sims3.ETagOf([]byte(s.keys[i]))})
	}
	return out, nil
}

func (s *sliceSource) Stat(key string) (sims3.ObjectInfo, bool, error) {
	i := sort.SearchStrings(s.keys, key)
	if i < len(s.keys) && s.keys[i] == key {
		return sims3.ObjectInfo{Key: key, Size: int64(len(key)), ETag: sims3.ETagOf([]byte(key))}, true, nil
	}
	return sims3.ObjectInfo{}, false, nil
}

func (s *sliceSource) Open(key string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(key)), nil
}

type listResult struct {
	Contents []struct {
		Key  string
		Size int64
	}
	CommonPrefixes []struct{ Prefix string }
	KeyCount       int
	IsTruncated    bool
	NextToken      string `xml:"NextContinuationToken"`
}

// referenceList computes one complete listing (all pages joined) the slow
// and obvious way.
func referenceList(keys []string, prefix, delim, startAfter string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= startAfter {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					out = append(out, "P:"+cp)
				}
				continue
			}
		}
		out = append(out, "K:"+k)
	}
	return out
}

// TestS3ListMatchesReference lists random mixes of stored keys and nested
// virtual mounts with random prefixes, delimiters, start-after and page
// sizes, and compares the joined pages with a reference listing.
func TestS3ListMatchesReference(t *testing.T) {
	alphabet := []string{"a", "b", "/", ":", "=", "ab", "b/"}
	randKey := func(r *rand.Rand, prefix string) string {
		var b strings.Builder
		b.WriteString(prefix)
		for n := 1 + r.IntN(5); n > 0; n-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for seed := uint64(1); seed <= 150; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		svc := awssim.New(awssim.Options{Clock: awssim.ClockFunc(func() time.Time { return time.Unix(0, 0) })})
		svc.S3().CreateBucket("b")
		mounts := []string{"a/", "a/b/", "b:"}[:1+r.IntN(3)]
		visible := map[string]bool{}
		owner := func(k string) string { // longest mount prefix of k
			best := ""
			for _, m := range mounts {
				if strings.HasPrefix(k, m) && len(m) > len(best) {
					best = m
				}
			}
			return best
		}
		for _, m := range mounts {
			set := map[string]bool{}
			for n := r.IntN(40); n > 0; n-- {
				set[randKey(r, m)] = true
			}
			var keys []string
			for k := range set {
				keys = append(keys, k)
				if owner(k) == m {
					visible[k] = true
				}
			}
			sort.Strings(keys)
			svc.S3().SetObjectSource("b", m, &sliceSource{keys: keys})
		}
		for n := r.IntN(40); n > 0; n-- {
			k := randKey(r, []string{"", "a/", "a/b/", "b:"}[r.IntN(4)])
			svc.S3().PutObject("b", k, []byte("stored"))
			visible[k] = true
		}
		var all []string
		for k := range visible {
			all = append(all, k)
		}
		sort.Strings(all)
		rt := &simtest.Router{H: svc}
		for q := 0; q < 6; q++ {
			prefix := []string{"", "a", "a/", "a/b/", "b", "b:a"}[r.IntN(6)]
			delim := []string{"", "/", ":", "b/"}[r.IntN(4)]
			startAfter := ""
			if r.IntN(3) == 0 && len(all) > 0 {
				startAfter = all[r.IntN(len(all))]
			}
			maxKeys := 1 + r.IntN(7)
			want := referenceList(all, prefix, delim, startAfter)
			var got []string
			token := ""
			for page := 0; page < 200; page++ {
				v := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {fmt.Sprint(maxKeys)}}
				if delim != "" {
					v.Set("delimiter", delim)
				}
				if startAfter != "" {
					v.Set("start-after", startAfter)
				}
				if token != "" {
					v.Set("continuation-token", token)
				}
				w := httptest.NewRecorder()
				rt.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:9/b?"+v.Encode(), nil))
				if w.Code != 200 {
					t.Fatalf("seed %d: %d %s", seed, w.Code, w.Body.String())
				}
				var res listResult
				if err := xml.NewDecoder(bytes.NewReader(w.Body.Bytes())).Decode(&res); err != nil {
					t.Fatal(err)
				}
				if res.KeyCount != len(res.Contents)+len(res.CommonPrefixes) || res.KeyCount > maxKeys {
					t.Fatalf("seed %d: KeyCount %d for %d+%d (max %d)", seed, res.KeyCount, len(res.Contents), len(res.CommonPrefixes), maxKeys)
				}
				// S3 returns contents and prefixes as two sorted lists;
				// merge them back into listing order.
				var pageItems []string
				for _, c := range res.Contents {
					pageItems = append(pageItems, "K:"+c.Key)
					if want := int64(len(c.Key)); !visibleStored(svc, c.Key) && c.Size != want {
						t.Fatalf("seed %d: %s size %d", seed, c.Key, c.Size)
					}
				}
				for _, p := range res.CommonPrefixes {
					pageItems = append(pageItems, "P:"+p.Prefix)
				}
				sort.Slice(pageItems, func(i, j int) bool { return pageItems[i][2:] < pageItems[j][2:] })
				got = append(got, pageItems...)
				if !res.IsTruncated {
					break
				}
				if res.NextToken == "" {
					t.Fatalf("seed %d: truncated page without a token", seed)
				}
				token = res.NextToken
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("seed %d prefix %q delim %q start-after %q max %d:\ngot  %q\nwant %q", seed, prefix, delim, startAfter, maxKeys, got, want)
			}
		}
	}
}

func visibleStored(svc *awssim.Sim, key string) bool {
	_, ok := svc.S3().Object("b", key)
	return ok
}
