package durable

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// faultFS wraps OS and fails chosen calls, counting directory syncs.
type faultFS struct {
	OS
	mu        sync.Mutex
	writeErr  error // every temp-file write fails with this
	syncErr   error // every temp-file fsync fails with this
	renameErr error // renames onto this path fail
	renameTo  string
	noLinks   bool
	dirSyncs  int
	fsyncs    int
	temps     []string
}

type faultTemp struct {
	*os.File
	fs *faultFS
}

func (t faultTemp) Write(p []byte) (int, error) {
	if t.fs.writeErr != nil {
		// A full disk accepts part of the data, then fails.
		n, _ := t.File.Write(p[:len(p)/2])
		return n, t.fs.writeErr
	}
	return t.File.Write(p)
}

func (t faultTemp) Sync() error {
	t.fs.mu.Lock()
	t.fs.fsyncs++
	t.fs.mu.Unlock()
	if t.fs.syncErr != nil {
		return t.fs.syncErr
	}
	return t.File.Sync()
}

func (f *faultFS) CreateTemp(dir, pattern string) (TempFile, error) {
	t, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.temps = append(f.temps, t.Name())
	f.mu.Unlock()
	return faultTemp{t, f}, nil
}

func (f *faultFS) Rename(o, n string) error {
	if f.renameErr != nil && n == f.renameTo {
		return f.renameErr
	}
	return os.Rename(o, n)
}

func (f *faultFS) Link(o, n string) error {
	if f.noLinks {
		return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EPERM}
	}
	return os.Link(o, n)
}

func (f *faultFS) SyncDir(dir string) error {
	f.mu.Lock()
	f.dirSyncs++
	f.mu.Unlock()
	return f.OS.SyncDir(dir)
}

func checkJSON(b []byte) error {
	var v map[string]any
	return json.Unmarshal(b, &v)
}

