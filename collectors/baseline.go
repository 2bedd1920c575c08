package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// ErrNoManifest means a source has no manifest for the AMI. It is not an
// error of the source (not counted in driftd_baseline_errors_total).
var ErrNoManifest = errors.New("no manifest")

// Resolution says which source answered for an AMI and why others did not.
type Resolution struct {
	Source  string // name of the source that answered ("" when none did)
	Where   string // file path, S3 URI, parameter name...
	Version string // content digest or ETag: changes whenever the manifest does
	// Tried lists the sources that did not answer, with the reason.
	Tried []Attempt
}

// Attempt is one source that failed to produce a manifest.
type Attempt struct {
	Source string
	Reason string
	// Missing is true when the source simply had no manifest (not an error).
	Missing bool
}

// BaselineSource resolves the baseline manifest of an AMI. Implementations
// return an error wrapping ErrNoManifest when they have none, another error
// when they have one that cannot be used (unreadable, invalid, wrong AMI).
// The returned manifest is normalised and must not be modified.
type BaselineSource interface {
	Name() string
	Resolve(ctx context.Context, ami AMIInfo) (*drift.Manifest, Resolution, error)
}

// BaselineErrorRecorder counts source errors (driftd_baseline_errors_total).
type BaselineErrorRecorder interface{ BaselineError(source string) }

// Chain asks its sources in order; the first manifest wins. It is safe for
// concurrent use when its sources are (the scan resolves several AMIs at
// once).
type Chain struct {
	Sources  []BaselineSource
	Recorder BaselineErrorRecorder
}

// Resolve implements the chain. With no manifest anywhere the error lists
// every source tried and why it failed.
func (c *Chain) Resolve(ctx context.Context, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	var res Resolution
	for _, s := range c.Sources {
		m, r, err := s.Resolve(ctx, ami)
		if err == nil {
			r.Source = s.Name()
			r.Tried = res.Tried
			return m, r, nil
		}
		missing := errors.Is(err, ErrNoManifest)
		if !missing && c.Recorder != nil {
			c.Recorder.BaselineError(s.Name())
		}
		res.Tried = append(res.Tried, Attempt{Source: s.Name(), Reason: err.Error(), Missing: missing})
	}
	if len(res.Tried) == 0 {
		return nil, res, fmt.Errorf("no baseline for %s: no baseline sources configured", ami.ID)
	}
	parts := make([]string, len(res.Tried))
	for i, a := range res.Tried {
		parts[i] = a.Source + ": " + a.Reason
	}
	return nil, res, fmt.Errorf("no baseline for %s (%s)", ami.ID, strings.Join(parts, "; "))
}

// ManifestDecoder turns a file into a manifest; the file name selects the
// format (.yaml/.yml/.json native, .cdx.json, .spdx.json, .imagebuilder.json).
type ManifestDecoder func(name string, data []byte) (*drift.Manifest, error)

// DirTimeout bounds one resolution by a DirSource (stat, read, decode).
const DirTimeout = 10 * time.Second

// DirSource reads manifests from a directory: files named after the AMI id
// with one of ManifestSuffixes, then an optional index mapping AMI ids or AMI
// name globs to files. Parsed manifests are cached and re-read when a file's
// modification time or size changes.
//
// Only regular files are read (symbolic links are followed first): a named
// pipe, a device, a socket or a directory in their place is an error, and so
// is a file larger than manifest.MaxDocumentBytes. A resolution is bounded by
// DirTimeout and by the caller's context; a read that blocks in the kernel (a
// hung network file system) is abandoned, not waited for, and while it has
// not returned later resolutions of that AMI fail at once instead of
// queueing behind it. No lock is held during I/O, so a slow AMI never delays
// another.
type DirSource struct {
	name    string
	dir     string
	index   string
	decode  func(name string, data []byte, ami string) (*drift.Manifest, error)
	timeout time.Duration

	mu      sync.Mutex // guards the maps below; never held during I/O
	files   map[fileKey]*cachedManifest
	idx     *cachedIndex
	flights map[flightKey]*flight // resolutions in progress
	stuck   map[flightKey]*flight // abandoned resolutions that have not returned

	// stat and read are the file system (tests replace them).
	stat func(string) (os.FileInfo, error)
	read func(ctx context.Context, path string, max int64) ([]byte, os.FileInfo, error)
}

