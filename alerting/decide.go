package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// StateVersion is the NotifyState file format version.
const StateVersion = 1

// DedupConfig is what Decide needs from the configuration.
type DedupConfig struct {
	// RepeatInterval: an unchanged drifted instance is re-announced after
	// this long (0 = never re-announce).
	RepeatInterval time.Duration
	// MinDriftedScans debounces new drift: an instance is announced only
	// after this many consecutive drifted scans (InstanceState.ConsecutiveDrifted;
	// 0 or 1 = at once). Until then it is neither announced nor remembered.
	MinDriftedScans int
	// Partial marks a scan of a subset of the fleet (e.g. a scan of chosen
	// instance ids): instances absent from it are left alone instead of
	// being resolved as gone.
	Partial bool
}

// NotifyState is what has been announced: the memory of the deduplication.
// It is a plain value, serialisable to JSON (SaveState/LoadState).
type NotifyState struct {
	Version int `json:"version"`
	// Instances holds every instance announced as drifted and not resolved.
	Instances map[string]InstanceRecord `json:"instances,omitempty"`
	// MissingBaselines holds AMIs announced as lacking a baseline.
	MissingBaselines map[string]Announcement `json:"missing_baselines,omitempty"`
	// ScanFailure is set while scans fail (announced once, then repeated).
	ScanFailure *Announcement `json:"scan_failure,omitempty"`
	// OpenBreakers holds open circuit breakers by scope (ASG name or "fleet").
	OpenBreakers map[string]time.Time `json:"open_breakers,omitempty"`
	// KillswitchSince is set while the kill switch is engaged.
	KillswitchSince *time.Time `json:"killswitch_since,omitempty"`
}

// InstanceRecord is the announced state of one drifted instance.
type InstanceRecord struct {
	ASG      string         `json:"asg,omitempty"`
	AMI      string         `json:"ami,omitempty"`
	Severity drift.Severity `json:"severity"`
	Summary  string         `json:"summary,omitempty"`
	// Digest of the announced findings; "" when seeded from tags (unknown
	// findings: the next drifted scan adopts its digest silently).
	Digest   string    `json:"digest,omitempty"`
	Since    time.Time `json:"since"`
	LastSent time.Time `json:"last_sent"`
	// LastVerdict is the verdict seen in the latest scan (drifted, or
	// unknown/stale/no_baseline while the drift is on hold).
	LastVerdict drift.Verdict `json:"last_verdict"`
	Seeded      bool          `json:"seeded,omitempty"`
}

// Announcement records a non-instance announcement.
type Announcement struct {
	Since    time.Time `json:"since"`
	LastSent time.Time `json:"last_sent"`
	Reason   string    `json:"reason,omitempty"`
}

// Clone returns a deep copy (Decide never mutates its input).
func (s NotifyState) Clone() NotifyState {
	out := NotifyState{Version: StateVersion}
	if len(s.Instances) > 0 {
		out.Instances = make(map[string]InstanceRecord, len(s.Instances))
		for k, v := range s.Instances {
			out.Instances[k] = v
		}
	}
	if len(s.MissingBaselines) > 0 {
		out.MissingBaselines = make(map[string]Announcement, len(s.MissingBaselines))
		for k, v := range s.MissingBaselines {
			out.MissingBaselines[k] = v
		}
	}
	if s.ScanFailure != nil {
		v := *s.ScanFailure
		out.ScanFailure = &v
	}
	if len(s.OpenBreakers) > 0 {
		out.OpenBreakers = make(map[string]time.Time, len(s.OpenBreakers))
		for k, v := range s.OpenBreakers {
			out.OpenBreakers[k] = v
		}
	}
	if s.KillswitchSince != nil {
		v := *s.KillswitchSince
		out.KillswitchSince = &v
	}
	return out
}

