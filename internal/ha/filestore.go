package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/driftd/driftd/internal/durable"
)

// DefaultMaxAudit bounds the audit entries a FileStore keeps (oldest first
// out); DynamoDB keeps every entry until its TTL.
const DefaultMaxAudit = 10000

// FileStore is a Store in one JSON file for a single replica. Every write
// rewrites the file through durable.File (temporary file, fsync, the
// previous good copy kept as <path>.bak, rename, directory fsync) before it
// returns; a write that cannot be saved is undone and returns the error (a
// full disk wraps syscall.ENOSPC). A damaged file is never fatal: the store
// starts from the backup, or empty, and Recovery says so.
type FileStore struct {
	file     *durable.File
	now      func() time.Time
	maxAudit int
	recovery *durable.Recovery

	mu    sync.Mutex
	doc   fileDoc
	saves int
}

type fileDoc struct {
	Version int                   `json:"version"`
	Items   map[string]*fileItem  `json:"items"`
	Audit   map[string]*fileAudit `json:"audit"`
}

type fileItem struct {
	Value     *string `json:"value,omitempty"` // nil: tombstone
	Version   int64   `json:"version"`
	Fence     int64   `json:"fence,omitempty"`
	UpdatedMs int64   `json:"updated_ms"`
	ExpiresAt int64   `json:"expires_at,omitempty"` // epoch seconds
}

type fileAudit struct {
	AtMs      int64  `json:"at_ms"`
	ID        string `json:"id"`
	Holder    string `json:"holder,omitempty"`
	Fence     int64  `json:"fence,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Data      string `json:"data,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

const fileStoreVersion = 1

func decodeDoc(data []byte) (fileDoc, error) {
	var d fileDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return d, err
	}
	if d.Version != fileStoreVersion {
		return d, fmt.Errorf("version %d, want %d", d.Version, fileStoreVersion)
	}
	for k, it := range d.Items {
		if it == nil || checkKey(k) != nil || it.Version <= 0 {
			return d, fmt.Errorf("items[%q]: invalid item", k)
		}
	}
	for k, a := range d.Audit {
		if a == nil || a.ID == "" {
			return d, fmt.Errorf("audit[%q]: invalid entry", k)
		}
	}
	return d, nil
}

// FileStoreOptions configures OpenFileStore.
type FileStoreOptions struct {
	Now      func() time.Time // nil: time.Now
	MaxAudit int              // 0: DefaultMaxAudit
	FS       durable.FS       // nil: the OS (tests inject failures)
}

// OpenFileStore loads path (a missing file is an empty store). It never
// fails on a damaged file; see Recovery.
func OpenFileStore(path string, o FileStoreOptions) *FileStore {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAudit <= 0 {
		o.MaxAudit = DefaultMaxAudit
	}
	s := &FileStore{now: o.Now, maxAudit: o.MaxAudit}
	s.file = &durable.File{Path: path, FS: o.FS, Check: func(b []byte) error { _, err := decodeDoc(b); return err }}
	data, _, rec := s.file.Load()
	s.recovery = rec
	s.doc = fileDoc{Version: fileStoreVersion}
	if data != nil {
		s.doc, _ = decodeDoc(data) // checked by Load
	}
	if s.doc.Items == nil {
		s.doc.Items = map[string]*fileItem{}
	}
	if s.doc.Audit == nil {
		s.doc.Audit = map[string]*fileAudit{}
	}
	return s
}

// Recovery reports how opening fell back from a damaged file (nil: clean).
func (s *FileStore) Recovery() *durable.Recovery { return s.recovery }

// Path is the file.
func (s *FileStore) Path() string { return s.file.Path }

func (it *fileItem) live(nowS int64) bool {
	return it != nil && it.Value != nil && (it.ExpiresAt == 0 || nowS < it.ExpiresAt)
}

func (it *fileItem) item(k string) Item {
	out := Item{Key: k, Version: it.Version, Fence: it.Fence, Updated: time.UnixMilli(it.UpdatedMs).UTC()}
	if it.Value != nil {
		out.Value = []byte(*it.Value)
	}
	if it.ExpiresAt > 0 {
		out.Expires = time.Unix(it.ExpiresAt, 0).UTC()
	}
	return out
}

