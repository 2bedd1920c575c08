// Package state keeps driftd's small per-instance memory between scans:
// last verdict and severity, a findings summary (full list only for drifted
// instances, capped), first-seen-drifted time, consecutive drifted scans
// (debounce for remediation), and the inventory CaptureTime per type (so an
// unchanged instance is not re-collected). No package lists are retained.
//
// State survives restarts through an optional JSON file (written and read
// through internal/durable, so a crash or a damaged file never loses more
// than the last save and never stops the daemon), and first-seen times
// through the driftd:status / driftd:since instance tags.
package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/durable"
)

// MaxFindings caps the findings kept per drifted instance.
const MaxFindings = 20

// MaxTimeline bounds the points of an instance's verdict timeline: the
// oldest are dropped first.
const MaxTimeline = 50

// FileVersion is the state file's schema version.
const FileVersion = 1

// Point is one change in an instance's verdict timeline: the verdict, or
// the drift gap (the number of findings) or the severity while drifted,
// as recorded by the scan at At.
type Point struct {
	At       time.Time      `json:"at"`
	Verdict  drift.Verdict  `json:"verdict"`
	Severity drift.Severity `json:"severity,omitempty"`
	// Findings is the exact number of findings (0 unless drifted).
	Findings int `json:"findings,omitempty"`
}

// Entry is what driftd remembers about one instance.
type Entry struct {
	InstanceID string         `json:"instance_id"`
	ASG        string         `json:"asg,omitempty"`
	AMI        string         `json:"ami_id"`
	Verdict    drift.Verdict  `json:"verdict"`
	Severity   drift.Severity `json:"severity"`
	Reasons    []string       `json:"reasons,omitempty"`
	// Counts are finding counts by "category/severity".
	Counts map[string]int `json:"counts,omitempty"`
	// Findings holds the top findings (drifted instances only, at most
	// MaxFindings, most severe first); FindingsTotal is the full count.
	Findings      []drift.Finding `json:"findings,omitempty"`
	FindingsTotal int             `json:"findings_total,omitempty"`
	Suppressed    int             `json:"suppressed,omitempty"`
	// FirstDrifted is when the current run of drifted verdicts began.
	FirstDrifted time.Time `json:"first_drifted,omitzero"`
	// ConsecutiveDrifted counts consecutive drifted scans (0 when not drifted).
	ConsecutiveDrifted int `json:"consecutive_drifted,omitempty"`
	// LastTransition is when Verdict last changed.
	LastTransition time.Time `json:"last_transition,omitzero"`
	LastScan       time.Time `json:"last_scan,omitzero"`
	OldestCapture  time.Time `json:"oldest_capture,omitzero"`
	// Captures is the inventory CaptureTime per type at the last full read.
	Captures map[string]time.Time `json:"captures,omitempty"`
	// Inputs identify what the verdict was computed from; a verdict is only
	// reused when all of them are unchanged.
	BaselineVersion   string `json:"baseline_version,omitempty"`
	PolicyVersion     string `json:"policy_version,omitempty"`
	LaunchTemplateAMI string `json:"launch_template_ami,omitempty"`
	// BaselineSource names the baseline source that answered and
	// BaselineWhere where it read the manifest (file, S3 URI, parameter).
	BaselineSource string `json:"baseline_source,omitempty"`
	BaselineWhere  string `json:"baseline_where,omitempty"`
	// Timeline holds the changes of verdict and drift gap, oldest first, at
	// most MaxTimeline (a scan that changes neither adds no point).
	Timeline []Point `json:"timeline,omitempty"`
}

// CountKey is the Counts key of a finding (drift.CountKey).
func CountKey(c drift.Category, s drift.Severity) string { return drift.CountKey(c, s) }

// Store is the in-memory state, safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	entries map[string]*Entry

	fileMu   sync.Mutex
	file     *durable.File
	fs       durable.FS // nil: the OS; tests inject failures
	recovery *durable.Recovery
}

// New returns an empty store.
func New() *Store { return &Store{entries: map[string]*Entry{}} }

