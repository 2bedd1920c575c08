// Package s3 serves the simulated region's S3 (restXml, path- and
// virtual-hosted-style): buckets, stored objects and virtual objects
// rendered on demand by an ObjectSource, ListObjectsV2, conditional and
// ranged GETs, and event notifications to SQS.
package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/sqs"
	"github.com/driftd/driftd/awssim/wire"
)

// ObjectInfo describes one S3 object (stored or virtual).
type ObjectInfo struct {
	Key  string
	Size int64
	// ETag is the entity tag; a bare hex MD5 is quoted on output. Use ETagOf.
	ETag         string
	LastModified time.Time
	// ContentType defaults to binary/octet-stream.
	ContentType string
	// ChecksumCRC32 is the base64 big-endian CRC32 of the content, returned
	// as x-amz-checksum-crc32 when a client asks for checksums (optional;
	// see ChecksumCRC32Of).
	ChecksumCRC32 string
}

// ChecksumCRC32Of returns the S3 CRC32 checksum value of data.
func ChecksumCRC32Of(data []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(data))
	return base64.StdEncoding.EncodeToString(b[:])
}

// ObjectSource supplies virtual objects under a key prefix of a bucket, so a
// simulator can expose large object sets (for example Resource Data Sync
// output for a whole fleet) rendered on demand instead of stored.
//
// Keys are full object keys (they include the mount prefix). Implementations
// must be safe for concurrent use and must report, for each key, a Size and
// ETag consistent with the bytes Open returns.
type ObjectSource interface {
	// List returns, in ascending byte order, at most limit objects whose keys
	// start with prefix and sort strictly after `after` ("" = from the
	// start). Returning fewer than limit objects means there are no more.
	List(prefix, after string, limit int) ([]ObjectInfo, error)
	// Stat returns the object with this key, or ok=false if there is none.
	Stat(key string) (info ObjectInfo, ok bool, err error)
	// Open returns the object's content; the caller closes it.
	Open(key string) (io.ReadCloser, error)
}

// ETagOf returns the S3 ETag of a single-part object with this content: the
// quoted hex MD5.
func ETagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func quoteETag(e string) string {
	if strings.HasPrefix(e, `"`) || strings.HasPrefix(e, `W/"`) {
		return e
	}
	return `"` + e + `"`
}

type s3Object struct {
	data        []byte
	etag        string
	crc32       string
	modified    time.Time
	contentType string
	meta        http.Header // x-amz-meta-* as received
}

type s3Mount struct {
	prefix string
	src    ObjectSource
}

type s3Notify struct {
	queue  string
	prefix string
}

type s3Bucket struct {
	name    string
	created time.Time
	keys    []string // sorted stored keys
	objects map[string]*s3Object
	mounts  []s3Mount // longest prefix first
	notify  []s3Notify
	denied  []string // key prefixes answering AccessDenied
}

type Service struct {
	acct          wire.Account
	queues        *sqs.Service // event notification targets
	vhostSuffixes []string

	mu      sync.Mutex
	buckets map[string]*s3Bucket
	seq     uint64
}

// New returns an S3 with no buckets that sends event notifications to
// queues. Requests are virtual-hosted-style (bucket.<suffix>) under the host
// names vhostSuffixes (without port); "localhost" and hosts containing "s3."
// are always recognised.
func New(acct wire.Account, queues *sqs.Service, vhostSuffixes []string) *Service {
	return &Service{acct: acct, queues: queues, vhostSuffixes: vhostSuffixes, buckets: map[string]*s3Bucket{}}
}

// ---------------------------------------------------------------------------
// Go API (hooks)

// CreateBucket creates a bucket (no error if it exists).
func (s3s *Service) CreateBucket(name string) {
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	s3s.bucketLocked(name, true)
}

func (s3s *Service) bucketLocked(name string, create bool) *s3Bucket {
	b := s3s.buckets[name]
	if b == nil && create {
		b = &s3Bucket{name: name, created: s3s.acct.Now(), objects: map[string]*s3Object{}}
		s3s.buckets[name] = b
	}
	return b
}

// PutObject stores an object (creating the bucket if needed) and sends the
// bucket's event notifications, like an S3 PutObject. It returns the ETag.
func (s3s *Service) PutObject(bucket, key string, data []byte) string {
	s3s.mu.Lock()
	b := s3s.bucketLocked(bucket, true)
	obj := s3s.putLocked(b, key, bytes.Clone(data), "", nil)
	s3s.mu.Unlock()
	s3s.notifyEvent(bucket, "ObjectCreated:Put", ObjectInfo{Key: key, Size: int64(len(data)), ETag: obj.etag})
	return obj.etag
}

