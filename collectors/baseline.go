package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
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

// Chain asks its sources in order; the first manifest wins.
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

// DirSource reads manifests from a directory: files named after the AMI id
// with one of ManifestSuffixes, then an optional index mapping AMI ids or AMI
// name globs to files. Parsed manifests are cached and re-read when a file's
// modification time or size changes.
type DirSource struct {
	name    string
	dir     string
	index   string
	decode  func(name string, data []byte, ami string) (*drift.Manifest, error)
	mu      sync.Mutex
	files   map[fileKey]*cachedManifest
	idx     *cachedIndex
	statFor func(string) (os.FileInfo, error)
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
	s := &DirSource{name: name, dir: dir, index: index, decode: dec, files: map[fileKey]*cachedManifest{}, statFor: os.Stat}
	if index != "" {
		if _, err := s.loadIndex(); err != nil {
			return nil, fmt.Errorf("baseline source %s: %w", name, err)
		}
	}
	return s, nil
}

// Name implements BaselineSource.
func (s *DirSource) Name() string { return s.name }

// Resolve implements BaselineSource.
func (s *DirSource) Resolve(_ context.Context, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	for _, suf := range ManifestSuffixes {
		p := filepath.Join(s.dir, ami.ID+suf)
		if _, err := s.statFor(p); err == nil {
			return s.load(p, ami)
		}
	}
	if s.index == "" {
		return nil, Resolution{}, fmt.Errorf("%w: no %s.{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json} in %s", ErrNoManifest, ami.ID, s.dir)
	}
	entries, err := s.loadIndex()
	if err != nil {
		return nil, Resolution{}, err
	}
	for _, e := range entries {
		if e.AMI != "" && e.AMI == ami.ID {
			return s.load(filepath.Join(s.dir, e.File), ami)
		}
		if e.Name != "" && ami.Name != "" {
			if ok, _ := path.Match(e.Name, ami.Name); ok {
				return s.load(filepath.Join(s.dir, e.File), ami)
			}
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

func (s *DirSource) load(p string, ami AMIInfo) (*drift.Manifest, Resolution, error) {
	st, err := s.statFor(p)
	if err != nil {
		return nil, Resolution{}, fmt.Errorf("%s: %w", p, err)
	}
	s.mu.Lock()
	k := fileKey{p, ami.ID}
	c := s.files[k]
	if c == nil || !c.mtime.Equal(st.ModTime()) || c.size != st.Size() {
		c = &cachedManifest{mtime: st.ModTime(), size: st.Size()}
		data, err := os.ReadFile(p)
		if err != nil {
			c.err = err
		} else {
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
		}
		if c.err != nil {
			c.err = fmt.Errorf("%s: %w", p, c.err)
		}
		s.files[k] = c
	}
	s.mu.Unlock()
	if c.err != nil {
		return nil, Resolution{}, c.err
	}
	if c.m.AMI != "" && c.m.AMI != ami.ID {
		return nil, Resolution{}, fmt.Errorf("%s: manifest records ami_id %s, not %s", p, c.m.AMI, ami.ID)
	}
	return c.m, Resolution{Where: p, Version: c.version}, nil
}

func (s *DirSource) loadIndex() ([]IndexEntry, error) {
	p := filepath.Join(s.dir, s.index)
	st, err := s.statFor(p)
	if err != nil {
		return nil, fmt.Errorf("index %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx != nil && s.idx.mtime.Equal(st.ModTime()) && s.idx.size == st.Size() {
		return s.idx.entries, s.idx.err
	}
	c := &cachedIndex{mtime: st.ModTime(), size: st.Size()}
	c.entries, c.err = parseIndex(p)
	s.idx = c
	return c.entries, c.err
}

func parseIndex(p string) ([]IndexEntry, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	entries, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return entries, nil
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