// Get returns a copy of an instance's entry.
func (s *Store) Get(id string) (Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[id]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Len returns the number of instances remembered.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// List returns copies of all entries sorted by instance id.
func (s *Store) List() []Entry {
	s.mu.RLock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, *e)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out
}

// Inputs are the facts a report was computed from.
type Inputs struct {
	Captures          map[string]time.Time // nil keeps the previous captures
	BaselineVersion   string
	PolicyVersion     string
	LaunchTemplateAMI string
	// BaselineSource and BaselineWhere say which source answered and where
	// (empty keeps the previous ones when the version is unchanged).
	BaselineSource, BaselineWhere string
	// Reused marks a report rebuilt from this store (inventory unchanged):
	// the retained finding counts and findings are kept as they were.
	Reused bool
}

// Record stores a scan's report for an instance and returns the previous
// entry (ok false when the instance is new). Verdict history (first drifted,
// consecutive drifted, last transition) is updated here.
func (s *Store) Record(r *drift.Report, in Inputs, now time.Time) (prev Entry, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.entries[r.InstanceID]
	e := &Entry{
		InstanceID: r.InstanceID, ASG: r.ASG, AMI: r.AMI,
		Verdict: r.Verdict, Severity: r.Severity, Reasons: r.Reasons,
		Suppressed: r.Suppressed, LastScan: now, OldestCapture: r.OldestCapture,
		Captures: in.Captures, BaselineVersion: in.BaselineVersion, PolicyVersion: in.PolicyVersion,
		LaunchTemplateAMI: in.LaunchTemplateAMI, BaselineSource: in.BaselineSource, BaselineWhere: in.BaselineWhere,
	}
	if old != nil {
		prev, ok = *old, true
		if e.Captures == nil {
			e.Captures = old.Captures
		}
		if e.BaselineSource == "" && e.BaselineWhere == "" && e.BaselineVersion == old.BaselineVersion {
			e.BaselineSource, e.BaselineWhere = old.BaselineSource, old.BaselineWhere
		}
	}
	if len(r.Findings) > 0 {
		// A report lists at most drift.MaxFindings findings; its counts and
		// total are exact. Reports built without them count what they list.
		e.FindingsTotal = max(r.FindingsTotal, len(r.Findings))
		if r.Counts != nil {
			e.Counts = maps.Clone(r.Counts)
		} else {
			e.Counts = map[string]int{}
			for _, f := range r.Findings {
				e.Counts[CountKey(f.Category, f.Severity)]++
			}
		}
		if r.Verdict == drift.VerdictDrifted {
			e.Findings = drift.TopFindings(r.Findings, MaxFindings)
		}
	}
	if in.Reused && ok && old.Verdict == r.Verdict {
		e.Counts, e.FindingsTotal, e.Findings = old.Counts, old.FindingsTotal, old.Findings
	}
	switch {
	case !ok:
		e.LastTransition = now
	case old.Verdict != r.Verdict:
		e.LastTransition = now
	default:
		e.LastTransition = old.LastTransition
	}
	if r.Verdict == drift.VerdictDrifted {
		switch {
		case ok && old.Verdict == drift.VerdictDrifted:
			e.FirstDrifted = old.FirstDrifted
			e.ConsecutiveDrifted = old.ConsecutiveDrifted + 1
		case ok && old.Verdict == "" && !old.FirstDrifted.IsZero():
			// Restored from tags after a restart: keep the first-seen time,
			// restart the debounce count.
			e.FirstDrifted = old.FirstDrifted
			e.ConsecutiveDrifted = 1
		default:
			e.FirstDrifted = now
			e.ConsecutiveDrifted = 1
		}
	}
	var tl []Point
	if old != nil {
		tl = old.Timeline
	}
	e.Timeline = extendTimeline(tl, Point{At: now, Verdict: e.Verdict, Severity: e.Severity, Findings: e.FindingsTotal})
	s.entries[r.InstanceID] = e
	return prev, ok
}

