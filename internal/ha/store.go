package ha

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Store keeps the decisions that must survive restarts and failover:
// approvals, breaker state and overrides, in-flight actions (items under a
// key, versioned, optionally fenced and expiring) and an append-only audit
// log. DynamoStore serves several replicas; FileStore one.
//
// Every write is atomic and conditional where a race matters:
//   - Write.IfAbsent / Write.IfVersion: optimistic concurrency (ErrConflict);
//   - Write.Fence: the item remembers the largest fencing token that wrote
//     it, and a write under a smaller one fails with ErrFenced, so a stale
//     leader can never overwrite what the current one decided;
//   - Delete returns the item it deleted: of concurrent Deletes exactly one
//     gets it (an approval is consumed once), the others ErrNotFound.
//
// A deleted item leaves a tombstone for TombstoneTTL that keeps its version
// and fence; an expired item (Write.TTL) reads as absent.
type Store interface {
	Get(ctx context.Context, key string) (Item, error)
	Put(ctx context.Context, key string, value []byte, w Write) (Item, error)
	Delete(ctx context.Context, key string, w Write) (Item, error)
	// Append adds an audit entry; an entry with the same At and ID exists
	// already: ErrExists.
	Append(ctx context.Context, e AuditEntry) error
	// Audit returns the entry appended with at and id.
	Audit(ctx context.Context, at time.Time, id string) (AuditEntry, error)
}

// Store errors.
var (
	ErrNotFound = errors.New("ha: no such item")
	ErrConflict = errors.New("ha: conditional write refused: item changed")
	ErrFenced   = errors.New("ha: write refused: the item was written under a newer fencing token")
	ErrExists   = errors.New("ha: audit entry exists")
)

// TombstoneTTL is how long a deleted item's version and fence are kept.
const TombstoneTTL = 7 * 24 * time.Hour

// MaxKeyBytes bounds keys (DynamoDB allows 2048 bytes per partition key,
// including the prefix).
const MaxKeyBytes = 1024

// MaxValueBytes bounds values (a DynamoDB item is at most 400 KB).
const MaxValueBytes = 350 * 1024

// Item is a stored value.
type Item struct {
	Key     string
	Value   []byte
	Version int64     // 1 on the first write, +1 on every write
	Fence   int64     // largest fencing token that wrote it (0: none)
	Updated time.Time // millisecond precision
	Expires time.Time // zero: never (second precision)
}

// Write conditions and options for Put and Delete.
type Write struct {
	IfAbsent  bool          // only when no live item exists (Put only)
	IfVersion int64         // > 0: only when the live item has this version
	Fence     int64         // > 0: refuse (ErrFenced) when a larger token wrote the item; stored with it
	TTL       time.Duration // > 0: the item reads as absent after this long (Put only)
}

// AuditEntry is one audit log record.
type AuditEntry struct {
	At     time.Time // millisecond precision
	ID     string
	Holder string // replica that acted
	Fence  int64  // fencing token it acted under
	Kind   string // e.g. "replace", "approve", "breaker"
	Data   []byte // UTF-8 (JSON by convention)
	// TTL > 0 lets the entry expire (DynamoDB TTL, FileStore pruning).
	TTL     time.Duration
	Expires time.Time // set by Audit
}

func checkKey(k string) error {
	switch {
	case k == "":
		return errors.New("ha: empty key")
	case len(k) > MaxKeyBytes:
		return fmt.Errorf("ha: key %.40q… longer than %d bytes", k, MaxKeyBytes)
	case !utf8.ValidString(k):
		return fmt.Errorf("ha: key %q is not UTF-8", k)
	}
	return nil
}

func checkValue(k string, v []byte) error {
	switch {
	case len(v) == 0:
		return fmt.Errorf("ha: key %q: empty value", k)
	case len(v) > MaxValueBytes:
		return fmt.Errorf("ha: key %q: value of %d bytes exceeds %d", k, len(v), MaxValueBytes)
	case !utf8.Valid(v):
		return fmt.Errorf("ha: key %q: value is not UTF-8", k)
	}
	return nil
}

func checkWrite(k string, w Write, put bool) error {
	switch {
	case w.IfAbsent && w.IfVersion != 0:
		return fmt.Errorf("ha: key %q: IfAbsent and IfVersion exclude each other", k)
	case w.IfVersion < 0 || w.Fence < 0 || w.TTL < 0:
		return fmt.Errorf("ha: key %q: negative IfVersion, Fence or TTL", k)
	case !put && (w.IfAbsent || w.TTL != 0):
		return fmt.Errorf("ha: key %q: Delete takes no IfAbsent or TTL", k)
	}
	return nil
}

func checkAudit(e AuditEntry) error {
	switch {
	case e.At.IsZero():
		return errors.New("ha: audit entry without a time")
	case e.ID == "" || strings.Contains(e.ID, "#") || !utf8.ValidString(e.ID) || len(e.ID) > 256:
		return fmt.Errorf("ha: audit entry id %q: want 1-256 UTF-8 bytes without '#'", e.ID)
	case !utf8.Valid(e.Data) || len(e.Data) > MaxValueBytes:
		return fmt.Errorf("ha: audit entry %s: data must be UTF-8 and at most %d bytes", e.ID, MaxValueBytes)
	case e.TTL < 0:
		return fmt.Errorf("ha: audit entry %s: negative TTL", e.ID)
	}
	return nil
}

// auditKey orders entries by time: fixed-width UTC with nanoseconds.
func auditKey(at time.Time, id string) string {
	return at.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + id
}

// expiresAt converts a TTL to the epoch second it ends (rounded up, so an
// item never expires early).
func expiresAt(now time.Time, ttl time.Duration) int64 {
	end := now.Add(ttl)
	s := end.Unix()
	if end.Nanosecond() > 0 {
		s++
	}
	return s
}