// ManifestSuffixes are tried, in order, for <dir>/<ami-id><suffix>.
var ManifestSuffixes = []string{".yaml", ".yml", ".json", ".cdx.json", ".spdx.json", ".imagebuilder.json"}

// fileKey caches a file per AMI: a file mapped by a name glob serves several
// AMIs and takes the AMI id of each when it records none.
type fileKey struct{ path, ami string }

type cachedManifest struct {
	mtime   time.Time
	size    int64
	m       *drift.Manifest
	version string
	err     error
}

type cachedIndex struct {
	mtime   time.Time
	size    int64
	entries []IndexEntry
	err     error
}

// flightKey identifies one resolution (the AMI name selects index globs).
type flightKey struct{ id, name string }

// flight is one resolution running on its own goroutine; callers wait for
// it or for their context, whichever ends first.
type flight struct {
	done    chan struct{}
	cancel  context.CancelFunc
	started time.Time
	waiters int                    // guarded by DirSource.mu
	where   atomic.Pointer[string] // the file being worked on
	m       *drift.Manifest
	res     Resolution
	err     error
}

func (f *flight) at(p string) { f.where.Store(&p) }

func (f *flight) file() string {
	if p := f.where.Load(); p != nil {
		return *p
	}
	return ""
}

// IndexEntry maps an AMI id or an AMI name glob to a manifest file.
type IndexEntry struct {
	AMI  string `yaml:"ami"`
	Name string `yaml:"name"`
	File string `yaml:"file"`
}

type indexFile struct {
	Entries []IndexEntry `yaml:"entries"`
}

// NewDirSource checks the directory exists and returns the source. index is
// relative to dir ("" for none). decode nil uses drift/manifest.Decode
// (native YAML/JSON, CycloneDX, SPDX, Image Builder lists) told the AMI id,
// so documents that record none (SBOMs, shared files mapped by a name glob)
// take the AMI they are resolved for.
func NewDirSource(name, dir, index string, decode ManifestDecoder) (*DirSource, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("baseline source %s: %w", name, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("baseline source %s: %s is not a directory", name, dir)
	}
	dec := func(name string, data []byte, ami string) (*drift.Manifest, error) {
		return manifest.Decode(name, data, manifest.Options{AMI: ami})
	}
	if decode != nil {
		dec = func(name string, data []byte, _ string) (*drift.Manifest, error) { return decode(name, data) }
	}
	s := &DirSource{name: name, dir: dir, index: index, decode: dec, timeout: DirTimeout,
		files: map[fileKey]*cachedManifest{}, flights: map[flightKey]*flight{}, stuck: map[flightKey]*flight{},
		stat: os.Stat, read: ReadRegularFile}
	if index != "" {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if _, err := s.loadIndex(ctx); err != nil {
			return nil, fmt.Errorf("baseline source %s: %w", name, err)
		}
	}
	return s, nil
}

// Name implements BaselineSource.
func (s *DirSource) Name() string { return s.name }

// Resolve implements BaselineSource. It is safe for concurrent use.
func (s *DirSource) Resolve(ctx context.Context, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	key := flightKey{ami.ID, ami.Name}
	s.mu.Lock()
	if st := s.stuck[key]; st != nil {
		s.mu.Unlock()
		return nil, Resolution{}, fmt.Errorf("%s: an earlier read started %s ago has still not returned; the file system is not responding",
			orDir(st.file(), s.dir), time.Since(st.started).Round(time.Second))
	}
	f := s.flights[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel, started: time.Now()}
		s.flights[key] = f
		go s.run(fctx, key, f, ami)
	}
	f.waiters++
	s.mu.Unlock()

	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	select {
	case <-f.done:
		return f.m, f.res, f.err
	case <-tctx.Done():
	}
	select { // finished at the same moment: use the answer
	case <-f.done:
		return f.m, f.res, f.err
	default:
	}
	s.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		// Nobody waits any more: stop the work at its next step. If it is
		// blocked in the kernel it stays registered as stuck until it returns.
		f.cancel()
		if s.flights[key] == f {
			delete(s.flights, key)
			s.stuck[key] = f
		}
	}
	s.mu.Unlock()
	where := orDir(f.file(), s.dir)
	if ctx.Err() != nil {
		return nil, Resolution{}, fmt.Errorf("%s: reading interrupted: %w", where, context.Cause(ctx))
	}
	return nil, Resolution{}, fmt.Errorf("%s: no answer within %s; the file system is not responding", where, s.timeout)
}