// Get returns the live item under key, or ErrNotFound.
func (s *FileStore) Get(_ context.Context, k string) (Item, error) {
	if err := checkKey(k); err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.doc.Items[k]
	if !it.live(s.now().Unix()) {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	return it.item(k), nil
}

// check applies Write's fence and version conditions to the stored item.
func check(k string, it *fileItem, w Write, nowS int64) error {
	if w.Fence > 0 && it != nil && it.Fence > w.Fence {
		return fmt.Errorf("%w (key %s: fence %d, ours %d)", ErrFenced, k, it.Fence, w.Fence)
	}
	if w.IfAbsent && it.live(nowS) {
		return fmt.Errorf("%w (key %s exists, version %d)", ErrConflict, k, it.Version)
	}
	if w.IfVersion > 0 && (!it.live(nowS) || it.Version != w.IfVersion) {
		v := int64(0)
		if it.live(nowS) {
			v = it.Version
		}
		return fmt.Errorf("%w (key %s, version %d)", ErrConflict, k, v)
	}
	return nil
}

// Put writes value under key.
func (s *FileStore) Put(_ context.Context, k string, value []byte, w Write) (Item, error) {
	if err := errors.Join(checkKey(k), checkValue(k, value), checkWrite(k, w, true)); err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	old := s.doc.Items[k]
	if err := check(k, old, w, now.Unix()); err != nil {
		return Item{}, err
	}
	v := string(value)
	it := &fileItem{Value: &v, Version: 1, UpdatedMs: now.UnixMilli()}
	if old != nil {
		it.Version, it.Fence = old.Version+1, old.Fence
	}
	if w.Fence > 0 {
		it.Fence = w.Fence
	}
	if w.TTL > 0 {
		it.ExpiresAt = expiresAt(now, w.TTL)
	}
	if err := s.commit(k, old, it); err != nil {
		return Item{}, err
	}
	return it.item(k), nil
}

// Delete removes the live item under key and returns it, leaving a
// tombstone for TombstoneTTL.
func (s *FileStore) Delete(_ context.Context, k string, w Write) (Item, error) {
	if err := errors.Join(checkKey(k), checkWrite(k, w, false)); err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	old := s.doc.Items[k]
	if w.Fence > 0 && old != nil && old.Fence > w.Fence {
		return Item{}, check(k, old, w, now.Unix())
	}
	if !old.live(now.Unix()) {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	if err := check(k, old, w, now.Unix()); err != nil {
		return Item{}, err
	}
	tomb := &fileItem{Version: old.Version + 1, Fence: max(old.Fence, w.Fence), UpdatedMs: now.UnixMilli(), ExpiresAt: expiresAt(now, TombstoneTTL)}
	if err := s.commit(k, old, tomb); err != nil {
		return Item{}, err
	}
	return old.item(k), nil
}

// commit stores it under k and saves; a failed save restores old.
func (s *FileStore) commit(k string, old, it *fileItem) error {
	s.doc.Items[k] = it
	if err := s.save(); err != nil {
		if old == nil {
			delete(s.doc.Items, k)
		} else {
			s.doc.Items[k] = old
		}
		return err
	}
	return nil
}

// save prunes expired items, tombstones and audit entries (and the oldest
// entries beyond MaxAudit), then writes the file.
func (s *FileStore) save() error {
	nowS := s.now().Unix()
	for k, it := range s.doc.Items {
		if it.ExpiresAt > 0 && nowS >= it.ExpiresAt {
			delete(s.doc.Items, k)
		}
	}
	for k, a := range s.doc.Audit {
		if a.ExpiresAt > 0 && nowS >= a.ExpiresAt {
			delete(s.doc.Audit, k)
		}
	}
	if n := len(s.doc.Audit) - s.maxAudit; n > 0 {
		keys := slices.Sorted(maps.Keys(s.doc.Audit))
		for _, k := range keys[:n] {
			delete(s.doc.Audit, k)
		}
	}
	data, err := json.Marshal(s.doc)
	if err != nil {
		return err
	}
	s.saves++
	return s.file.Save(data)
}

// Append adds an audit entry once.
func (s *FileStore) Append(_ context.Context, a AuditEntry) error {
	if err := checkAudit(a); err != nil {
		return err
	}
	k := auditKey(a.At, a.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if old, ok := s.doc.Audit[k]; ok && (old.ExpiresAt == 0 || now.Unix() < old.ExpiresAt) {
		return fmt.Errorf("%w: %s%s", ErrExists, auditPrefix, k)
	}
	e := &fileAudit{AtMs: a.At.UnixMilli(), ID: a.ID, Holder: a.Holder, Fence: a.Fence, Kind: a.Kind, Data: string(a.Data)}
	if a.TTL > 0 {
		e.ExpiresAt = expiresAt(now, a.TTL)
	}
	s.doc.Audit[k] = e
	if err := s.save(); err != nil {
		delete(s.doc.Audit, k)
		return err
	}
	return nil
}

// Audit returns one audit entry (ErrNotFound when absent or expired).
func (s *FileStore) Audit(_ context.Context, at time.Time, id string) (AuditEntry, error) {
	k := auditKey(at, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.doc.Audit[k]
	if !ok || (e.ExpiresAt > 0 && s.now().Unix() >= e.ExpiresAt) {
		return AuditEntry{}, fmt.Errorf("%w: %s%s", ErrNotFound, auditPrefix, k)
	}
	a := AuditEntry{At: time.UnixMilli(e.AtMs).UTC(), ID: e.ID, Holder: e.Holder, Fence: e.Fence, Kind: e.Kind}
	if e.Data != "" {
		a.Data = []byte(e.Data)
	}
	if e.ExpiresAt > 0 {
		a.Expires = time.Unix(e.ExpiresAt, 0).UTC()
	}
	return a, nil
}
