package datasync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/scan"
)

// S3API is the subset of the S3 client the data-sync collector uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// ListPageSize is ListObjectsV2's maximum page size.
const ListPageSize = 1000

// Location is where the Resource Data Sync writes.
type Location struct {
	Bucket    string
	Prefix    string // without a trailing slash; "" for none
	AccountID string
	Region    string
}

// TypePrefix is the key prefix of every object of a type.
func (l Location) TypePrefix(typeName string) string {
	p := strings.Trim(l.Prefix, "/")
	if p != "" {
		p += "/"
	}
	return p + typeName + "/accountid=" + l.AccountID + "/region=" + l.Region + "/resourcetype=ManagedInstanceInventory/"
}

// Key is the object key of an instance's inventory of a type.
func (l Location) Key(typeName, instanceID string) string {
	return l.TypePrefix(typeName) + instanceID + ".json"
}

// ParseKey returns the type and instance of an object key ("", "" when the
// key is not a data-sync object of this location).
func (l Location) ParseKey(key string) (typeName, instanceID string) {
	p := strings.Trim(l.Prefix, "/")
	if p != "" {
		var ok bool
		if key, ok = strings.CutPrefix(key, p+"/"); !ok {
			return "", ""
		}
	}
	t, rest, ok := strings.Cut(key, "/")
	if !ok {
		return "", ""
	}
	id, ok := strings.CutPrefix(rest, "accountid="+l.AccountID+"/region="+l.Region+"/resourcetype=ManagedInstanceInventory/")
	if !ok {
		return "", ""
	}
	id, ok = strings.CutSuffix(id, ".json")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", ""
	}
	return t, id
}

// Collector reads inventory from Resource Data Sync objects. It remembers,
// per instance and type, the ETag and capture time of the last object read,
// so unchanged objects are never downloaded again. Safe for concurrent use.
type Collector struct {
	S3  S3API
	Loc Location

	*memory // shared by the collectors WithClient returns
}

// memory is what the collector remembers of the objects it read.
type memory struct {
	mu    sync.Mutex
	known map[string]*knownInstance
}

type knownObject struct {
	etag    string
	capture time.Time
	schema  string
}

type knownInstance struct {
	types map[string]knownObject
}

// New returns a collector.
func New(client S3API, loc Location) *Collector {
	return &Collector{S3: client, Loc: loc, memory: &memory{known: map[string]*knownInstance{}}}
}

// WithClient returns a collector of the same location that reads through
// client and shares c's memory of the objects read: a configuration reload
// hands the daemon new clients without making it download every unchanged
// object again.
func (c *Collector) WithClient(client S3API) *Collector {
	return &Collector{S3: client, Loc: c.Loc, memory: c.memory}
}

func (c *Collector) lookup(id, typeName string) (knownObject, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.known[id]
	if k == nil {
		return knownObject{}, false
	}
	o, ok := k.types[typeName]
	return o, ok
}

func (c *Collector) remember(id, typeName string, o knownObject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.known[id]
	if k == nil {
		k = &knownInstance{types: make(map[string]knownObject, 3)}
		c.known[id] = k
	}
	k.types[typeName] = o
}

func (c *Collector) forget(id, typeName string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.known[id]; k != nil {
		delete(k.types, typeName)
	}
}

// Known returns how many instances the collector remembers objects of.
func (c *Collector) Known() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.known)
}

// Stats describe one scan's S3 work. They are reported in the scan's
// result as they are (its API cost), so the type is the scan contract's.
type Stats = scan.DataSyncStats

// Scan is one scan's view: a listing taken once (lazily, on the first
// request) and the objects read. Create one per daemon scan.
type Scan struct {
	c          *Collector
	types      []string
	restricted bool

	once sync.Once
	// listErr holds, per type, why its listing failed (after the SDK's
	// retries); objects of such a type are asked for directly instead.
	listErr map[string]error
	index   map[string]map[string]objectRef // type → instance → object

	mu    sync.Mutex
	stats Stats
	seen  map[string]bool // instances listed (for pruning)
}

