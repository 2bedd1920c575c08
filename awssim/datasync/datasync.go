// Package datasync renders SSM Resource Data Sync output for the simulated
// fleet as virtual S3 objects (see DataSync).
package datasync

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/s3"
	"github.com/driftd/driftd/awssim/wire"
)

// DataSync renders SSM Resource Data Sync output for the simulated fleet as
// virtual S3 objects: one JSON-lines object per managed node and inventory
// type under
//
//	<prefix>/<TypeName>/accountid=<id>/region=<region>/resourcetype=ManagedInstanceInventory/<instance-id>.json
//
// Each line is one inventory entry: the type's attributes plus resourceId,
// captureTime and schemaVersion. Objects are rendered on demand and never
// stored; the content shared by every instance of an AMI is rendered once per
// AMI, so serving a large fleet costs little more than copying bytes. The
// ETag is a hash of the object's content identity (the rendering of the type
// content, instance, capture time, schema version): it changes whenever the
// rendered bytes change.
//
// A watcher compares each node's content every Interval and sends the
// bucket's S3 event notifications (ObjectCreated:Put, see
// (*s3.Service).SetBucketNotification) for objects that changed or appeared, as
// Resource Data Sync overwrites an object on every inventory upload.
type DataSync struct {
	f      *fleet.Fleet
	store  Store
	bucket string
	prefix string // "" or ending in "/"

	mu     sync.Mutex
	shared map[*fleet.TypeData]*renderedType // by content pointer (AMI content is shared)
	own    map[string]ownRender              // per instance|type for overlay content

	watchMu  sync.Mutex
	seen     map[string]syncFingerprint
	stop     chan struct{}
	done     chan struct{}
	interval time.Duration
}

type ownRender struct {
	td *fleet.TypeData
	r  *renderedType
}

// renderedType is a type's entries rendered as JSON object prefixes: each
// line is `{"A":"x","B":"y",` (or `{` when the entry is empty); a per-object
// suffix `"resourceId":...}\n` completes it.
type renderedType struct {
	lines [][]byte
	total int64
	// id identifies the content: every rendering of new content gets a new
	// one (the ETag hashes it with the per-object suffix).
	id uint64
}

type syncFingerprint struct {
	td      *fleet.TypeData
	capture time.Time
}

// Store is the S3 the objects are served from: it mounts the sync as the
// source of a bucket's prefix and sends the bucket's event notifications.
type Store interface {
	SetObjectSource(bucket, prefix string, src s3.ObjectSource)
	NotifyObjectChanged(bucket, key string) error
}

// Key returns the key of an instance's object for a type in a fleet's sync
// under prefix.
func Key(o fleet.Options, prefix, typeName, instanceID string) string {
	return dataSyncDir(normPrefix(prefix), typeName, o.AccountID, o.Region) + instanceID + ".json"
}