func newFile(t *testing.T, fsys FS) *File {
	t.Helper()
	return &File{Path: filepath.Join(t.TempDir(), "state.json"), Check: checkJSON, FS: fsys}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestSaveKeepsPreviousAsBackupAndSyncs(t *testing.T) {
	fsys := &faultFS{}
	f := newFile(t, fsys)
	for _, v := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		if err := f.Save([]byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, f.Path); got != `{"n":3}` {
		t.Fatalf("file = %s", got)
	}
	if got := read(t, f.Path+BackupSuffix); got != `{"n":2}` {
		t.Fatalf("backup = %s", got)
	}
	if fsys.fsyncs != 3 || fsys.dirSyncs != 3 {
		t.Fatalf("fsyncs %d dir syncs %d, want 3 and 3", fsys.fsyncs, fsys.dirSyncs)
	}
	if names := dirNames(t, filepath.Dir(f.Path)); len(names) != 2 {
		t.Fatalf("directory holds %v, want the file and its backup only", names)
	}
	// Without hard links the backup is a synced copy.
	fsys.noLinks = true
	if err := f.Save([]byte(`{"n":4}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f.Path+BackupSuffix); got != `{"n":3}` {
		t.Fatalf("copied backup = %s", got)
	}
	if fsys.fsyncs != 5 {
		t.Fatalf("fsyncs %d, want 5 (file and backup copy)", fsys.fsyncs)
	}
}

func TestLoadFallsBack(t *testing.T) {
	good, older := `{"n":2}`, `{"n":1}`
	cases := []struct {
		name       string
		file, bak  *string // nil: absent
		want       string
		from       Source
		recovered  bool
		errContain string
	}{
		{name: "first start", from: FromNothing},
		{name: "good file", file: &good, bak: &older, want: good, from: FromFile},
		{name: "zero bytes", file: ptr(""), bak: &older, want: older, from: FromBackup, recovered: true, errContain: "empty (0 bytes)"},
		{name: "truncated", file: ptr(`{"n":2,"instan`), bak: &older, want: older, from: FromBackup, recovered: true, errContain: "unexpected end of JSON"},
		{name: "garbage", file: ptr("\x00\x01garbage"), bak: &older, want: older, from: FromBackup, recovered: true, errContain: "invalid character"},
		{name: "garbage, no backup", file: ptr("garbage"), from: FromEmpty, recovered: true, errContain: "no usable backup"},
		{name: "garbage, damaged backup", file: ptr("garbage"), bak: ptr(`{"n"`), from: FromEmpty, recovered: true, errContain: "unexpected end of JSON"},
		{name: "missing file, backup present", bak: &older, want: older, from: FromBackup, recovered: true, errContain: "missing while its backup exists"},
		{name: "missing file, damaged backup", bak: ptr(""), from: FromEmpty, recovered: true, errContain: "missing while its backup exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFile(t, nil)
			if c.file != nil {
				os.WriteFile(f.Path, []byte(*c.file), 0o600)
			}
			if c.bak != nil {
				os.WriteFile(f.Path+BackupSuffix, []byte(*c.bak), 0o600)
			}
			data, from, rec := f.Load()
			if string(data) != c.want || from != c.from || (rec != nil) != c.recovered {
				t.Fatalf("Load = %q, %s, %v; want %q, %s, recovered %v", data, from, rec, c.want, c.from, c.recovered)
			}
			if rec != nil {
				if rec.From != c.from || !strings.Contains(rec.Error(), c.errContain) || !strings.Contains(rec.Error(), f.Path) {
					t.Fatalf("recovery %q (from %s), want it to name the file and contain %q", rec, rec.From, c.errContain)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestSaveAfterDamageKeepsTheGoodBackup: the damaged file is moved aside,
// never made the backup.
func TestSaveAfterDamageKeepsTheGoodBackup(t *testing.T) {
	for _, loadFirst := range []bool{true, false} {
		f := newFile(t, nil)
		os.WriteFile(f.Path, []byte(`{"trunc`), 0o600)
		os.WriteFile(f.Path+BackupSuffix, []byte(`{"n":1}`), 0o600)
		if loadFirst {
			if _, from, _ := f.Load(); from != FromBackup {
				t.Fatalf("loaded from %s", from)
			}
		}
		if err := f.Save([]byte(`{"n":2}`)); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Path+BackupSuffix); got != `{"n":1}` {
			t.Fatalf("load first %v: backup = %s", loadFirst, got)
		}
		if got := read(t, f.Path+CorruptSuffix); got != `{"trunc` {
			t.Fatalf("load first %v: damaged copy = %s", loadFirst, got)
		}
		if got := read(t, f.Path); got != `{"n":2}` {
			t.Fatalf("file = %s", got)
		}
	}
}

// TestSaveFailuresLeaveTheFile: a full disk, a failing fsync or rename
// return an error wrapping the cause, keep the old contents and leave no
// temporary file behind.
func TestSaveFailuresLeaveTheFile(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*faultFS, *File)
		cause error
	}{
		{"disk full", func(fs *faultFS, _ *File) { fs.writeErr = syscall.ENOSPC }, syscall.ENOSPC},
		{"fsync fails", func(fs *faultFS, _ *File) { fs.syncErr = syscall.EIO }, syscall.EIO},
		{"rename fails", func(fs *faultFS, f *File) { fs.renameErr, fs.renameTo = syscall.EROFS, f.Path }, syscall.EROFS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := &faultFS{}
			f := newFile(t, fsys)
			if err := f.Save([]byte(`{"n":1}`)); err != nil {
				t.Fatal(err)
			}
			c.setup(fsys, f)
			err := f.Save([]byte(`{"n":2,"more":"data"}`))
			if !errors.Is(err, c.cause) || !strings.Contains(err.Error(), f.Path) {
				t.Fatalf("Save error %v, want one naming the file and wrapping %v", err, c.cause)
			}
			if got := read(t, f.Path); got != `{"n":1}` {
				t.Fatalf("file = %s after a failed save", got)
			}
			for _, tmp := range fsys.temps {
				if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("temporary file %s left behind", tmp)
				}
			}
			data, from, rec := f.Load()
			if string(data) != `{"n":1}` || rec != nil {
				t.Fatalf("load after failed save: %s from %s (%v)", data, from, rec)
			}
		})
	}
}

func TestBackupFailureIsReportedAfterTheSave(t *testing.T) {
	fsys := &faultFS{}
	f := newFile(t, fsys)
	if err := f.Save([]byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	fsys.renameErr, fsys.renameTo = syscall.EIO, f.Path+BackupSuffix
	err := f.Save([]byte(`{"n":2}`))
	if !errors.Is(err, ErrBackup) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("error %v, want ErrBackup wrapping EIO", err)
	}
	if got := read(t, f.Path); got != `{"n":2}` {
		t.Fatalf("file = %s", got)
	}
}
