package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// ObjectOpener is optionally implemented by an ObjectSource whose content can
// change between calls: GetObject then takes the object's metadata and
// content from one call, so the ETag and Content-Length always describe the
// bytes served.
type ObjectOpener interface {
	// OpenObject returns the object's metadata and content, or ok=false.
	OpenObject(key string) (info ObjectInfo, content io.ReadCloser, ok bool, err error)
}

// VersionedKey names a virtual object and the version of its content.
type VersionedKey struct {
	Key string
	// Version changes whenever the content changes (for Resource Data Sync
	// objects: the inventory's capture time and content hash).
	Version      string
	LastModified time.Time
}

// RenderedSource is an ObjectSource over objects rendered on demand, such as
// Resource Data Sync files generated from a simulated fleet. It never stores
// content: each key version is rendered once to learn its size, ETag and
// checksum (kept in a small metadata cache), and again on every GetObject.
type RenderedSource struct {
	list        func(prefix, after string, limit int) ([]VersionedKey, error)
	lookup      func(key string) (VersionedKey, bool, error)
	render      func(key string) ([]byte, VersionedKey, bool, error)
	contentType string

	mu    sync.Mutex
	cache map[string]renderedMeta
}

type renderedMeta struct {
	version string
	size    int64
	etag    string
	crc     string
}

// NewRenderedSource builds a RenderedSource.
//   - list returns, in ascending key order, at most limit keys starting with
//     prefix and sorting after `after` (fewer than limit = no more);
//   - lookup reports a key's current version without rendering;
//   - render returns a key's current content and version.
//
// contentType is reported for every object ("" = binary/octet-stream).
func NewRenderedSource(
	list func(prefix, after string, limit int) ([]VersionedKey, error),
	lookup func(key string) (VersionedKey, bool, error),
	render func(key string) ([]byte, VersionedKey, bool, error),
	contentType string,
) *RenderedSource {
	return &RenderedSource{list: list, lookup: lookup, render: render, contentType: contentType, cache: map[string]renderedMeta{}}
}

func (s *RenderedSource) info(v VersionedKey, m renderedMeta) ObjectInfo {
	return ObjectInfo{Key: v.Key, Size: m.size, ETag: m.etag, LastModified: v.LastModified, ContentType: s.contentType, ChecksumCRC32: m.crc}
}

func (s *RenderedSource) cached(v VersionedKey) (renderedMeta, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.cache[v.Key]
	return m, ok && m.version == v.Version
}

func (s *RenderedSource) remember(v VersionedKey, data []byte) renderedMeta {
	sum := md5.Sum(data)
	m := renderedMeta{version: v.Version, size: int64(len(data)), etag: `"` + hex.EncodeToString(sum[:]) + `"`, crc: ChecksumCRC32Of(data)}
	s.mu.Lock()
	s.cache[v.Key] = m
	s.mu.Unlock()
	return m
}

// meta returns the metadata of key version v, rendering it if unknown.
func (s *RenderedSource) meta(v VersionedKey) (ObjectInfo, bool, error) {
	if m, ok := s.cached(v); ok {
		return s.info(v, m), true, nil
	}
	data, cur, ok, err := s.render(v.Key)
	if err != nil || !ok {
		return ObjectInfo{}, ok, err
	}
	return s.info(cur, s.remember(cur, data)), true, nil
}

// List implements ObjectSource.
func (s *RenderedSource) List(prefix, after string, limit int) ([]ObjectInfo, error) {
	keys, err := s.list(prefix, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, 0, len(keys))
	for _, v := range keys {
		info, ok, err := s.meta(v)
		if err != nil {
			return nil, err
		}
		if !ok { // vanished between list and render: list it as it was
			info = ObjectInfo{Key: v.Key, LastModified: v.LastModified, ContentType: s.contentType}
		}
		info.Key = v.Key
		out = append(out, info)
	}
	return out, nil
}

// Stat implements ObjectSource.
func (s *RenderedSource) Stat(key string) (ObjectInfo, bool, error) {
	v, ok, err := s.lookup(key)
	if err != nil || !ok {
		return ObjectInfo{}, ok, err
	}
	return s.meta(v)
}

// Open implements ObjectSource.
func (s *RenderedSource) Open(key string) (io.ReadCloser, error) {
	_, rc, ok, err := s.OpenObject(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Errorf(404, "NoSuchKey", "The specified key does not exist.")
	}
	return rc, nil
}

// OpenObject implements ObjectOpener.
func (s *RenderedSource) OpenObject(key string) (ObjectInfo, io.ReadCloser, bool, error) {
	data, v, ok, err := s.render(key)
	if err != nil || !ok {
		return ObjectInfo{}, nil, ok, err
	}
	m, hit := s.cached(v)
	if !hit {
		m = s.remember(v, data)
	}
	return s.info(v, m), io.NopCloser(bytes.NewReader(data)), true, nil
}
