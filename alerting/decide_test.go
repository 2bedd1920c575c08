package alerting

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func pkgFinding(name, exp, obs string, sev drift.Severity) drift.Finding {
	return drift.Finding{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: name, Attribute: "version",
		Change: drift.ChangeChanged, Direction: drift.DirectionUpgrade, Expected: exp, Observed: obs, Severity: sev}
}

func drifted(id, asg string, fs ...drift.Finding) InstanceState {
	sev := drift.SeverityNone
	for _, f := range fs {
		if f.Severity > sev {
			sev = f.Severity
		}
	}
	return InstanceState{InstanceID: id, ASG: asg, AMI: "ami-1", Verdict: drift.VerdictDrifted, Severity: sev, Findings: fs}
}

func withVerdict(id, asg string, v drift.Verdict) InstanceState {
	return InstanceState{InstanceID: id, ASG: asg, AMI: "ami-1", Verdict: v}
}

var (
	fA = pkgFinding("openssl", "3.0.8-1", "3.0.9-1", drift.SeverityHigh)
	fB = pkgFinding("curl", "8.0-1", "8.1-1", drift.SeverityLow)
)

type step struct {
	at   time.Duration // offset from t0
	cur  []InstanceState
	want []string // "type instance[ repeat]"
}

func evKeys(evs []Event) []string {
	var out []string
	for _, e := range evs {
		k := string(e.Type)
		if id := e.InstanceID + e.AMI; e.InstanceID != "" {
			k += " " + e.InstanceID
		} else if id != "" {
			k += " " + id
		}
		if e.Repeat {
			k += " repeat"
		}
		out = append(out, k)
	}
	return out
}

