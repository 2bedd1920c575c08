package state

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		v        drift.Verdict
		findings int
		points   int // timeline length after the step
	}{
		{drift.VerdictInSync, 0, 1},
		{drift.VerdictInSync, 0, 1},  // unchanged: no point
		{drift.VerdictDrifted, 3, 2}, // verdict changed
		{drift.VerdictDrifted, 3, 2}, // same gap
		{drift.VerdictDrifted, 5, 3}, // gap widened
		{drift.VerdictUnknown, 0, 4}, // could not judge
		{drift.VerdictDrifted, 5, 5}, // back
		{drift.VerdictInSync, 0, 6},  // replaced or fixed
		{drift.VerdictInSync, 0, 6},
	}
	s := New()
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		s.Record(rep("i-1", st.v, st.findings), Inputs{}, now)
		e, _ := s.Get("i-1")
		if len(e.Timeline) != st.points {
			t.Fatalf("step %d: %d points, want %d: %+v", i, len(e.Timeline), st.points, e.Timeline)
		}
		last := e.Timeline[len(e.Timeline)-1]
		if last.Verdict != st.v || last.Findings != st.findings {
			t.Errorf("step %d: last point %+v, want %s with %d findings", i, last, st.v, st.findings)
		}
		if st.v == drift.VerdictDrifted && last.Severity != drift.SeverityCritical || st.v != drift.VerdictDrifted && last.Severity != drift.SeverityNone {
			t.Errorf("step %d: severity %s", i, last.Severity)
		}
	}
	e, _ := s.Get("i-1")
	wantAt := []int{0, 2, 4, 5, 6, 7}
	for i, p := range e.Timeline {
		if want := t0.Add(time.Duration(wantAt[i]) * time.Minute); !p.At.Equal(want) {
			t.Errorf("point %d at %v, want %v", i, p.At, want)
		}
	}
}

func TestTimelineBounded(t *testing.T) {
	s := New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var held []Point
	for i := range MaxTimeline + 30 {
		v := drift.VerdictInSync
		if i%2 == 1 {
			v = drift.VerdictDrifted
		}
		s.Record(rep("i-1", v, 2), Inputs{}, t0.Add(time.Duration(i)*time.Minute))
		if i == 10 {
			e, _ := s.Get("i-1")
			held = e.Timeline
		}
	}
	e, _ := s.Get("i-1")
	if len(e.Timeline) != MaxTimeline {
		t.Fatalf("%d points, want %d", len(e.Timeline), MaxTimeline)
	}
	if want := t0.Add(30 * time.Minute); !e.Timeline[0].At.Equal(want) {
		t.Errorf("oldest point at %v, want %v (the oldest dropped first)", e.Timeline[0].At, want)
	}
	// A copy handed out earlier is not changed by later scans.
	if len(held) != 11 || !held[10].At.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("earlier copy changed: %d points, last %+v", len(held), held[len(held)-1])
	}
}

func TestTimelineAndBaselineSurviveSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := Inputs{BaselineVersion: "v1", BaselineSource: "s3", BaselineWhere: "s3://golden/ami-1.json"}
	s.Record(rep("i-1", drift.VerdictInSync, 0), in, t0)
	s.Record(rep("i-1", drift.VerdictDrifted, 4), Inputs{BaselineVersion: "v1"}, t0.Add(time.Minute))
	if err := s.Save(path, t0); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := l.Get("i-1")
	if !ok || len(e.Timeline) != 2 || e.Timeline[1].Findings != 4 || e.Timeline[1].Verdict != drift.VerdictDrifted {
		t.Fatalf("timeline after load: %+v", e.Timeline)
	}
	// The baseline's source is kept while its version is unchanged.
	if e.BaselineSource != "s3" || e.BaselineWhere != "s3://golden/ami-1.json" {
		t.Errorf("baseline source %q %q", e.BaselineSource, e.BaselineWhere)
	}
	s.Record(rep("i-1", drift.VerdictDrifted, 4), Inputs{BaselineVersion: "v2"}, t0.Add(2*time.Minute))
	if e, _ := s.Get("i-1"); e.BaselineSource != "" {
		t.Errorf("a new baseline version kept the old source %q", e.BaselineSource)
	}
}