// extendTimeline returns tl with p appended when p changes the verdict, the
// severity or the number of findings of tl's last point, dropping the
// oldest points beyond MaxTimeline. tl is never modified (entries handed
// out by Get share it).
func extendTimeline(tl []Point, p Point) []Point {
	if p.Verdict != drift.VerdictDrifted {
		p.Severity, p.Findings = drift.SeverityNone, 0
	}
	p.At = p.At.UTC().Truncate(time.Second) // a chart needs no more; the state file stays small
	if n := len(tl); n > 0 {
		last := tl[n-1]
		if last.Verdict == p.Verdict && last.Severity == p.Severity && last.Findings == p.Findings {
			return tl
		}
	}
	start := max(0, len(tl)+1-MaxTimeline)
	out := make([]Point, 0, len(tl)-start+1)
	out = append(out, tl[start:]...)
	return append(out, p)
}

// RestoreFromTags seeds an instance not yet known with its driftd:status
// and driftd:since tags: a drifted instance keeps its first-seen time (the
// consecutive count restarts, so a restart only delays debounced actions).
func (s *Store) RestoreFromTags(id, status, since string) bool {
	if status != string(drift.VerdictDrifted) || since == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[id]; ok {
		return false
	}
	s.entries[id] = &Entry{InstanceID: id, FirstDrifted: t}
	return true
}

// Prune forgets instances not in keep (terminated or deselected).
func (s *Store) Prune(keep map[string]bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range s.entries {
		if !keep[id] {
			delete(s.entries, id)
			n++
		}
	}
	return n
}

type file struct {
	Version int      `json:"version"`
	Saved   string   `json:"saved"`
	Entries []*Entry `json:"instances"`
}

// decode parses and checks a state file's contents.
func decode(data []byte) (map[string]*Entry, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Version != FileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, FileVersion)
	}
	m := make(map[string]*Entry, len(f.Entries))
	for i, e := range f.Entries {
		if e == nil || e.InstanceID == "" {
			return nil, fmt.Errorf("instances[%d]: instance_id required", i)
		}
		if n := len(e.Timeline); n > MaxTimeline {
			e.Timeline = e.Timeline[n-MaxTimeline:] // written by a build with a larger bound
		}
		m[e.InstanceID] = e
	}
	return m, nil
}

func check(data []byte) error {
	_, err := decode(data)
	return err
}

// durableFile returns the durable.File for path, reusing the one Load or an
// earlier Save used for it.
func (s *Store) durableFile(path string) *durable.File {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	if s.file == nil || s.file.Path != path {
		s.file = &durable.File{Path: path, Check: check, FS: s.fs}
	}
	return s.file
}

// Save writes the state durably (durable.File: temp file, fsync, the
// previous good file kept as <path>.bak, rename, directory fsync). An error
// (a full disk wraps syscall.ENOSPC) leaves the previous file in place.
func (s *Store) Save(path string, now time.Time) error {
	s.mu.RLock()
	f := file{Version: FileVersion, Saved: now.UTC().Format(time.RFC3339)}
	for _, e := range s.entries {
		f.Entries = append(f.Entries, e)
	}
	sort.Slice(f.Entries, func(i, j int) bool { return f.Entries[i].InstanceID < f.Entries[j].InstanceID })
	data, err := json.Marshal(f)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	return s.durableFile(path).Save(data)
}

// Load reads a state file. It never fails: a missing file yields an empty
// store; a damaged one (empty, truncated, not JSON, wrong version) yields
// the last good copy (<path>.bak) or, without one, an empty store, and the
// store's Recovery says so — the daemon logs it as an error and exposes it
// as a metric. The error result is kept for callers; it is always nil.
func Load(path string) (*Store, error) {
	return load(path, nil)
}

func load(path string, fsys durable.FS) (*Store, error) {
	s := New()
	s.fs = fsys
	data, _, rec := s.durableFile(path).Load()
	if data != nil {
		m, err := decode(data)
		if err != nil { // durable.File checked it; cannot happen
			return nil, fmt.Errorf("state file %s: %w", path, err)
		}
		s.entries = m
	}
	s.recovery = rec
	return s, nil
}

// Recovery reports how the last Load fell back from a damaged state file
// (nil when the file, or no file at all, was loaded). It does not change
// after Load: the daemon can expose it as a flag until the next restart.
func (s *Store) Recovery() *durable.Recovery {
	return s.recovery
}