func normPrefix(p string) string {
	p = strings.TrimPrefix(p, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func dataSyncDir(prefix, typeName, account, region string) string {
	return prefix + typeName + "/accountid=" + account + "/region=" + region + "/resourcetype=ManagedInstanceInventory/"
}

// Enable makes bucket (created if needed) of store hold Resource Data Sync
// objects for fleet f under prefix, rendered on demand, and starts the
// change watcher (default interval 200ms). Close the returned DataSync to
// stop the watcher.
func Enable(f *fleet.Fleet, store Store, bucket, prefix string) *DataSync {
	d := &DataSync{f: f, store: store, bucket: bucket, prefix: normPrefix(prefix),
		shared: map[*fleet.TypeData]*renderedType{}, own: map[string]ownRender{},
		stop: make(chan struct{}), done: make(chan struct{}), interval: 200 * time.Millisecond}
	store.SetObjectSource(bucket, d.prefix, d)
	d.seen = d.fingerprints()
	go d.watch()
	return d
}

// SetInterval changes how often the watcher looks for changed inventory.
func (d *DataSync) SetInterval(iv time.Duration) {
	d.watchMu.Lock()
	d.interval = iv
	d.watchMu.Unlock()
}

// Close stops the change watcher; objects stay readable.
func (d *DataSync) Close() {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	<-d.done
}

func (d *DataSync) watch() {
	defer close(d.done)
	for {
		d.watchMu.Lock()
		iv := d.interval
		d.watchMu.Unlock()
		select {
		case <-d.stop:
			return
		case <-time.After(iv):
		}
		d.Sync()
	}
}

// Sync looks for objects whose content changed (or that appeared) since the
// last look and sends their S3 event notifications. It returns the changed
// keys. The watcher calls it periodically; tests may call it directly.
func (d *DataSync) Sync() []string {
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	cur := d.fingerprints()
	var changed []string
	for k, fp := range cur {
		if old, ok := d.seen[k]; !ok || old != fp {
			changed = append(changed, k)
		}
	}
	d.seen = cur
	sort.Strings(changed)
	for _, k := range changed {
		_ = d.store.NotifyObjectChanged(d.bucket, k)
	}
	return changed
}

// fingerprints maps every object key to its content identity.
func (d *DataSync) fingerprints() map[string]syncFingerprint {
	f := d.f
	now := d.f.Now()
	f.Advance(now)
	f.RLock()
	defer f.RUnlock()
	out := make(map[string]syncFingerprint, len(f.InstancesLocked())*4)
	for _, in := range f.InstancesLocked() {
		if !f.HasInventory(in, now) {
			continue
		}
		for _, t := range in.Types() {
			td := in.Effective(t)
			if td == nil {
				continue
			}
			out[d.key(t, in.ID)] = syncFingerprint{td: td, capture: f.TypeCaptureTime(in, t, now)}
		}
	}
	return out
}

func (d *DataSync) key(typeName, id string) string {
	return dataSyncDir(d.prefix, typeName, d.f.Options().AccountID, d.f.Options().Region) + id + ".json"
}

// ParseKey splits an object key into inventory type name and instance id;
// ok is false for a key that is not one of this sync's objects.
func (d *DataSync) ParseKey(key string) (typeName, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, d.prefix)
	if !ok {
		return "", "", false
	}
	typeName, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", false
	}
	mid := "accountid=" + d.f.Options().AccountID + "/region=" + d.f.Options().Region + "/resourcetype=ManagedInstanceInventory/"
	rest, ok = strings.CutPrefix(rest, mid)
	if !ok || strings.Contains(rest, "/") {
		return "", "", false
	}
	id, ok = strings.CutSuffix(rest, ".json")
	return typeName, id, ok && id != ""
}

// objectState is what an object is rendered from.
type objectState struct {
	key     string
	id      string
	td      *fleet.TypeData
	capture time.Time
}

// lookupLocked finds the content of (type, id); f.mu must be held.
func (d *DataSync) lookupLocked(typeName, id string, now time.Time) (objectState, bool) {
	f := d.f
	in := f.InstanceLocked(id)
	if in == nil || !f.HasInventory(in, now) {
		return objectState{}, false
	}
	td := in.Effective(typeName)
	if td == nil {
		return objectState{}, false
	}
	return objectState{key: d.key(typeName, id), id: id, td: td, capture: f.TypeCaptureTime(in, typeName, now)}, true
}

func (d *DataSync) rendered(st objectState) *renderedType {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.shared[st.td]; ok {
		return r
	}
	ok := st.key
	if o, hit := d.own[ok]; hit && o.td == st.td {
		return o.r
	}
	r := renderType(st.td)
	if d.isShared(st.td) {
		d.shared[st.td] = r
	} else {
		d.own[ok] = ownRender{td: st.td, r: r}
	}
	return r
}

// isShared reports whether td is an AMI's content (rendered once per AMI).
func (d *DataSync) isShared(td *fleet.TypeData) bool {
	f := d.f
	f.RLock()
	defer f.RUnlock()
	for _, a := range f.AMIsLocked() {
		if a.Inventory[td.TypeName] == td {
			return true
		}
	}
	return false
}

var renderSeq atomic.Uint64

func renderType(td *fleet.TypeData) *renderedType {
	r := &renderedType{lines: make([][]byte, len(td.Entries)), id: renderSeq.Add(1)}
	for i, e := range td.Entries {
		b, _ := json.Marshal(e) // sorted keys
		if len(e) == 0 {
			b = []byte("{")
		} else {
			b[len(b)-1] = ','
		}
		r.lines[i] = b
		r.total += int64(len(b))
	}
	return r
}

func suffix(st objectState) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `"resourceId":`...)
	b = wire.AppendJSONString(b, st.id)
	b = append(b, `,"captureTime":"`...)
	b = append(b, wire.CaptureTime(st.capture)...)
	b = append(b, `","schemaVersion":`...)
	b = wire.AppendJSONString(b, st.td.SchemaVersion)
	b = append(b, "}\n"...)
	return b
}

func (d *DataSync) info(st objectState) s3.ObjectInfo {
	sfx := suffix(st)
	var size int64
	// Sizes need the rendered line lengths; shared content is rendered once.
	r := d.rendered(st)
	size = r.total + int64(len(r.lines))*int64(len(sfx))
	// Content identity without hashing the content again: the rendering's id
	// (new content is rendered anew) plus the per-object suffix (instance,
	// capture time, schema version).
	h := md5.New()
	var idb [8]byte
	binary.BigEndian.PutUint64(idb[:], r.id)
	h.Write(idb[:])
	h.Write(sfx)
	return s3.ObjectInfo{Key: st.key, Size: size, ETag: `"` + hex.EncodeToString(h.Sum(nil)) + `"`,
		LastModified: st.capture, ContentType: "application/json"}
}

