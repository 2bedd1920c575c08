package ha

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// MaxAuditList bounds one AuditList page.
const MaxAuditList = 1000

// AuditLister lists audit entries newest first, a page at a time.
// FileStore and DynamoStore (through the audit index,
// auditlist_dynamo.go) implement it.
type AuditLister interface {
	// AuditList returns up to limit (1..MaxAuditList) unexpired entries
	// older than the cursor before ("" : from the newest), newest first,
	// and the cursor to pass for the next page ("" when there is none).
	AuditList(ctx context.Context, before string, limit int) ([]AuditEntry, string, error)
}

func checkListArgs(before string, limit int) error {
	if limit < 1 || limit > MaxAuditList {
		return fmt.Errorf("ha: audit list limit %d not in 1-%d", limit, MaxAuditList)
	}
	if len(before) > MaxKeyBytes {
		return fmt.Errorf("ha: audit cursor longer than %d bytes", MaxKeyBytes)
	}
	return nil
}

// AuditList lists the file's audit entries newest first.
func (s *FileStore) AuditList(_ context.Context, before string, limit int) ([]AuditEntry, string, error) {
	if err := checkListArgs(before, limit); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.doc.Audit)) // fixed-width time first: chronological
	end := len(keys)
	if before != "" {
		end = sort.SearchStrings(keys, before) // entries strictly before the cursor
	}
	nowS := s.now().Unix()
	var out []AuditEntry
	next, last := "", ""
	for i := end - 1; i >= 0; i-- {
		e := s.doc.Audit[keys[i]]
		if e.ExpiresAt > 0 && nowS >= e.ExpiresAt {
			continue
		}
		if len(out) == limit {
			next = last // more remain
			break
		}
		last = keys[i]
		a := AuditEntry{At: time.UnixMilli(e.AtMs).UTC(), ID: e.ID, Holder: e.Holder, Fence: e.Fence, Kind: e.Kind}
		if e.Data != "" {
			a.Data = []byte(e.Data)
		}
		if e.ExpiresAt > 0 {
			a.Expires = time.Unix(e.ExpiresAt, 0).UTC()
		}
		out = append(out, a)
	}
	return out, next, nil
}

var (
	_ AuditLister = (*FileStore)(nil)
	_ AuditLister = (*DynamoStore)(nil)
)