type objectRef struct {
	etag string
	size int64
}

// NewScan starts a scan of types. restricted scans (a few instances, e.g.
// after an S3 event) skip the listing and ask for each object directly with
// a conditional GET.
func (c *Collector) NewScan(types []string, restricted bool) *Scan {
	return &Scan{c: c, types: types, restricted: restricted,
		stats: Stats{Keys: map[string]int{}, ListPages: map[string]int{}, Listed: !restricted}}
}

// Stats returns the scan's counters so far.
func (s *Scan) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Keys, st.ListPages = map[string]int{}, map[string]int{}
	for k, v := range s.stats.Keys {
		st.Keys[k] = v
	}
	for k, v := range s.stats.ListPages {
		st.ListPages[k] = v
	}
	st.ListFailed = append([]string(nil), s.stats.ListFailed...)
	return st
}

// list lists every type once. A type whose listing fails does not blind the
// scan: its objects are then asked for directly, instance by instance.
func (s *Scan) list(ctx context.Context) {
	s.once.Do(func() {
		s.index = make(map[string]map[string]objectRef, len(s.types))
		s.listErr = map[string]error{}
		s.seen = map[string]bool{}
		for _, t := range s.types {
			m, err := s.listType(ctx, t)
			if err != nil {
				s.listErr[t] = err
				s.mu.Lock()
				s.stats.ListFailed = append(s.stats.ListFailed, t)
				s.mu.Unlock()
				continue
			}
			s.index[t] = m
		}
	})
}

func (s *Scan) listType(ctx context.Context, typeName string) (map[string]objectRef, error) {
	prefix := s.c.Loc.TypePrefix(typeName)
	m := map[string]objectRef{}
	p := s3.NewListObjectsV2Paginator(s.c.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.c.Loc.Bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(ListPageSize),
	})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 100000 {
			return nil, &collectors.InconsistentError{Msg: "ListObjectsV2 " + prefix + ": paging did not end"}
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing data sync objects s3://%s/%s: %w", s.c.Loc.Bucket, prefix, err)
		}
		s.mu.Lock()
		s.stats.ListPages[typeName]++
		s.stats.Keys[typeName] += len(out.Contents)
		s.mu.Unlock()
		for _, o := range out.Contents {
			id, ok := strings.CutPrefix(aws.ToString(o.Key), prefix)
			if !ok {
				continue
			}
			id, ok = strings.CutSuffix(id, ".json")
			if !ok || id == "" || strings.Contains(id, "/") {
				continue
			}
			m[id] = objectRef{etag: aws.ToString(o.ETag), size: aws.ToInt64(o.Size)}
			s.seen[id] = true
		}
	}
	return m, nil
}

// First returns what is known about an instance's type without reading
// unchanged content: an object whose ETag matches the last read returns the
// remembered capture time (Complete false: call Rest to read it); a changed
// or new object is downloaded and decoded now (Complete true). An instance
// without an object returns Present false.
func (s *Scan) First(ctx context.Context, instanceID, typeName string) (*collectors.TypeData, error) {
	td := &collectors.TypeData{TypeName: typeName}
	if s.restricted {
		return td, s.conditionalGet(ctx, instanceID, td)
	}
	s.list(ctx)
	if err := s.listErr[typeName]; err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		// The listing of this type failed (after retries): ask for this
		// instance's object directly, as a restricted scan does.
		return td, s.conditionalGet(ctx, instanceID, td)
	}
	ref, ok := s.index[typeName][instanceID]
	if !ok {
		return td, nil
	}
	if k, hit := s.c.lookup(instanceID, typeName); hit && k.etag == ref.etag {
		s.mu.Lock()
		s.stats.Skipped++
		s.mu.Unlock()
		td.Present, td.CaptureTime, td.SchemaVersion = true, k.capture, k.schema
		return td, nil
	}
	return td, s.get(ctx, instanceID, td, ref.size, "", false)
}

