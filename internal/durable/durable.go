// Package durable writes small files so that a crash, a power loss or a full
// disk never leaves a reader with nothing usable, and reads them back so that
// a damaged file never stops the program.
//
// A save writes a temporary file in the target's directory, fsyncs it, keeps
// the previous good file as <path>.bak (a hard link, or a synced copy where
// links are not supported), renames the temporary file over the target and
// fsyncs the directory. A load that finds the target missing, empty,
// truncated or otherwise undecodable falls back to <path>.bak, then to
// nothing, and reports the fallback as a Recovery so the caller can log it
// loudly and expose it as a metric. A damaged target is moved aside to
// <path>.corrupt by the next save, never used as the backup.
package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Suffixes of the files kept next to the target.
const (
	BackupSuffix  = ".bak"
	CorruptSuffix = ".corrupt"
)

// ErrBackup marks a save whose new contents are in place but whose previous
// good copy could not be kept as the backup.
var ErrBackup = errors.New("keeping the previous copy as backup failed")

// TempFile is a temporary file being written.
type TempFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// FS is the file-system calls a File makes; OS is the real file system.
// Tests inject failures (a full disk, a failing rename) through it.
type FS interface {
	CreateTemp(dir, pattern string) (TempFile, error)
	ReadFile(name string) ([]byte, error)
	Rename(oldpath, newpath string) error
	Link(oldname, newname string) error
	Remove(name string) error
	// SyncDir fsyncs a directory so that renames in it are durable.
	SyncDir(dir string) error
}

// OS is the operating system's file system.
type OS struct{}

// CreateTemp calls os.CreateTemp.
func (OS) CreateTemp(dir, pattern string) (TempFile, error) { return os.CreateTemp(dir, pattern) }

