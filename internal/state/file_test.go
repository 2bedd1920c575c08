package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/durable"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func saved(t *testing.T, path string, ids ...string) {
	t.Helper()
	s := New()
	for _, id := range ids {
		s.Record(rep(id, drift.VerdictDrifted, 1), Inputs{}, t0)
	}
	if err := s.Save(path, t0); err != nil {
		t.Fatal(err)
	}
}

func ids(s *Store) string {
	var out []string
	for _, e := range s.List() {
		out = append(out, e.InstanceID)
	}
	return strings.Join(out, ",")
}

// TestDamagedStateFileStartsFromBackupOrEmpty: a 0-byte, truncated or
// garbage state file never stops the daemon: it starts from the last good
// copy, or empty, and the store's Recovery flags it.
func TestDamagedStateFileStartsFromBackupOrEmpty(t *testing.T) {
	damage := map[string]func(good []byte) []byte{
		"zero bytes":  func([]byte) []byte { return nil },
		"truncated":   func(g []byte) []byte { return g[:len(g)/2] },
		"garbage":     func([]byte) []byte { return []byte("\x7fELF\x02\x01 not json") },
		"new version": func([]byte) []byte { return []byte(`{"version":99,"instances":[]}`) },
		"no id":       func([]byte) []byte { return []byte(`{"version":1,"instances":[{"ami_id":"ami-1"}]}`) },
	}
	for name, damageFn := range damage {
		for _, withBackup := range []bool{true, false} {
			t.Run(name+map[bool]string{true: ", backup", false: ", no backup"}[withBackup], func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "state.json")
				saved(t, p, "i-old")
				if withBackup {
					saved(t, p, "i-new", "i-old") // the first file becomes state.json.bak
				} else {
					os.Remove(p + durable.BackupSuffix)
				}
				good, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, damageFn(good), 0o600); err != nil {
					t.Fatal(err)
				}
				s, err := Load(p)
				if err != nil || s == nil {
					t.Fatalf("Load failed (%v): a damaged file must not stop the daemon", err)
				}
				rec := s.Recovery()
				if rec == nil {
					t.Fatal("no recovery reported")
				}
				wantIDs, wantFrom := "", durable.FromEmpty
				if withBackup {
					wantIDs, wantFrom = "i-old", durable.FromBackup
				}
				if got := ids(s); got != wantIDs || rec.From != wantFrom {
					t.Fatalf("started with [%s] from %s, want [%s] from %s", got, rec.From, wantIDs, wantFrom)
				}
				if !strings.Contains(rec.Error(), p) {
					t.Fatalf("recovery %q does not name the file", rec)
				}
				// The next save keeps the damaged file aside and the good backup.
				if err := s.Save(p, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(p + durable.CorruptSuffix); err != nil {
					t.Fatalf("damaged file not kept aside: %v", err)
				}
				s2, _ := Load(p)
				if s2.Recovery() != nil || ids(s2) != wantIDs {
					t.Fatalf("after the save: [%s], recovery %v", ids(s2), s2.Recovery())
				}
			})
		}
	}
}

func TestCleanLoadReportsNoRecovery(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	s, err := Load(p)
	if err != nil || s.Recovery() != nil || s.Len() != 0 {
		t.Fatalf("first start: %v %v %d", err, s.Recovery(), s.Len())
	}
	saved(t, p, "i-1", "i-2")
	s, err = Load(p)
	if err != nil || s.Recovery() != nil || ids(s) != "i-1,i-2" {
		t.Fatalf("clean load: %v %v [%s]", err, s.Recovery(), ids(s))
	}
}

// fullDisk fails every temp-file write with ENOSPC.
type fullDisk struct{ durable.OS }

type fullTemp struct{ *os.File }

func (fullTemp) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

func (fullDisk) CreateTemp(dir, pattern string) (durable.TempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return fullTemp{f}, nil
}

// TestSaveOnFullDisk: ENOSPC is returned to the caller (the daemon counts
// it and fails /-/ready) and the previous file stays loadable.
func TestSaveOnFullDisk(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	saved(t, p, "i-1")
	s, _ := load(p, fullDisk{})
	s.Record(rep("i-2", drift.VerdictInSync, 0), Inputs{}, t0)
	err := s.Save(p, t0)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), p) {
		t.Fatalf("Save on a full disk: %v, want ENOSPC naming %s", err, p)
	}
	s2, _ := Load(p)
	if s2.Recovery() != nil || ids(s2) != "i-1" {
		t.Fatalf("after the failed save: [%s], recovery %v", ids(s2), s2.Recovery())
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".state.json.tmp-*")); len(names) != 0 {
		t.Fatalf("temporary files left: %v", names)
	}
}