// Object returns a stored (not virtual) object's content.
func (s3s *Service) Object(bucket, key string) ([]byte, bool) {
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	b := s3s.buckets[bucket]
	if b == nil || b.objects[key] == nil {
		return nil, false
	}
	return bytes.Clone(b.objects[key].data), true
}

// SetObjectSource mounts src as the provider of virtual objects whose keys
// start with prefix in bucket (creating the bucket if needed). Stored objects
// with the same key take precedence. A nil src removes the mount.
func (s3s *Service) SetObjectSource(bucket, prefix string, src ObjectSource) {
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	b := s3s.bucketLocked(bucket, true)
	mounts := b.mounts[:0:0]
	for _, m := range b.mounts {
		if m.prefix != prefix {
			mounts = append(mounts, m)
		}
	}
	if src != nil {
		mounts = append(mounts, s3Mount{prefix: prefix, src: src})
	}
	sort.SliceStable(mounts, func(i, j int) bool { return len(mounts[i].prefix) > len(mounts[j].prefix) })
	b.mounts = mounts
}

// SetAccessDenied makes every request on keys under prefix in bucket (and
// listings within it; "" = the whole bucket) answer 403 AccessDenied, as a
// missing IAM permission or a bucket policy would.
func (s3s *Service) SetAccessDenied(bucket, prefix string, denied bool) {
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	b := s3s.bucketLocked(bucket, true)
	out := b.denied[:0:0]
	for _, p := range b.denied {
		if p != prefix {
			out = append(out, p)
		}
	}
	if denied {
		out = append(out, prefix)
	}
	b.denied = out
}

// SetBucketNotification sends an S3 event notification to the SQS queue
// queueName for every object created or removed under prefix in bucket
// (creating the bucket if needed). Like S3, it first delivers an
// "s3:TestEvent" message to the queue. The queue must exist.
func (s3s *Service) SetBucketNotification(bucket, queueName, prefix string) error {
	if !s3s.queues.Exists(queueName) {
		return fmt.Errorf("s3 notification: queue %q does not exist", queueName)
	}
	s3s.mu.Lock()
	b := s3s.bucketLocked(bucket, true)
	b.notify = append(b.notify, s3Notify{queue: queueName, prefix: prefix})
	s3s.mu.Unlock()
	now := s3s.acct.Now().UTC()
	test, _ := json.Marshal(map[string]string{
		"Service":   "Amazon S3",
		"Event":     "s3:TestEvent",
		"Time":      wire.XMLTime(now),
		"Bucket":    bucket,
		"RequestId": strings.ToUpper(strings.ReplaceAll(wire.NewRequestID(), "-", ""))[:16],
		"HostId":    "driftd-awssim",
	})
	s3s.queues.Enqueue(queueName, string(test))
	return nil
}

// NotifyObjectChanged sends the bucket's event notifications for a virtual
// object that changed: ObjectCreated:Put if the object exists now,
// ObjectRemoved:Delete otherwise.
func (s3s *Service) NotifyObjectChanged(bucket, key string) error {
	info, ok, err := s3s.stat(bucket, key)
	if err != nil {
		return err
	}
	if ok {
		s3s.notifyEvent(bucket, "ObjectCreated:Put", info)
	} else {
		s3s.notifyEvent(bucket, "ObjectRemoved:Delete", ObjectInfo{Key: key})
	}
	return nil
}

// ---------------------------------------------------------------------------
// state helpers

func (s3s *Service) putLocked(b *s3Bucket, key string, data []byte, contentType string, meta http.Header) *s3Object {
	obj := &s3Object{data: data, etag: ETagOf(data), crc32: ChecksumCRC32Of(data), modified: s3s.acct.Now().UTC(), contentType: contentType, meta: meta}
	if _, ok := b.objects[key]; !ok {
		i := sort.SearchStrings(b.keys, key)
		b.keys = append(b.keys, "")
		copy(b.keys[i+1:], b.keys[i:])
		b.keys[i] = key
	}
	b.objects[key] = obj
	return obj
}