func orDir(file, dir string) string {
	if file == "" {
		return dir
	}
	return file
}

// run resolves on the flight's goroutine and publishes the answer.
func (s *DirSource) run(ctx context.Context, key flightKey, f *flight, ami AMIInfo) {
	f.m, f.res, f.err = s.resolve(ctx, f, ami)
	s.mu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	if s.stuck[key] == f {
		delete(s.stuck, key)
	}
	s.mu.Unlock()
	f.cancel()
	close(f.done)
}

func (s *DirSource) resolve(ctx context.Context, f *flight, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	for _, suf := range ManifestSuffixes {
		p := filepath.Join(s.dir, ami.ID+suf)
		f.at(p)
		if err := ctx.Err(); err != nil {
			return nil, Resolution{}, fmt.Errorf("%s: %w", p, err)
		}
		st, err := s.stat(p)
		switch {
		case err == nil:
			return s.load(ctx, p, st, ami)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, Resolution{}, err // *PathError names the file
		}
	}
	if s.index == "" {
		return nil, Resolution{}, fmt.Errorf("%w: no %s.{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json} in %s", ErrNoManifest, ami.ID, s.dir)
	}
	f.at(filepath.Join(s.dir, s.index))
	entries, err := s.loadIndex(ctx)
	if err != nil {
		return nil, Resolution{}, err
	}
	for _, e := range entries {
		match := e.AMI != "" && e.AMI == ami.ID
		if !match && e.Name != "" && ami.Name != "" {
			match, _ = path.Match(e.Name, ami.Name)
		}
		if match {
			p := filepath.Join(s.dir, e.File)
			f.at(p)
			st, err := s.stat(p)
			if err != nil {
				return nil, Resolution{}, err
			}
			return s.load(ctx, p, st, ami)
		}
	}
	why := fmt.Sprintf("no file for %s in %s and no index entry", ami.ID, s.dir)
	if ami.Name != "" {
		why += fmt.Sprintf(" for it or its name %q", ami.Name)
	} else {
		why += " (AMI name unknown)"
	}
	return nil, Resolution{}, fmt.Errorf("%w: %s", ErrNoManifest, why)
}

// load returns the manifest of file p for ami, from the cache while the
// file's modification time and size are unchanged.
func (s *DirSource) load(ctx context.Context, p string, st os.FileInfo, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	if err := RegularFile(st); err != nil {
		return nil, Resolution{}, fmt.Errorf("%s: %w", p, err)
	}
	k := fileKey{p, ami.ID}
	s.mu.Lock()
	c := s.files[k]
	s.mu.Unlock()
	if c == nil || !c.mtime.Equal(st.ModTime()) || c.size != st.Size() {
		c = s.parse(ctx, p, ami)
		if c.err != nil && ctx.Err() != nil {
			// abandoned: do not cache an answer that says nothing about the file
			return nil, Resolution{}, c.err
		}
		s.mu.Lock()
		s.files[k] = c
		s.mu.Unlock()
	}
	if c.err != nil {
		return nil, Resolution{}, c.err
	}
	if c.m.AMI != "" && c.m.AMI != ami.ID {
		return nil, Resolution{}, fmt.Errorf("%s: manifest records ami_id %s, not %s", p, c.m.AMI, ami.ID)
	}
	return c.m, Resolution{Where: p, Version: c.version}, nil
}