func (s *NotifyState) ensure() {
	if s.Instances == nil {
		s.Instances = map[string]InstanceRecord{}
	}
	if s.MissingBaselines == nil {
		s.MissingBaselines = map[string]Announcement{}
	}
	if s.OpenBreakers == nil {
		s.OpenBreakers = map[string]time.Time{}
	}
}

func (s *NotifyState) compact() {
	if len(s.Instances) == 0 {
		s.Instances = nil
	}
	if len(s.MissingBaselines) == 0 {
		s.MissingBaselines = nil
	}
	if len(s.OpenBreakers) == 0 {
		s.OpenBreakers = nil
	}
}

func due(last, now time.Time, every time.Duration) bool {
	return every > 0 && !now.Before(last.Add(every))
}

// Decide computes the events of one successful scan and the next state. It
// is pure: same inputs, same outputs; prev is not modified.
//
// cur must describe the whole fleet seen by the scan. Rules, per instance:
//
//   - drifted, not announced → drift.detected.
//   - drifted, announced, findings digest changed → drift.changed.
//   - drifted, announced, unchanged → nothing, until repeat_interval has
//     passed since the last announcement → drift.detected with repeat=true.
//   - drifted, seeded from tags (digest unknown) → adopts the digest, nothing.
//   - in_sync or exempt, announced → drift.resolved.
//   - unknown, stale or no_baseline, announced → nothing: missing data never
//     resolves drift. The drift stays announced (and keeps its repeat clock),
//     so drifted → unknown → drifted emits nothing new unless the findings
//     changed meanwhile (drift.changed) or repeat_interval passed.
//   - announced but absent from cur (terminated, replaced) → drift.resolved
//     with reason "instance no longer present" (not for cfg.Partial scans).
//   - FindingsUnchanged (a verdict reused because the inventory did not
//     change) keeps the announced digest: a shortened findings list is not
//     a change.
//
// Per AMI: any no_baseline instance → baseline.missing once (repeated after
// repeat_interval) until no instance of that AMI lacks a baseline. A
// successful scan clears a scan failure. An instance id listed twice in cur is
// considered once (first occurrence), so a scan never emits an event twice.
func Decide(prev NotifyState, cur []InstanceState, now time.Time, cfg DedupConfig) ([]Event, NotifyState) {
	d := decision{next: prev.Clone(), now: now, cfg: cfg, seen: make(map[string]bool, len(cur)), missing: map[string][]InstanceState{}}
	d.next.ensure()
	d.next.ScanFailure = nil
	for _, st := range cur {
		if st.InstanceID == "" || d.seen[st.InstanceID] {
			continue
		}
		d.seen[st.InstanceID] = true
		switch st.Verdict {
		case drift.VerdictDrifted:
			d.drifted(st)
		case drift.VerdictInSync, drift.VerdictExempt:
			d.settled(st)
		default: // unknown, stale, no_baseline: hold
			d.hold(st)
		}
	}
	d.resolveAbsent()
	d.missingBaselines()
	d.next.compact()
	SortEvents(d.events)
	return d.events, d.next
}

// decision is one run of Decide in progress.
type decision struct {
	next   NotifyState
	now    time.Time
	cfg    DedupConfig
	events []Event
	// seen are the instances of the scan; missing the instances without
	// baseline by AMI.
	seen    map[string]bool
	missing map[string][]InstanceState
}