// ReadFile calls os.ReadFile.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Rename calls os.Rename.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Link calls os.Link.
func (OS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Remove calls os.Remove.
func (OS) Remove(name string) error { return os.Remove(name) }

// SyncDir opens dir and fsyncs it.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}

// Source says where loaded contents came from.
type Source string

const (
	// FromNothing: neither the file nor its backup exists (a first start).
	FromNothing Source = "nothing"
	// FromFile: the file itself.
	FromFile Source = "file"
	// FromBackup: the file was missing or damaged; its backup was used.
	FromBackup Source = "backup"
	// FromEmpty: the file was damaged and no usable backup exists; the
	// caller starts empty.
	FromEmpty Source = "empty"
)

// Recovery describes a load that could not use the file itself.
type Recovery struct {
	Path      string
	From      Source // FromBackup or FromEmpty
	Err       error  // why the file could not be used
	BackupErr error  // why the backup could not be used (From == FromEmpty)
}

func (r *Recovery) Error() string {
	switch r.From {
	case FromBackup:
		return fmt.Sprintf("%s unusable (%v): started from the backup %s%s", r.Path, r.Err, r.Path, BackupSuffix)
	default:
		return fmt.Sprintf("%s unusable (%v) and no usable backup (%v): started empty", r.Path, r.Err, r.BackupErr)
	}
}

func (r *Recovery) Unwrap() error { return r.Err }

// ErrEmpty is the decode error of a zero-byte file.
var ErrEmpty = errors.New("file is empty (0 bytes)")

// File is one durable file. The zero value is not usable: set Path and
// Check. Methods are safe for concurrent use; saves are serialised.
type File struct {
	Path string
	// Check reports whether contents are valid (decodable and complete).
	Check func([]byte) error
	// FS is the file system (nil: OS).
	FS FS

	mu sync.Mutex
	// good: the file at Path is known valid (loaded or written by us);
	// bad: known damaged; neither: not looked at yet.
	good, bad bool
}

func (f *File) fs() FS {
	if f.FS == nil {
		return OS{}
	}
	return f.FS
}

func (f *File) check(data []byte) error {
	if len(data) == 0 {
		return ErrEmpty
	}
	return f.Check(data)
}

// Load returns the contents to start from: the file, else its backup, else
// nil. It never fails: a damaged file is reported through the Recovery
// (nil when the file itself, or nothing at all on a first start, was used).
func (f *File) Load() ([]byte, Source, *Recovery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fsys := f.fs()
	data, err := fsys.ReadFile(f.Path)
	if err == nil {
		err = f.check(data)
		if err == nil {
			f.good, f.bad = true, false
			return data, FromFile, nil
		}
		f.good, f.bad = false, true
	}
	missing := errors.Is(err, os.ErrNotExist)
	bak, berr := fsys.ReadFile(f.Path + BackupSuffix)
	if berr == nil {
		berr = f.check(bak)
		if berr == nil {
			if missing {
				err = errors.New("file missing while its backup exists")
			}
			return bak, FromBackup, &Recovery{Path: f.Path, From: FromBackup, Err: err}
		}
	}
	if missing && errors.Is(berr, os.ErrNotExist) {
		return nil, FromNothing, nil
	}
	if missing {
		err = errors.New("file missing while its backup exists")
	}
	return nil, FromEmpty, &Recovery{Path: f.Path, From: FromEmpty, Err: err, BackupErr: berr}
}

// Save replaces the file's contents durably. An error before the rename
// leaves the file as it was (a full disk returns an error wrapping
// syscall.ENOSPC); an error wrapping ErrBackup means the new contents are in
// place but the previous copy could not be kept.
func (f *File) Save(data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fsys := f.fs()
	dir, base := filepath.Split(f.Path)
	if dir == "" {
		dir = "."
	}
	tmp, err := fsys.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", f.Path, err)
	}
	fail := func(err error) error {
		_ = tmp.Close()
		_ = fsys.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", f.Path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		_ = fsys.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", f.Path, err)
	}
	bakErr := f.keepPrevious(fsys)
	if err := fsys.Rename(tmp.Name(), f.Path); err != nil {
		_ = fsys.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", f.Path, err)
	}
	f.good, f.bad = true, false
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("saving %s: syncing directory: %w", f.Path, err)
	}
	if bakErr != nil {
		return fmt.Errorf("saving %s: %w: %w", f.Path, ErrBackup, bakErr)
	}
	return nil
}

// keepPrevious makes the current file the backup when it is valid, or moves
// it aside when it is damaged. A missing file leaves the backup alone.
func (f *File) keepPrevious(fsys FS) error {
	good, bad := f.good, f.bad
	var cur []byte
	if !good && !bad {
		data, err := fsys.ReadFile(f.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil
		case err != nil:
			bad = true
		case f.check(data) != nil:
			bad = true
		default:
			good, cur = true, data
		}
	}
	if bad {
		// Keep the evidence, never as the backup.
		err := fsys.Rename(f.Path, f.Path+CorruptSuffix)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	bak := f.Path + BackupSuffix
	staging := bak + ".tmp"
	_ = fsys.Remove(staging)
	err := fsys.Link(f.Path, staging)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		// No hard links here: copy, durably.
		if cur == nil {
			if cur, err = fsys.ReadFile(f.Path); err != nil {
				return err
			}
		}
		return copyFile(fsys, staging, cur, bak)
	}
	if err := fsys.Rename(staging, bak); err != nil {
		_ = fsys.Remove(staging)
		return err
	}
	return nil
}

func copyFile(fsys FS, staging string, data []byte, dst string) error {
	dir, base := filepath.Split(staging)
	if dir == "" {
		dir = "."
	}
	t, err := fsys.CreateTemp(dir, "."+base+"-*")
	if err != nil {
		return err
	}
	_, werr := t.Write(data)
	if werr == nil {
		werr = t.Sync()
	}
	if cerr := t.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = fsys.Rename(t.Name(), dst)
	}
	if werr != nil {
		_ = fsys.Remove(t.Name())
	}
	return werr
}