// types returns every inventory type name present in the fleet, sorted as
// their key directories sort.
func (d *DataSync) typesLocked() []string {
	f := d.f
	set := map[string]bool{}
	for _, a := range f.AMIsLocked() {
		for t := range a.Inventory {
			set[t] = true
		}
	}
	for _, in := range f.InstancesLocked() {
		for t, m := range in.ChangedTypes() {
			if m != nil {
				set[t] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]+"/" < out[j]+"/" })
	return out
}

// List implements s3.ObjectSource.
func (d *DataSync) List(prefix, after string, limit int) ([]s3.ObjectInfo, error) {
	f := d.f
	now := d.f.Now()
	f.Advance(now)
	var states []objectState
	f.RLock()
	ids := make([]string, 0, len(f.InstancesLocked()))
	for _, in := range f.InstancesLocked() {
		if f.HasInventory(in, now) {
			ids = append(ids, in.ID)
		}
	}
	sort.Strings(ids) // ids have equal length per prefix kind; ".json" keeps the order
	for _, t := range d.typesLocked() {
		if len(states) >= limit {
			break
		}
		dir := dataSyncDir(d.prefix, t, d.f.Options().AccountID, d.f.Options().Region)
		if !strings.HasPrefix(dir, prefix) && !strings.HasPrefix(prefix, dir) {
			continue
		}
		start := sort.Search(len(ids), func(i int) bool { return dir+ids[i]+".json" > after })
		for _, id := range ids[start:] {
			if len(states) >= limit {
				break
			}
			k := dir + id + ".json"
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if st, ok := d.lookupLocked(t, id, now); ok {
				states = append(states, st)
			}
		}
	}
	f.RUnlock()
	sort.Slice(states, func(i, j int) bool { return states[i].key < states[j].key })
	out := make([]s3.ObjectInfo, len(states))
	for i, st := range states {
		out[i] = d.info(st)
	}
	return out, nil
}

func (d *DataSync) state(key string) (objectState, bool) {
	t, id, ok := d.ParseKey(key)
	if !ok {
		return objectState{}, false
	}
	f := d.f
	now := d.f.Now()
	f.Advance(now)
	f.RLock()
	defer f.RUnlock()
	st, ok := d.lookupLocked(t, id, now)
	if ok && st.key != key {
		return objectState{}, false
	}
	return st, ok
}

// Stat implements s3.ObjectSource.
func (d *DataSync) Stat(key string) (s3.ObjectInfo, bool, error) {
	st, ok := d.state(key)
	if !ok {
		return s3.ObjectInfo{}, false, nil
	}
	return d.info(st), true, nil
}

// Open implements s3.ObjectSource.
func (d *DataSync) Open(key string) (io.ReadCloser, error) {
	_, rc, ok, err := d.OpenObject(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Errorf(404, "NoSuchKey", "The specified key does not exist.")
	}
	return rc, nil
}

// OpenObject implements s3.ObjectOpener: metadata and content come
// from one look at the fleet.
func (d *DataSync) OpenObject(key string) (s3.ObjectInfo, io.ReadCloser, bool, error) {
	st, ok := d.state(key)
	if !ok {
		return s3.ObjectInfo{}, nil, false, nil
	}
	info := d.info(st)
	return info, &linesReader{lines: d.rendered(st).lines, sfx: suffix(st)}, true, nil
}

// Content renders one object fully (tests and the benchmark's floor).
func (d *DataSync) Content(key string) ([]byte, bool) {
	_, rc, ok, _ := d.OpenObject(key)
	if !ok {
		return nil, false
	}
	b, _ := io.ReadAll(rc)
	return b, true
}

// linesReader streams rendered lines, each followed by the object suffix.
type linesReader struct {
	lines [][]byte
	sfx   []byte
	i     int
	off   int // offset within line i (past len(line) = within the suffix)
}

func (r *linesReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.i >= len(r.lines) {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		l := r.lines[r.i]
		if r.off < len(l) {
			c := copy(p[n:], l[r.off:])
			n += c
			r.off += c
			continue
		}
		so := r.off - len(l)
		c := copy(p[n:], r.sfx[so:])
		n += c
		r.off += c
		if r.off == len(l)+len(r.sfx) {
			r.i++
			r.off = 0
		}
	}
	return n, nil
}

func (r *linesReader) Close() error { return nil }
