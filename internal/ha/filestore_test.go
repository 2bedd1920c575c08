package ha

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/durable"
)

func TestFileStoreSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	p := filepath.Join(t.TempDir(), "ha.json")
	s := OpenFileStore(p, FileStoreOptions{Now: w.Now})
	put(t, s, "approval/i-1", `{"by":"alice"}`, Write{Fence: 2})
	put(t, s, "breaker/web", `{"open":true}`, Write{})
	if _, err := s.Delete(ctx, "breaker/web", Write{}); err != nil {
		t.Fatal(err)
	}
	at := w.Now()
	if err := s.Append(ctx, AuditEntry{At: at, ID: "x", Kind: "approve"}); err != nil {
		t.Fatal(err)
	}
	s2 := OpenFileStore(p, FileStoreOptions{Now: w.Now})
	if s2.Recovery() != nil {
		t.Fatal(s2.Recovery())
	}
	if it, err := s2.Get(ctx, "approval/i-1"); err != nil || string(it.Value) != `{"by":"alice"}` || it.Fence != 2 {
		t.Fatalf("after reopen %+v, %v", it, err)
	}
	if _, err := s2.Get(ctx, "breaker/web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted item after reopen: %v", err)
	}
	if it := put(t, s2, "breaker/web", `{}`, Write{IfAbsent: true}); it.Version != 3 {
		t.Fatalf("the tombstone's version was not kept: %+v", it)
	}
	if _, err := s2.Audit(ctx, at, "x"); err != nil {
		t.Fatal(err)
	}
}

// TestFileStoreDamagedFile: a damaged file is never fatal; the store starts
// from the backup (one write behind) or empty, and says so.
func TestFileStoreDamagedFile(t *testing.T) {
	for _, withBackup := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "ha.json")
		s := OpenFileStore(p, FileStoreOptions{})
		put(t, s, "a", `1`, Write{})
		if withBackup {
			put(t, s, "b", `2`, Write{})
		}
		data, _ := os.ReadFile(p)
		os.WriteFile(p, data[:len(data)-3], 0o600)
		s2 := OpenFileStore(p, FileStoreOptions{})
		rec := s2.Recovery()
		if rec == nil {
			t.Fatal("truncated file not reported")
		}
		_, errA := s2.Get(context.Background(), "a")
		_, errB := s2.Get(context.Background(), "b")
		if withBackup && (rec.From != durable.FromBackup || errA != nil || !errors.Is(errB, ErrNotFound)) {
			t.Fatalf("from %s: a %v, b %v; want the backup holding a only", rec.From, errA, errB)
		}
		if !withBackup && (rec.From != durable.FromEmpty || !errors.Is(errA, ErrNotFound)) {
			t.Fatalf("from %s: a %v; want empty", rec.From, errA)
		}
	}
}

type fullDisk struct{ durable.OS }

type fullTemp struct{ *os.File }

func (fullTemp) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

func (fullDisk) CreateTemp(dir, pattern string) (durable.TempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	return fullTemp{f}, err
}

// TestFileStoreFullDisk: a write that cannot be saved returns the error and
// is undone in memory too.
func TestFileStoreFullDisk(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	p := filepath.Join(t.TempDir(), "ha.json")
	put(t, OpenFileStore(p, FileStoreOptions{Now: w.Now}), "a", `1`, Write{})
	s := OpenFileStore(p, FileStoreOptions{Now: w.Now, FS: fullDisk{}})
	if _, err := s.Put(ctx, "a", []byte(`2`), Write{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v", err)
	}
	if _, err := s.Put(ctx, "new", []byte(`2`), Write{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v", err)
	}
	if _, err := s.Delete(ctx, "a", Write{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Delete on a full disk: %v", err)
	}
	if err := s.Append(ctx, AuditEntry{At: w.Now(), ID: "x"}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v", err)
	}
	if it, err := s.Get(ctx, "a"); err != nil || string(it.Value) != "1" || it.Version != 1 {
		t.Fatalf("after failed writes: %+v, %v", it, err)
	}
	if _, err := s.Get(ctx, "new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed Put is visible: %v", err)
	}
	if _, err := s.Audit(ctx, w.Now(), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed Append is visible: %v", err)
	}
}

func TestFileStoreCapsAudit(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	s := OpenFileStore(filepath.Join(t.TempDir(), "ha.json"), FileStoreOptions{Now: w.Now, MaxAudit: 3})
	t0 := w.Now()
	for i := range 5 {
		if err := s.Append(ctx, AuditEntry{At: t0.Add(time.Duration(i) * time.Second), ID: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		_, err := s.Audit(ctx, t0.Add(time.Duration(i)*time.Second), "e")
		if (i < 2) != errors.Is(err, ErrNotFound) {
			t.Fatalf("entry %d: %v (the 2 oldest of 5 should be gone with a cap of 3)", i, err)
		}
	}
}