// drifted announces new, changed or due drift of one instance.
func (d *decision) drifted(st InstanceState) {
	rec, announced := d.next.Instances[st.InstanceID]
	if !announced && d.cfg.MinDriftedScans > 1 && st.ConsecutiveDrifted > 0 && st.ConsecutiveDrifted < d.cfg.MinDriftedScans {
		return // not yet persistent: wait (debounce)
	}
	dg := findingsDigest(st, rec, announced)
	summary := st.Summary
	if summary == "" {
		if announced && rec.Digest == dg && rec.Summary != "" {
			summary = rec.Summary // same findings, same summary
		} else {
			summary = Summarize(st.Findings)
		}
	}
	var typ EventType
	repeat := false
	switch {
	case !announced:
		rec = InstanceRecord{Since: d.now, LastSent: d.now}
		typ = EventDriftDetected
	case rec.Digest == "":
		// Seeded from tags by a restart: announced before, findings unknown.
	case rec.Digest != dg:
		typ = EventDriftChanged
		rec.LastSent = d.now
	case due(rec.LastSent, d.now, d.cfg.RepeatInterval):
		typ, repeat = EventDriftDetected, true
		rec.LastSent = d.now
	}
	rec.ASG, rec.AMI, rec.Severity, rec.Summary = st.ASG, st.AMI, st.Severity, summary
	rec.Digest, rec.LastVerdict = dg, st.Verdict
	d.next.Instances[st.InstanceID] = rec
	if typ != "" {
		d.events = append(d.events, Event{
			Type: typ, Time: d.now, ASG: st.ASG, AMI: st.AMI, InstanceID: st.InstanceID,
			Severity: st.Severity, Summary: summary, Since: rec.Since, Repeat: repeat,
			Findings: drift.TopFindings(st.Findings, -1), FindingsTotal: max(st.FindingsTotal, len(st.Findings)),
		})
	}
}

// findingsDigest is the digest a drifted instance's findings are announced
// under.
func findingsDigest(st InstanceState, rec InstanceRecord, announced bool) string {
	switch {
	case st.FindingsUnchanged && announced && rec.Digest != "":
		return rec.Digest // reused verdict: its findings list may be shortened
	case st.FindingsTotal > len(st.Findings):
		// only the most severe findings are listed: a change among the
		// others shows in the total (and the summary's counts)
		return Digest(st.Findings, fmt.Sprintf("total %d; %s", st.FindingsTotal, st.Summary))
	}
	return Digest(st.Findings)
}

// settled resolves the announced drift of an in_sync or exempt instance.
func (d *decision) settled(st InstanceState) {
	rec, announced := d.next.Instances[st.InstanceID]
	if !announced {
		return
	}
	reason := "in sync with the baseline"
	if st.Verdict == drift.VerdictExempt {
		reason = "exempt"
		if st.Reason != "" {
			reason += ": " + st.Reason
		}
	}
	d.events = append(d.events, resolved(st.InstanceID, rec, d.now, reason))
	delete(d.next.Instances, st.InstanceID)
}

// hold keeps an unknown, stale or no_baseline instance's announced drift
// (missing data never resolves drift) and notes a missing baseline.
func (d *decision) hold(st InstanceState) {
	if st.Verdict == drift.VerdictNoBaseline && st.AMI != "" {
		d.missing[st.AMI] = append(d.missing[st.AMI], st)
	}
	if rec, announced := d.next.Instances[st.InstanceID]; announced {
		rec.LastVerdict = st.Verdict
		d.next.Instances[st.InstanceID] = rec
	}
}

// resolveAbsent resolves announced instances absent from a full scan
// (terminated, replaced).
func (d *decision) resolveAbsent() {
	if d.cfg.Partial {
		return
	}
	for id, rec := range d.next.Instances {
		if !d.seen[id] {
			d.events = append(d.events, resolved(id, rec, d.now, "instance no longer present"))
			delete(d.next.Instances, id)
		}
	}
}

// missingBaselines announces each AMI without baseline once, again after
// repeat_interval, and forgets AMIs that no longer lack one.
func (d *decision) missingBaselines() {
	for ami, sts := range d.missing {
		ann, known := d.next.MissingBaselines[ami]
		repeat := false
		switch {
		case !known:
			ann = Announcement{Since: d.now}
		case due(ann.LastSent, d.now, d.cfg.RepeatInterval):
			repeat = true
		default:
			continue
		}
		ann.LastSent = d.now
		d.next.MissingBaselines[ami] = ann
		d.events = append(d.events, baselineMissing(ami, sts, d.now, ann.Since, repeat))
	}
	for ami := range d.next.MissingBaselines {
		if _, still := d.missing[ami]; !still && !d.cfg.Partial {
			delete(d.next.MissingBaselines, ami)
		}
	}
}

