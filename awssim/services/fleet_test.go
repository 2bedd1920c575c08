package services

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// fleetSource renders Resource Data Sync AWS:Application objects for n
// instances on demand, as the simulator does for its fleet.
type fleetSource struct {
	prefix string // e.g. "AWS:Application/accountid=.../resourcetype=ManagedInstanceInventory/"
	n      int
	lines  int
	mod    time.Time

	mu    sync.Mutex
	stats map[int]ObjectInfo
	opens int
	lists int
}

const rdsPrefix = "AWS:Application/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/"

func newFleetSource(n, lines int) *fleetSource {
	return &fleetSource{prefix: rdsPrefix, n: n, lines: lines, mod: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), stats: map[int]ObjectInfo{}}
}

func (f *fleetSource) key(i int) string { return fmt.Sprintf("%si-%017x.json", f.prefix, i) }

func (f *fleetSource) index(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, f.prefix)
	if !ok {
		return 0, false
	}
	var i int
	if _, err := fmt.Sscanf(rest, "i-%017x.json", &i); err != nil || f.key(i) != key || i >= f.n {
		return 0, false
	}
	return i, true
}

func (f *fleetSource) render(i int) []byte {
	var b bytes.Buffer
	for l := 0; l < f.lines; l++ {
		fmt.Fprintf(&b, `{"name":"pkg-%04d","version":"1.%d.%d","release":"1.amzn2023","architecture":"x86_64","resourceId":"i-%017x","captureTime":"2026-01-02T03:04:05Z","schemaVersion":"1.0"}`+"\n", l, l%7, i%5, i)
	}
	return b.Bytes()
}

func (f *fleetSource) info(i int) ObjectInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := f.stats[i]; ok {
		return in
	}
	data := f.render(i)
	sum := md5.Sum(data)
	in := ObjectInfo{Key: f.key(i), Size: int64(len(data)), ETag: hex.EncodeToString(sum[:]), LastModified: f.mod, ContentType: "application/json", ChecksumCRC32: ChecksumCRC32Of(data)}
	f.stats[i] = in
	return in
}

func (f *fleetSource) List(prefix, after string, limit int) ([]ObjectInfo, error) {
	f.mu.Lock()
	f.lists++
	f.mu.Unlock()
	// keys are in index order (fixed-width hex)
	start := sort.Search(f.n, func(i int) bool { return f.key(i) > after })
	var out []ObjectInfo
	for i := start; i < f.n && len(out) < limit; i++ {
		k := f.key(i)
		if !strings.HasPrefix(k, prefix) {
			if k > prefix {
				break
			}
			continue
		}
		out = append(out, f.info(i))
	}
	return out, nil
}

func (f *fleetSource) Stat(key string) (ObjectInfo, bool, error) {
	i, ok := f.index(key)
	if !ok {
		return ObjectInfo{}, false, nil
	}
	return f.info(i), true, nil
}

func (f *fleetSource) Open(key string) (io.ReadCloser, error) {
	i, ok := f.index(key)
	if !ok {
		return nil, fmt.Errorf("no object %q", key)
	}
	f.mu.Lock()
	f.opens++
	f.mu.Unlock()
	return io.NopCloser(bytes.NewReader(f.render(i))), nil
}