// parse reads and decodes file p; the cache entry carries the size and
// modification time of what was read.
func (s *DirSource) parse(ctx context.Context, p string, ami AMIInfo) *cachedManifest {
	c := &cachedManifest{}
	data, st, err := s.read(ctx, p, manifest.MaxDocumentBytes)
	if err != nil {
		c.err = fmt.Errorf("%s: %w", p, err)
		return c
	}
	c.mtime, c.size = st.ModTime(), st.Size()
	sum := sha256.Sum256(data)
	c.version = hex.EncodeToString(sum[:8])
	c.m, c.err = s.decode(filepath.Base(p), data, ami.ID)
	if c.err == nil && c.m == nil {
		c.err = errors.New("decoder returned no manifest")
	}
	if c.err == nil {
		c.err = c.m.Normalize()
	}
	if c.err == nil && c.m.Source == "" {
		c.m.Source = p
	}
	if c.err != nil {
		c.m = nil
		c.err = fmt.Errorf("%s: %w", p, c.err)
	}
	return c
}

func (s *DirSource) loadIndex(ctx context.Context) ([]IndexEntry, error) {
	p := filepath.Join(s.dir, s.index)
	st, err := s.stat(p)
	if err != nil {
		return nil, fmt.Errorf("index %w", err)
	}
	if err := RegularFile(st); err != nil {
		return nil, fmt.Errorf("index %s: %w", p, err)
	}
	s.mu.Lock()
	c := s.idx
	s.mu.Unlock()
	if c != nil && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.entries, c.err
	}
	c = &cachedIndex{}
	data, rst, err := s.read(ctx, p, manifest.MaxDocumentBytes)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", p, err)
	}
	c.mtime, c.size = rst.ModTime(), rst.Size()
	if c.entries, c.err = ParseIndex(data); c.err != nil {
		c.err = fmt.Errorf("%s: %w", p, c.err)
	}
	s.mu.Lock()
	s.idx = c
	s.mu.Unlock()
	return c.entries, c.err
}

// RegularFile returns an error unless fi describes a regular file: a
// baseline is never read from a named pipe (a read would wait for a
// writer), a device (/dev/zero never ends), a socket or a directory.
func RegularFile(fi os.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return errors.New("is a directory, not a regular file")
	case m&fs.ModeNamedPipe != 0:
		return errors.New("is a named pipe (FIFO), not a regular file")
	case m&fs.ModeCharDevice != 0:
		return errors.New("is a character device, not a regular file")
	case m&fs.ModeDevice != 0:
		return errors.New("is a device, not a regular file")
	case m&fs.ModeSocket != 0:
		return errors.New("is a socket, not a regular file")
	}
	return fmt.Errorf("is not a regular file (mode %s)", m.Type())
}

// readChunk is how much ReadRegularFile reads between checks of its context.
const readChunk = 1 << 20

// ReadRegularFile reads the regular file at path (symbolic links followed),
// at most max bytes, checking ctx between chunks. The file is opened
// non-blocking and checked with fstat before any read, so a named pipe or a
// device swapped in after a stat is refused, never read.
func ReadRegularFile(ctx context.Context, path string, max int64) ([]byte, os.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := RegularFile(st); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err = f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := RegularFile(st); err != nil {
		return nil, nil, err
	}
	tooLarge := fmt.Errorf("larger than the limit of %d MiB", max>>20)
	if st.Size() > max {
		return nil, nil, tooLarge
	}
	buf := make([]byte, 0, st.Size()+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, readChunk)
		}
		end := min(cap(buf), len(buf)+readChunk)
		n, err := f.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, nil, tooLarge // grew while being read
		}
		if errors.Is(err, io.EOF) {
			return buf, st, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// ParseIndex decodes and validates a baseline index file.
func ParseIndex(data []byte) ([]IndexEntry, error) {
	var f indexFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decoding index: %w", err)
	}
	for i, e := range f.Entries {
		switch {
		case e.File == "":
			return nil, fmt.Errorf("entries[%d].file: required", i)
		case (e.AMI == "") == (e.Name == ""):
			return nil, fmt.Errorf("entries[%d]: exactly one of ami or name is required", i)
		case filepath.IsAbs(e.File) || strings.HasPrefix(filepath.Clean(e.File), ".."):
			return nil, fmt.Errorf("entries[%d].file: %q must be relative and inside the directory", i, e.File)
		}
		if e.Name != "" {
			if _, err := path.Match(e.Name, ""); err != nil {
				return nil, fmt.Errorf("entries[%d].name: bad glob %q", i, e.Name)
			}
		}
	}
	return f.Entries, nil
}