func (s3s *Service) deleteLocked(b *s3Bucket, key string) bool {
	if _, ok := b.objects[key]; !ok {
		return false
	}
	delete(b.objects, key)
	i := sort.SearchStrings(b.keys, key)
	if i < len(b.keys) && b.keys[i] == key {
		b.keys = append(b.keys[:i], b.keys[i+1:]...)
	}
	return true
}

func mountFor(mounts []s3Mount, key string) *s3Mount {
	for i := range mounts {
		if strings.HasPrefix(key, mounts[i].prefix) {
			return &mounts[i]
		}
	}
	return nil
}

// stat finds an object: stored first, then the longest matching mount.
func (s3s *Service) stat(bucket, key string) (ObjectInfo, bool, error) {
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	if b == nil {
		s3s.mu.Unlock()
		return ObjectInfo{}, false, errNoSuchBucket
	}
	if o := b.objects[key]; o != nil {
		info := ObjectInfo{Key: key, Size: int64(len(o.data)), ETag: o.etag, LastModified: o.modified, ContentType: o.contentType}
		s3s.mu.Unlock()
		return info, true, nil
	}
	m := mountFor(b.mounts, key)
	s3s.mu.Unlock()
	if m == nil {
		return ObjectInfo{}, false, nil
	}
	info, ok, err := m.src.Stat(key)
	if err != nil || !ok {
		return ObjectInfo{}, false, err
	}
	info.Key = key
	return info, true, nil
}

var errNoSuchBucket = errors.New("no such bucket")

func (s3s *Service) nextSequencer() string {
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	n := uint64(s3s.acct.Now().UnixNano())
	if n <= s3s.seq {
		n = s3s.seq + 1
	}
	s3s.seq = n
	return fmt.Sprintf("%018X", n)
}

// s3EventKey URL-encodes a key as S3 event notifications do (each path
// segment form-encoded, "/" kept).
func s3EventKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, "/")
}

func (s3s *Service) notifyEvent(bucket, event string, info ObjectInfo) {
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	var targets []string
	if b != nil {
		for _, n := range b.notify {
			if strings.HasPrefix(info.Key, n.prefix) {
				targets = append(targets, n.queue)
			}
		}
	}
	s3s.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	obj := map[string]any{"key": s3EventKey(info.Key), "sequencer": s3s.nextSequencer()}
	if strings.HasPrefix(event, "ObjectCreated") {
		obj["size"] = info.Size
		obj["eTag"] = strings.Trim(info.ETag, `"`)
	}
	reqID := strings.ToUpper(strings.ReplaceAll(wire.NewRequestID(), "-", ""))[:16]
	rec := map[string]any{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"awsRegion":    s3s.acct.Region,
		"eventTime":    wire.XMLTime(s3s.acct.Now()),
		"eventName":    event,
		"userIdentity": map[string]string{"principalId": "AWS:AIDADRIFTDSIMULATOR"},
		"requestParameters": map[string]string{
			"sourceIPAddress": "127.0.0.1",
		},
		"responseElements": map[string]string{"x-amz-request-id": reqID, "x-amz-id-2": "driftd-awssim"},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": "driftd-awssim",
			"bucket": map[string]any{
				"name":          bucket,
				"ownerIdentity": map[string]string{"principalId": "A" + s3s.acct.AccountID},
				"arn":           "arn:aws:s3:::" + bucket,
			},
			"object": obj,
		},
	}
	body, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	for _, q := range targets {
		s3s.queues.Enqueue(q, string(body))
	}
}

// ---------------------------------------------------------------------------
// wire handler

type s3Err = wire.Error

func s3Error(status int, code, format string, args ...any) *s3Err {
	return wire.Errorf(status, code, format, args...)
}

var ipHost = func(h string) bool { return net.ParseIP(strings.Trim(h, "[]")) != nil }