func TestDecideSequences(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: 4 * time.Hour}
	cases := []struct {
		name  string
		steps []step
	}{
		{"new drift announced once", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{5 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
			{10 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
		}},
		{"repeat after repeat_interval", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{3*time.Hour + 59*time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
			{4 * time.Hour, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1 repeat"}},
			{5 * time.Hour, []InstanceState{drifted("i-1", "web", fA)}, nil},
			{8 * time.Hour, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1 repeat"}},
		}},
		{"findings changed (order does not matter)", []step{
			{0, []InstanceState{drifted("i-1", "web", fA, fB)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{drifted("i-1", "web", fB, fA)}, nil},
			{2 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.changed i-1"}},
			{3 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
			{4 * time.Minute, []InstanceState{drifted("i-1", "web", pkgFinding("openssl", "3.0.8-1", "3.1.0-1", drift.SeverityHigh))}, []string{"drift.changed i-1"}},
		}},
		{"resolve on in_sync, then new drift is new", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)}, []string{"drift.resolved i-1"}},
			{2 * time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)}, nil},
			{3 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
		}},
		{"unknown and stale never resolve (flap)", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictUnknown)}, nil},
			{2 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
			{3 * time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictStale)}, nil},
			{4 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
		}},
		{"flap with changed findings is a change", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictUnknown)}, nil},
			{2 * time.Minute, []InstanceState{drifted("i-1", "web", fA, fB)}, []string{"drift.changed i-1"}},
		}},
		{"unknown never announces drift", []step{
			{0, []InstanceState{withVerdict("i-1", "web", drift.VerdictUnknown), withVerdict("i-2", "web", drift.VerdictStale)}, nil},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)}, nil},
		}},
		{"exempt resolves", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictExempt)}, []string{"drift.resolved i-1"}},
		}},
		{"instance gone resolves", []step{
			{0, []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fA)}, []string{"drift.detected i-1", "drift.detected i-2"}},
			{time.Minute, []InstanceState{drifted("i-2", "web", fA)}, []string{"drift.resolved i-1"}},
		}},
		{"duplicate instance in one scan emits once", []step{
			{0, []InstanceState{drifted("i-1", "web", fA), drifted("i-1", "web", fA, fB)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
		}},
		{"baseline missing once per AMI, repeated, cleared", []step{
			{0, []InstanceState{withVerdict("i-1", "web", drift.VerdictNoBaseline), withVerdict("i-2", "api", drift.VerdictNoBaseline)}, []string{"baseline.missing ami-1"}},
			{time.Hour, []InstanceState{withVerdict("i-1", "web", drift.VerdictNoBaseline)}, nil},
			{4 * time.Hour, []InstanceState{withVerdict("i-1", "web", drift.VerdictNoBaseline)}, []string{"baseline.missing ami-1 repeat"}},
			{5 * time.Hour, []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)}, nil},
			{6 * time.Hour, []InstanceState{withVerdict("i-1", "web", drift.VerdictNoBaseline)}, []string{"baseline.missing ami-1"}},
		}},
		{"no_baseline holds announced drift", []step{
			{0, []InstanceState{drifted("i-1", "web", fA)}, []string{"drift.detected i-1"}},
			{time.Minute, []InstanceState{withVerdict("i-1", "web", drift.VerdictNoBaseline)}, []string{"baseline.missing ami-1"}},
			{2 * time.Minute, []InstanceState{drifted("i-1", "web", fA)}, nil},
		}},
		{"fleet: one scan, several instances, sorted", []step{
			{0, []InstanceState{drifted("i-3", "web", fA), drifted("i-1", "api", fB), withVerdict("i-2", "web", drift.VerdictInSync)},
				[]string{"drift.detected i-1", "drift.detected i-3"}},
			{time.Minute, []InstanceState{drifted("i-3", "web", fA), withVerdict("i-1", "api", drift.VerdictInSync), drifted("i-2", "web", fB)},
				[]string{"drift.resolved i-1", "drift.detected i-2"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st NotifyState
			for i, s := range tc.steps {
				before := st.Clone()
				evs, next := Decide(st, s.cur, t0.Add(s.at), cfg)
				if !reflect.DeepEqual(before, st.Clone()) {
					t.Fatalf("step %d: Decide modified its input state", i)
				}
				if got := evKeys(evs); strings.Join(got, ",") != strings.Join(s.want, ",") {
					t.Fatalf("step %d (+%s): events %q, want %q", i, s.at, got, s.want)
				}
				for _, e := range evs {
					if !e.Time.Equal(t0.Add(s.at)) {
						t.Errorf("step %d: event time %s", i, e.Time)
					}
				}
				// Same inputs, same outputs.
				evs2, next2 := Decide(st, s.cur, t0.Add(s.at), cfg)
				if !reflect.DeepEqual(evs, evs2) || !reflect.DeepEqual(next, next2) {
					t.Fatalf("step %d: Decide is not deterministic", i)
				}
				st = next
			}
		})
	}
}

func TestDecideEventContent(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: time.Hour}
	evs, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", fB, fA)}, t0, cfg)
	if len(evs) != 1 {
		t.Fatalf("events: %v", evs)
	}
	e := evs[0]
	if e.ASG != "web" || e.AMI != "ami-1" || e.Severity != drift.SeverityHigh || e.FindingsTotal != 2 || !e.Since.Equal(t0) {
		t.Errorf("event: %+v", e)
	}
	if e.Findings[0].Name != "openssl" {
		t.Errorf("top finding should be the most severe: %+v", e.Findings)
	}
	if e.Summary != "2 findings (2 package), max severity high" {
		t.Errorf("summary: %q", e.Summary)
	}
	evs, _ = Decide(st, []InstanceState{withVerdict("i-1", "web", drift.VerdictInSync)}, t0.Add(time.Minute), cfg)
	r := evs[0]
	if r.Type != EventDriftResolved || r.ASG != "web" || r.AMI != "ami-1" || !r.Since.Equal(t0) || r.Reason != "in sync with the baseline" {
		t.Errorf("resolved: %+v", r)
	}
}

