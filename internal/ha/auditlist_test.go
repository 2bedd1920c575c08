package ha

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestFileStoreAuditListPagesNewestFirst(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "store.json")
	s := OpenFileStore(path, FileStoreOptions{Now: func() time.Time { return now }, MaxAudit: 50})
	base := now.Add(-time.Hour)
	for i := range 60 {
		e := AuditEntry{At: base.Add(time.Duration(i) * time.Second), ID: fmt.Sprintf("e%02d", i), Kind: "http", Data: []byte(`{"n":` + fmt.Sprint(i) + `}`)}
		if i == 55 {
			e.TTL = time.Nanosecond // expires at once (rounded up to the next second)
		}
		// Two entries in the same millisecond, told apart by id.
		if i == 58 {
			e.At = base.Add(57 * time.Second)
		}
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Second) // e55 expired
	s = OpenFileStore(path, FileStoreOptions{Now: func() time.Time { return now }, MaxAudit: 50})
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := s.AuditList(ctx, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 7 {
			t.Fatalf("page of %d entries, limit 7", len(page))
		}
		for _, e := range page {
			got = append(got, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	// 50 kept (e10..e59), e55 expired: 49, newest first; e58 shares e57's time.
	var want []string
	for i := 59; i >= 10; i-- {
		if i != 55 {
			want = append(want, fmt.Sprintf("e%02d", i))
		}
	}
	want[1], want[2] = "e58", "e57" // same time: id order decides, descending
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
	if pages != 7 {
		t.Errorf("%d pages, want 7", pages)
	}
	for _, bad := range []int{0, -1, MaxAuditList + 1} {
		if _, _, err := s.AuditList(ctx, "", bad); err == nil {
			t.Errorf("limit %d accepted", bad)
		}
	}
}