// addressing splits a request into bucket and key, for path-style and
// virtual-hosted-style requests.
func (s3s *Service) addressing(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	path := r.URL.Path
	if !ipHost(host) {
		if first, rest, ok := strings.Cut(host, "."); ok && first != "" && s3s.isVirtualHostSuffix(first, rest) {
			return first, strings.TrimPrefix(path, "/")
		}
	}
	p := strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

func (s3s *Service) isVirtualHostSuffix(first, rest string) bool {
	if rest == "localhost" || strings.HasPrefix(rest, "s3.") || strings.HasPrefix(rest, "s3-") || strings.Contains(rest, ".s3.") {
		return true
	}
	for _, suf := range s3s.vhostSuffixes {
		if strings.EqualFold(rest, suf) {
			return true
		}
	}
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	_, known := s3s.buckets[first]
	return known
}

func (s3s *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	r := req.HTTP
	w.Header().Set("X-Amz-Request-Id", req.ID)
	w.Header().Set("X-Amz-Id-2", "driftd-awssim")
	bucket, key := s3s.addressing(r)
	q := r.URL.Query()
	var e *s3Err
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			e = s3s.listBuckets(w, req)
		} else {
			e = s3Error(405, "MethodNotAllowed", "the specified method is not allowed against this resource")
		}
	case key == "":
		e = s3s.serveBucket(w, req, bucket, q)
	default:
		e = s3s.serveObject(w, req, bucket, key, q)
	}
	if e != nil {
		wire.WriteError(w, req, e)
	}
}

var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (s3s *Service) serveBucket(w http.ResponseWriter, req *wire.Request, bucket string, q url.Values) *s3Err {
	r := req.HTTP
	for _, sub := range []string{"notification", "policy", "acl", "location", "versioning", "tagging", "uploads", "delete", "lifecycle", "cors", "encryption"} {
		if _, ok := q[sub]; ok {
			return s3Error(501, "NotImplemented", "bucket subresource ?%s is not simulated", sub)
		}
	}
	switch r.Method {
	case http.MethodPut:
		return s3s.createBucket(w, req, bucket)
	case http.MethodHead:
		s3s.mu.Lock()
		b := s3s.buckets[bucket]
		s3s.mu.Unlock()
		if b == nil {
			return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
		}
		w.Header().Set("X-Amz-Bucket-Region", s3s.acct.Region)
		w.WriteHeader(200)
		return nil
	case http.MethodDelete:
		s3s.mu.Lock()
		defer s3s.mu.Unlock()
		b := s3s.buckets[bucket]
		if b == nil {
			return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
		}
		if len(b.objects) > 0 || len(b.mounts) > 0 {
			return s3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
		}
		delete(s3s.buckets, bucket)
		w.WriteHeader(204)
		return nil
	case http.MethodGet:
		if q.Get("list-type") != "2" {
			return s3Error(501, "NotImplemented", "only ListObjectsV2 (list-type=2) is simulated")
		}
		return s3s.listObjectsV2(w, req, bucket, q)
	}
	return s3Error(405, "MethodNotAllowed", "the specified method is not allowed against this resource")
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s3s *Service) createBucket(w http.ResponseWriter, req *wire.Request, bucket string) *s3Err {
	if !bucketNameRE.MatchString(bucket) || strings.Contains(bucket, "..") || ipHost(bucket) {
		return s3Error(400, "InvalidBucketName", "The specified bucket is not valid: %q", bucket)
	}
	region := "us-east-1"
	if len(bytes.TrimSpace(req.Body)) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(req.Body, &cfg); err != nil {
			return s3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if cfg.LocationConstraint != "" {
			region = cfg.LocationConstraint
		}
	}
	if region != s3s.acct.Region {
		return s3Error(400, "IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	s3s.mu.Lock()
	defer s3s.mu.Unlock()
	if s3s.buckets[bucket] != nil && s3s.acct.Region != "us-east-1" {
		return s3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	}
	s3s.bucketLocked(bucket, true)
	w.Header().Set("Location", "/"+bucket)
	w.WriteHeader(200)
	return nil
}

func (s3s *Service) listBuckets(w http.ResponseWriter, req *wire.Request) *s3Err {
	s3s.mu.Lock()
	names := make([]string, 0, len(s3s.buckets))
	created := map[string]time.Time{}
	for n, b := range s3s.buckets {
		names = append(names, n)
		created[n] = b.created
	}
	s3s.mu.Unlock()
	sort.Strings(names)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + s3s.acct.AccountID + `</ID></Owner><Buckets>`)
	for _, n := range names {
		fmt.Fprintf(&buf, "<Bucket><Name>%s</Name><CreationDate>%s</CreationDate></Bucket>", wire.Esc(n), wire.XMLTime(created[n]))
	}
	buf.WriteString(`</Buckets></ListAllMyBucketsResult>`)
	writeXML(w, buf.Bytes())
	return nil
}

func writeXML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(200)
	_, _ = w.Write(body)
}