func TestDecideZeroRepeatNeverRepeats(t *testing.T) {
	evs, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", fA)}, t0, DedupConfig{})
	if len(evs) != 1 {
		t.Fatal(evs)
	}
	evs, _ = Decide(st, []InstanceState{drifted("i-1", "web", fA)}, t0.Add(1000*time.Hour), DedupConfig{})
	if len(evs) != 0 {
		t.Fatalf("repeat with interval 0: %v", evs)
	}
}

func TestSeedFromTagsRestart(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: 4 * time.Hour}
	since := t0.Add(-24 * time.Hour)
	tagged := []TaggedInstance{
		{InstanceID: "i-1", ASG: "web", AMI: "ami-1", Tags: map[string]string{drift.TagStatus: "drifted", drift.TagSince: since.Format(time.RFC3339)}},
		{InstanceID: "i-2", ASG: "web", AMI: "ami-1", Tags: map[string]string{drift.TagStatus: "in_sync"}},
		{InstanceID: "i-3", ASG: "web", AMI: "ami-1", Tags: map[string]string{drift.TagStatus: "drifted", drift.TagSince: "yesterday"}},
		{InstanceID: "i-4", ASG: "web", AMI: "ami-1"},
	}
	st := SeedFromTags(NotifyState{}, tagged, t0)
	if len(st.Instances) != 2 || !st.Instances["i-1"].Since.Equal(since) || !st.Instances["i-3"].Since.Equal(t0) || !st.Instances["i-1"].Seeded {
		t.Fatalf("seeded: %+v", st.Instances)
	}
	cur := []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fA), drifted("i-3", "web", fA), withVerdict("i-4", "web", drift.VerdictInSync)}
	evs, st := Decide(st, cur, t0.Add(time.Minute), cfg)
	if got := evKeys(evs); strings.Join(got, ",") != "drift.detected i-2" {
		t.Fatalf("first scan after restart: %q (only the newly drifted i-2 may be announced)", got)
	}
	// The adopted digest makes later changes visible again.
	evs, st = Decide(st, []InstanceState{drifted("i-1", "web", fA, fB), drifted("i-2", "web", fA), drifted("i-3", "web", fA)}, t0.Add(2*time.Minute), cfg)
	if got := evKeys(evs); strings.Join(got, ",") != "drift.changed i-1" {
		t.Fatalf("after adoption: %q", got)
	}
	// Repeat clock of seeded instances starts at seed time.
	evs, _ = Decide(st, []InstanceState{drifted("i-1", "web", fA, fB), drifted("i-2", "web", fA), drifted("i-3", "web", fA)}, t0.Add(4*time.Hour), cfg)
	if got := evKeys(evs); strings.Join(got, ",") != "drift.detected i-3 repeat" {
		t.Fatalf("repeat of seeded: %q", got)
	}
	// A state record wins over tags.
	prev := NotifyState{Instances: map[string]InstanceRecord{"i-1": {Digest: "abc", Since: t0, LastSent: t0}}}
	st2 := SeedFromTags(prev, tagged, t0.Add(time.Hour))
	if st2.Instances["i-1"].Digest != "abc" || st2.Instances["i-1"].Seeded {
		t.Errorf("seeding overwrote a state record: %+v", st2.Instances["i-1"])
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: 4 * time.Hour}
	_, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", fA), withVerdict("i-9", "db", drift.VerdictNoBaseline)}, t0, cfg)
	_, st = DecideScanFailure(st, "boom", t0.Add(time.Minute), cfg)
	_, _, st = DecideEmitted(st, Event{Type: EventBreakerOpened, ASG: "web"}, t0)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	// A restarted process with the restored state announces nothing new.
	evs, _ := Decide(got, []InstanceState{drifted("i-1", "web", fA), withVerdict("i-9", "db", drift.VerdictNoBaseline)}, t0.Add(2*time.Minute), cfg)
	if len(evs) != 0 {
		t.Fatalf("restored state re-announced: %q", evKeys(evs))
	}
	if empty, err := LoadState(filepath.Join(t.TempDir(), "absent.json")); err != nil || len(empty.Instances) != 0 {
		t.Fatalf("absent file: %v %+v", err, empty)
	}
}

func TestLoadStateErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"bad.json": "{not json", "v9.json": `{"version": 9}`} {
		p := filepath.Join(dir, name)
		if err := writeFile(p, body); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadState(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name the file", name, err)
		}
	}
}

func TestDecideScanFailure(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: time.Hour}
	var st NotifyState
	_, st = Decide(st, []InstanceState{drifted("i-1", "web", fA)}, t0, cfg)
	steps := []struct {
		at     time.Duration
		failed bool
		want   string
	}{
		{time.Minute, true, "scan.failed"},
		{2 * time.Minute, true, ""},
		{61 * time.Minute, true, "scan.failed repeat"},
		{62 * time.Minute, false, "drift.detected i-1 repeat"}, // success clears the failure; drift repeat clock kept running
		{63 * time.Minute, true, "scan.failed"},
	}
	for i, s := range steps {
		var evs []Event
		if s.failed {
			evs, st = DecideScanFailure(st, "DescribeInstances: throttled", t0.Add(s.at), cfg)
		} else {
			evs, st = Decide(st, []InstanceState{drifted("i-1", "web", fA)}, t0.Add(s.at), cfg)
		}
		got := strings.TrimSpace(strings.Join(evKeys(evs), ","))
		if got != s.want {
			t.Fatalf("step %d: %q want %q", i, got, s.want)
		}
		if _, ok := st.Instances["i-1"]; !ok {
			t.Fatalf("step %d: a scan failure must not resolve drift", i)
		}
	}
}

func TestDecideEmitted(t *testing.T) {
	var st NotifyState
	seq := []struct {
		ev   Event
		pass bool
	}{
		{Event{Type: EventBreakerOpened, ASG: "web"}, true},
		{Event{Type: EventBreakerOpened, ASG: "web"}, false},
		{Event{Type: EventBreakerOpened}, true}, // fleet scope
		{Event{Type: EventBreakerClosed, ASG: "api"}, false},
		{Event{Type: EventBreakerClosed, ASG: "web"}, true},
		{Event{Type: EventKillswitchReleased}, false},
		{Event{Type: EventKillswitchEngaged}, true},
		{Event{Type: EventKillswitchEngaged}, false},
		{Event{Type: EventKillswitchReleased}, true},
		{Event{Type: EventRemediationStarted, ASG: "web", InstanceID: "i-1"}, true},
		{Event{Type: EventRemediationStarted, ASG: "web", InstanceID: "i-1"}, true},
	}
	for i, s := range seq {
		var pass bool
		var ev Event
		pass, ev, st = DecideEmitted(st, s.ev, t0.Add(time.Duration(i)*time.Minute))
		if pass != s.pass {
			t.Fatalf("step %d (%s %s): pass=%v", i, s.ev.Type, s.ev.ASG, pass)
		}
		if ev.Time.IsZero() {
			t.Errorf("step %d: time not filled", i)
		}
		if i == 4 && !ev.Since.Equal(t0) {
			t.Errorf("breaker.closed since: %s", ev.Since)
		}
	}
}

func TestDigestStable(t *testing.T) {
	a := Digest([]drift.Finding{fA, fB})
	if a != Digest([]drift.Finding{fB, fA}) {
		t.Error("digest depends on order")
	}
	r := fA
	r.Rule = "renamed"
	if a != Digest([]drift.Finding{fB, r}) {
		t.Error("rule name must not change the digest")
	}
	s := fA
	s.Severity = drift.SeverityCritical
	if a == Digest([]drift.Finding{fB, s}) {
		t.Error("severity change must change the digest")
	}
	if Digest(nil) == a {
		t.Error("empty vs non-empty")
	}
}