func resolved(id string, rec InstanceRecord, now time.Time, reason string) Event {
	return Event{
		Type: EventDriftResolved, Time: now, ASG: rec.ASG, AMI: rec.AMI, InstanceID: id,
		Severity: rec.Severity, Summary: "drift resolved: " + reason, Reason: reason, Since: rec.Since,
	}
}

func baselineMissing(ami string, sts []InstanceState, now, since time.Time, repeat bool) Event {
	asgs := map[string]bool{}
	ids := make([]string, 0, len(sts))
	for _, s := range sts {
		asgs[s.ASG] = true
		ids = append(ids, s.InstanceID)
	}
	sort.Strings(ids)
	asgList := make([]string, 0, len(asgs))
	for a := range asgs {
		asgList = append(asgList, a)
	}
	sort.Strings(asgList)
	ev := Event{
		Type: EventBaselineMissing, Time: now, AMI: ami, Severity: drift.SeverityHigh,
		Summary: fmt.Sprintf("no baseline manifest for AMI %s (%d instances)", ami, len(sts)),
		Reason:  "no_baseline", Since: since, Repeat: repeat,
		Details: map[string]string{"instances": strconv.Itoa(len(sts)), "asgs": strings.Join(asgList, ",")},
	}
	if len(asgList) == 1 {
		ev.ASG = asgList[0]
	}
	if len(ids) > 0 {
		ev.Details["example_instance"] = ids[0]
	}
	return ev
}

// DecideScanFailure computes the event of a failed scan: scan.failed on the
// first failure after a success, then again only after repeat_interval.
// Drift records are untouched (a failed scan resolves nothing).
func DecideScanFailure(prev NotifyState, reason string, now time.Time, cfg DedupConfig) ([]Event, NotifyState) {
	next := prev.Clone()
	repeat := false
	switch {
	case next.ScanFailure == nil:
		next.ScanFailure = &Announcement{Since: now, LastSent: now, Reason: reason}
	case due(next.ScanFailure.LastSent, now, cfg.RepeatInterval):
		next.ScanFailure.LastSent = now
		next.ScanFailure.Reason = reason
		repeat = true
	default:
		return nil, next
	}
	return []Event{{
		Type: EventScanFailed, Time: now, Severity: drift.SeverityHigh,
		Summary: "scan failed: " + reason, Reason: reason, Since: next.ScanFailure.Since, Repeat: repeat,
	}}, next
}

// DecideEmitted filters an event pushed by the remediation engine: breaker
// and kill-switch events are state changes and are passed only when they
// change the recorded state (a breaker reported open every scan is announced
// once); remediation.* events always pass. Events without a time get now.
func DecideEmitted(prev NotifyState, ev Event, now time.Time) (bool, Event, NotifyState) {
	if ev.Time.IsZero() {
		ev.Time = now
	}
	next := prev.Clone()
	next.ensure()
	defer next.compact()
	scope := ev.ASG
	if scope == "" {
		scope = "fleet"
	}
	switch ev.Type {
	case EventBreakerOpened:
		if _, open := next.OpenBreakers[scope]; open {
			return false, ev, next
		}
		next.OpenBreakers[scope] = ev.Time
	case EventBreakerClosed:
		since, open := next.OpenBreakers[scope]
		if !open {
			return false, ev, next
		}
		ev.Since = since
		delete(next.OpenBreakers, scope)
	case EventKillswitchEngaged:
		if next.KillswitchSince != nil {
			return false, ev, next
		}
		t := ev.Time
		next.KillswitchSince = &t
	case EventKillswitchReleased:
		if next.KillswitchSince == nil {
			return false, ev, next
		}
		ev.Since = *next.KillswitchSince
		next.KillswitchSince = nil
	}
	return true, ev, next
}