func (s3s *Service) deniedLocked(b *s3Bucket, key string) bool {
	for _, p := range b.denied {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func accessDenied() *s3Err { return s3Error(403, "AccessDenied", "Access Denied") }

func (s3s *Service) serveObject(w http.ResponseWriter, req *wire.Request, bucket, key string, q url.Values) *s3Err {
	r := req.HTTP
	for _, sub := range []string{"tagging", "acl", "uploads", "uploadId", "retention", "legal-hold", "torrent", "attributes", "restore", "select"} {
		if _, ok := q[sub]; ok {
			return s3Error(501, "NotImplemented", "object subresource ?%s is not simulated", sub)
		}
	}
	if len(key) > 1024 {
		return s3Error(400, "KeyTooLongError", "Your key is too long")
	}
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	denied := b != nil && s3s.deniedLocked(b, key)
	s3s.mu.Unlock()
	if b == nil {
		return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if denied {
		return accessDenied()
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return s3Error(501, "NotImplemented", "CopyObject is not simulated")
		}
		return s3s.putObject(w, req, bucket, key)
	case http.MethodGet, http.MethodHead:
		return s3s.getObject(w, req, bucket, key)
	case http.MethodDelete:
		s3s.mu.Lock()
		b := s3s.buckets[bucket]
		deleted := b != nil && s3s.deleteLocked(b, key)
		s3s.mu.Unlock()
		if deleted {
			s3s.notifyEvent(bucket, "ObjectRemoved:Delete", ObjectInfo{Key: key})
		}
		w.WriteHeader(204)
		return nil
	}
	return s3Error(405, "MethodNotAllowed", "the specified method is not allowed against this resource")
}

func (s3s *Service) putObject(w http.ResponseWriter, req *wire.Request, bucket, key string) *s3Err {
	r := req.HTTP
	data := req.Body
	if isAWSChunked(r) {
		dec, err := decodeAWSChunked(data)
		if err != nil {
			return s3Error(400, "IncompleteBody", "aws-chunked body: %v", err)
		}
		data = dec
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if n, err := strconv.Atoi(dl); err != nil || n != len(data) {
				return s3Error(400, "IncompleteBody", "x-amz-decoded-content-length %q does not match the %d bytes received", dl, len(data))
			}
		}
	}
	if cm := r.Header.Get("Content-Md5"); cm != "" {
		want, err := base64.StdEncoding.DecodeString(cm)
		if err != nil || len(want) != md5.Size {
			return s3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		got := md5.Sum(data)
		if !bytes.Equal(want, got[:]) {
			return s3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	if c := r.Header.Get("X-Amz-Checksum-Crc32"); c != "" && c != ChecksumCRC32Of(data) {
		return s3Error(400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
	}
	meta := http.Header{}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			meta[k] = v
		}
	}
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	if b == nil {
		s3s.mu.Unlock()
		return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	obj := s3s.putLocked(b, key, bytes.Clone(data), r.Header.Get("Content-Type"), meta)
	s3s.mu.Unlock()
	s3s.notifyEvent(bucket, "ObjectCreated:Put", ObjectInfo{Key: key, Size: int64(len(data)), ETag: obj.etag})
	w.Header().Set("ETag", obj.etag)
	w.WriteHeader(200)
	return nil
}

func isAWSChunked(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
}

// decodeAWSChunked decodes the aws-chunked content encoding
// ("<hex-size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n[trailers]\r\n").
func decodeAWSChunked(b []byte) ([]byte, error) {
	var out []byte
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, errors.New("missing chunk header terminator")
		}
		sizeStr, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sizeStr)), 16, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad chunk size %q", sizeStr)
		}
		if n == 0 {
			return out, nil // trailers (checksums) follow; not verified
		}
		if int64(len(rest)) < n+2 {
			return nil, errors.New("truncated chunk")
		}
		out = append(out, rest[:n]...)
		if string(rest[n:n+2]) != "\r\n" {
			return nil, errors.New("missing chunk terminator")
		}
		b = rest[n+2:]
	}
}