func TestEventTypesMatchConfig(t *testing.T) {
	// internal/config cannot import this package; its list must agree.
	got := make([]string, len(EventTypes))
	for i, e := range EventTypes {
		got[i] = string(e)
	}
	if !reflect.DeepEqual(got, configEventTypes()) {
		t.Fatalf("alerting.EventTypes %v != config.AlertEventTypes %v", got, configEventTypes())
	}
	if EventDriftDetected.Title() != "Drift Detected" || EventKillswitchEngaged.Title() != "Killswitch Engaged" {
		t.Error(EventDriftDetected.Title(), EventKillswitchEngaged.Title())
	}
}

func TestDecidePartialScanKeepsAbsent(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: time.Hour}
	_, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", fA), drifted("i-2", "web", fA), withVerdict("i-3", "db", drift.VerdictNoBaseline)}, t0, cfg)
	part := cfg
	part.Partial = true
	evs, st := Decide(st, []InstanceState{withVerdict("i-2", "web", drift.VerdictInSync)}, t0.Add(time.Minute), part)
	if got := strings.Join(evKeys(evs), ","); got != "drift.resolved i-2" {
		t.Fatalf("partial scan: %q", got)
	}
	if _, ok := st.Instances["i-1"]; !ok {
		t.Fatal("partial scan forgot i-1")
	}
	if _, ok := st.MissingBaselines["ami-1"]; !ok {
		t.Fatal("partial scan forgot the missing baseline")
	}
	evs, _ = Decide(st, []InstanceState{drifted("i-1", "web", fA)}, t0.Add(2*time.Minute), cfg)
	if got := strings.Join(evKeys(evs), ","); got != "" {
		t.Fatalf("full scan after partial: %q", got)
	}
}

func TestDecideReusedVerdictWithShortenedFindings(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: time.Hour}
	full := []drift.Finding{fA, fB, pkgFinding("zlib", "1", "2", drift.SeverityInfo)}
	_, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", full...)}, t0, cfg)
	reused := drifted("i-1", "web", drift.TopFindings(full, 2)...)
	reused.FindingsUnchanged = true
	evs, st := Decide(st, []InstanceState{reused}, t0.Add(time.Minute), cfg)
	if len(evs) != 0 {
		t.Fatalf("reused verdict announced: %q", evKeys(evs))
	}
	// Without the flag the shortened list would look like a change.
	evs, _ = Decide(st, []InstanceState{drifted("i-1", "web", drift.TopFindings(full, 2)...)}, t0.Add(2*time.Minute), cfg)
	if got := strings.Join(evKeys(evs), ","); got != "drift.changed i-1" {
		t.Fatalf("fresh shorter list: %q", got)
	}
}

func TestDecideDebounce(t *testing.T) {
	cfg := DedupConfig{RepeatInterval: time.Hour, MinDriftedScans: 3}
	at := func(n int) InstanceState {
		s := drifted("i-1", "web", fA)
		s.ConsecutiveDrifted = n
		return s
	}
	var st NotifyState
	steps := []struct {
		cur  InstanceState
		want string
	}{
		{at(1), ""},
		{at(2), ""},
		{withVerdict("i-1", "web", drift.VerdictInSync), ""}, // flapped back: nothing was announced, nothing resolves
		{at(1), ""},
		{at(2), ""},
		{at(3), "drift.detected i-1"},
		{at(4), ""},
		{withVerdict("i-1", "web", drift.VerdictUnknown), ""},
		{at(1), ""}, // counter restarted by the daemon, but already announced: held, not re-debounced
		{withVerdict("i-1", "web", drift.VerdictInSync), "drift.resolved i-1"},
	}
	for i, s := range steps {
		var evs []Event
		evs, st = Decide(st, []InstanceState{s.cur}, t0.Add(time.Duration(i)*time.Minute), cfg)
		if got := strings.Join(evKeys(evs), ","); got != s.want {
			t.Fatalf("step %d: %q want %q", i, got, s.want)
		}
	}
	// Unknown counter (0) is not debounced.
	evs, _ := Decide(NotifyState{}, []InstanceState{drifted("i-2", "web", fA)}, t0, cfg)
	if len(evs) != 1 {
		t.Fatalf("counter 0: %v", evKeys(evs))
	}
}