// TaggedInstance is an instance with its EC2 tags, as discovered at start-up.
type TaggedInstance struct {
	InstanceID string
	ASG        string
	AMI        string
	Tags       map[string]string
}

// SeedFromTags marks instances tagged driftd:status=drifted (announced by a
// previous process) as announced, so a restart without a state file does not
// re-announce the fleet. Records already in prev win. Since comes from the
// driftd:since tag when it parses (RFC 3339), else now; the repeat clock
// starts at now.
func SeedFromTags(prev NotifyState, tagged []TaggedInstance, now time.Time) NotifyState {
	next := prev.Clone()
	next.ensure()
	for _, ti := range tagged {
		if ti.InstanceID == "" || ti.Tags[drift.TagStatus] != string(drift.VerdictDrifted) {
			continue
		}
		if _, ok := next.Instances[ti.InstanceID]; ok {
			continue
		}
		since := now
		if t, err := time.Parse(time.RFC3339, ti.Tags[drift.TagSince]); err == nil && !t.After(now) {
			since = t
		}
		next.Instances[ti.InstanceID] = InstanceRecord{
			ASG: ti.ASG, AMI: ti.AMI, Since: since, LastSent: now,
			LastVerdict: drift.VerdictDrifted, Seeded: true, Summary: "announced before restart",
		}
	}
	next.compact()
	return next
}

// SortEvents orders events by ASG, instance, AMI, type (deterministic payloads).
func SortEvents(evs []Event) {
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.ASG != b.ASG {
			return a.ASG < b.ASG
		}
		if a.InstanceID != b.InstanceID {
			return a.InstanceID < b.InstanceID
		}
		if a.AMI != b.AMI {
			return a.AMI < b.AMI
		}
		return a.Type < b.Type
	})
}

// ActiveAlerts lists every announced drifted instance as a firing alert
// (for sinks that need the full current set each scan, i.e. Alertmanager).
// Findings come from cur when the instance is in it.
func ActiveAlerts(st NotifyState, cur []InstanceState, now time.Time) []Event {
	byID := make(map[string]*InstanceState, len(cur))
	for i := range cur {
		if _, dup := byID[cur[i].InstanceID]; !dup {
			byID[cur[i].InstanceID] = &cur[i]
		}
	}
	out := make([]Event, 0, len(st.Instances))
	for id, rec := range st.Instances {
		ev := Event{
			Type: EventDriftDetected, Time: now, ASG: rec.ASG, AMI: rec.AMI, InstanceID: id,
			Severity: rec.Severity, Summary: rec.Summary, Since: rec.Since,
		}
		if c := byID[id]; c != nil && c.Verdict == drift.VerdictDrifted {
			ev.Findings = drift.TopFindings(c.Findings, -1)
			ev.FindingsTotal = len(c.Findings)
		}
		out = append(out, ev)
	}
	SortEvents(out)
	return out
}

// LoadState reads a state file; a missing file is an empty state.
func LoadState(path string) (NotifyState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return NotifyState{Version: StateVersion}, nil
	}
	if err != nil {
		return NotifyState{}, fmt.Errorf("alerting state %s: %w", path, err)
	}
	var st NotifyState
	if err := json.Unmarshal(b, &st); err != nil {
		return NotifyState{}, fmt.Errorf("alerting state %s: %w", path, err)
	}
	if st.Version != StateVersion {
		return NotifyState{}, fmt.Errorf("alerting state %s: version %d, want %d", path, st.Version, StateVersion)
	}
	return st, nil
}

// SaveState writes the state atomically (temp file + rename).
func SaveState(path string, st NotifyState) error {
	st.Version = StateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("alerting state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".notify-state-*")
	if err != nil {
		return fmt.Errorf("alerting state %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("alerting state %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("alerting state %s: %w", path, err)
	}
	return nil
}