// getObject serves GetObject and HeadObject for stored and virtual objects.
func (s3s *Service) getObject(w http.ResponseWriter, req *wire.Request, bucket, key string) *s3Err {
	r := req.HTTP
	var (
		info   ObjectInfo
		stored *s3Object
		src    ObjectSource
	)
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	if b == nil {
		s3s.mu.Unlock()
		return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if o := b.objects[key]; o != nil {
		stored = o
		info = ObjectInfo{Key: key, Size: int64(len(o.data)), ETag: o.etag, LastModified: o.modified, ContentType: o.contentType, ChecksumCRC32: o.crc32}
	} else if m := mountFor(b.mounts, key); m != nil {
		src = m.src
	}
	s3s.mu.Unlock()
	var opened io.ReadCloser // content already opened with its metadata
	if stored == nil {
		if src == nil {
			return s3Error(404, "NoSuchKey", "The specified key does not exist.")
		}
		var (
			vi  ObjectInfo
			ok  bool
			err error
		)
		if op, isOpener := src.(ObjectOpener); isOpener && r.Method == http.MethodGet {
			vi, opened, ok, err = op.OpenObject(key)
		} else {
			vi, ok, err = src.Stat(key)
		}
		if err != nil {
			return s3Error(500, "InternalError", "object source: %v", err)
		}
		if !ok {
			return s3Error(404, "NoSuchKey", "The specified key does not exist.")
		}
		if opened != nil {
			defer opened.Close()
		}
		info = vi
	}
	etag := quoteETag(info.ETag)
	lm := info.LastModified.UTC().Truncate(time.Second)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", lm.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	if stored != nil {
		for k, v := range stored.meta {
			h[k] = v
		}
	}
	if status := conditional(r, etag, lm); status != 0 {
		if status == 412 {
			return s3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
		w.WriteHeader(status)
		return nil
	}
	start, length := int64(0), info.Size
	partial := false
	if rh := r.Header.Get("Range"); rh != "" {
		st, ln, ok, satisfiable := parseRange(rh, info.Size)
		if ok && !satisfiable {
			h.Del("ETag")
			return s3Error(416, "InvalidRange", "The requested range is not satisfiable")
		}
		if ok {
			start, length, partial = st, ln, true
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", st, st+ln-1, info.Size))
		}
	}
	if !partial && info.ChecksumCRC32 != "" && strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		h.Set("X-Amz-Checksum-Crc32", info.ChecksumCRC32)
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := 200
	if partial {
		status = 206
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	if stored != nil {
		w.WriteHeader(status)
		_, _ = w.Write(stored.data[start : start+length])
		return nil
	}
	rc := opened
	if rc == nil {
		var err error
		if rc, err = src.Open(key); err != nil {
			h.Del("Content-Length")
			h.Del("Content-Range")
			return s3Error(500, "InternalError", "object source: %v", err)
		}
		defer rc.Close()
	}
	w.WriteHeader(status)
	if start > 0 {
		if _, err := io.CopyN(io.Discard, rc, start); err != nil {
			return nil // headers are out; the client sees a short body
		}
	}
	_, _ = io.CopyN(w, rc, length)
	return nil
}

// conditional evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since as S3 does; it returns 0 to proceed, 304 or 412.
func conditional(r *http.Request, etag string, lm time.Time) int {
	match := func(hdr string) bool {
		for _, t := range strings.Split(hdr, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || quoteETag(strings.TrimPrefix(t, "W/")) == etag {
				return true
			}
		}
		return false
	}
	im := r.Header.Get("If-Match")
	if im != "" && !match(im) {
		return 412
	}
	if ius := r.Header.Get("If-Unmodified-Since"); ius != "" && im == "" {
		if t, err := http.ParseTime(ius); err == nil && lm.After(t) {
			return 412
		}
	}
	inm := r.Header.Get("If-None-Match")
	if inm != "" && match(inm) {
		return 304
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && inm == "" {
		if t, err := http.ParseTime(ims); err == nil && !lm.After(t) {
			return 304
		}
	}
	return 0
}

// parseRange parses a single "bytes=" range. ok=false means the header is
// ignored (S3 serves the whole object for syntactically invalid ranges).
func parseRange(h string, size int64) (start, length int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, bs, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	a, bs = strings.TrimSpace(a), strings.TrimSpace(bs)
	switch {
	case a == "" && bs == "":
		return 0, 0, false, false
	case a == "": // suffix
		n, err := strconv.ParseInt(bs, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		if n > size {
			n = size
		}
		return size - n, n, true, true
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s < 0 {
			return 0, 0, false, false
		}
		e := size - 1
		if bs != "" {
			e, err = strconv.ParseInt(bs, 10, 64)
			if err != nil || e < s {
				return 0, 0, false, false
			}
			if e > size-1 {
				e = size - 1
			}
		}
		if s >= size {
			return 0, 0, true, false
		}
		return s, e - s + 1, true, true
	}
}