// Rest reads a type whose content First did not download.
func (s *Scan) Rest(ctx context.Context, instanceID string, td *collectors.TypeData) error {
	if td.Complete || !td.Present {
		return nil
	}
	size := int64(-1)
	direct := s.direct(td.TypeName)
	if !direct {
		if ref, ok := s.index[td.TypeName][instanceID]; ok {
			size = ref.size
		}
	}
	// An object rewritten since the listing is read as it is now; the
	// caller judges the content and capture time it gets.
	return s.get(ctx, instanceID, td, size, "", direct)
}

// direct reports whether objects of a type are addressed without a listing
// (a restricted scan, or a type whose listing failed).
func (s *Scan) direct(typeName string) bool {
	return s.restricted || s.listErr[typeName] != nil
}

// conditionalGet reads an object with If-None-Match on the remembered ETag.
func (s *Scan) conditionalGet(ctx context.Context, instanceID string, td *collectors.TypeData) error {
	k, hit := s.c.lookup(instanceID, td.TypeName)
	etag := ""
	if hit {
		etag = k.etag
	}
	err := s.get(ctx, instanceID, td, -1, etag, true)
	if err == errNotModified {
		s.mu.Lock()
		s.stats.NotModified++
		s.mu.Unlock()
		td.Present, td.CaptureTime, td.SchemaVersion = true, k.capture, k.schema
		return nil
	}
	if err == errNoSuchKey {
		return nil
	}
	return err
}

var (
	errNotModified = errors.New("not modified")
	errNoSuchKey   = errors.New("no such key")
)

// get reads one object. direct is true when the object was not listed (a
// restricted scan, or its type's listing failed): a missing object then
// means no inventory, not an object deleted since the listing.
func (s *Scan) get(ctx context.Context, instanceID string, td *collectors.TypeData, size int64, ifNoneMatch string, direct bool) error {
	key := s.c.Loc.Key(td.TypeName, instanceID)
	in := &s3.GetObjectInput{Bucket: aws.String(s.c.Loc.Bucket), Key: aws.String(key)}
	if ifNoneMatch != "" {
		in.IfNoneMatch = aws.String(ifNoneMatch)
	}
	out, err := s.c.S3.GetObject(ctx, in)
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) {
			switch re.HTTPStatusCode() {
			case http.StatusNotModified:
				return errNotModified
			case http.StatusNotFound:
				if collectors.ErrorCode(err) == "NoSuchKey" || direct {
					s.c.forget(instanceID, td.TypeName)
					if direct {
						return errNoSuchKey
					}
					// Listed but gone: deleted between list and get.
					return &collectors.InconsistentError{Msg: "data sync object " + key + " was listed but no longer exists"}
				}
			}
		}
		return fmt.Errorf("GetObject s3://%s/%s: %w", s.c.Loc.Bucket, key, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil {
		// The response describes the bytes served (the object may have been
		// rewritten since it was listed).
		size = *out.ContentLength
	}
	d, err := Decode(key, instanceID, out.Body, size)
	s.mu.Lock()
	s.stats.Gets++
	if d != nil {
		s.stats.Bytes += d.Bytes
	}
	s.mu.Unlock()
	if err != nil {
		s.c.forget(instanceID, td.TypeName)
		return &collectors.InconsistentError{Msg: err.Error()}
	}
	td.Present, td.Complete = true, true
	td.CaptureTime, td.SchemaVersion, td.Entries = d.CaptureTime, d.SchemaVersion, d.Entries
	s.c.remember(instanceID, td.TypeName, knownObject{etag: aws.ToString(out.ETag), capture: d.CaptureTime, schema: d.SchemaVersion})
	return nil
}

// Finish ends a full scan: objects of instances no longer listed are
// forgotten, so memory follows the fleet.
func (s *Scan) Finish() {
	if s.restricted || s.seen == nil || len(s.listErr) > 0 {
		return // instances of a type that was not listed may still exist
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	for id := range s.c.known {
		if !s.seen[id] {
			delete(s.c.known, id)
		}
	}
}
