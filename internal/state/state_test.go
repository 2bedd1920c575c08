package state

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

func rep(id string, v drift.Verdict, findings int) *drift.Report {
	r := &drift.Report{InstanceID: id, AMI: "ami-1", ASG: "web", Verdict: v}
	for i := 0; i < findings; i++ {
		sev := drift.SeverityLow
		if i == findings-1 {
			sev = drift.SeverityCritical
		}
		r.Findings = append(r.Findings, drift.Finding{Category: drift.CategoryPackage, Name: "p", Change: drift.ChangeChanged, Severity: sev})
	}
	if v == drift.VerdictDrifted {
		r.Severity = drift.SeverityCritical
	}
	return r
}

func TestHistory(t *testing.T) {
	s := New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		v           drift.Verdict
		consecutive int
		firstAt     int // index of the step when drift began, -1 none
		transition  int
	}{
		{drift.VerdictInSync, 0, -1, 0},
		{drift.VerdictDrifted, 1, 1, 1},
		{drift.VerdictDrifted, 2, 1, 1},
		{drift.VerdictDrifted, 3, 1, 1},
		{drift.VerdictUnknown, 0, -1, 4},
		{drift.VerdictDrifted, 1, 5, 5},
	}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		_, had := s.Record(rep("i-1", st.v, 30), Inputs{}, now)
		if had != (i > 0) {
			t.Fatalf("step %d: had = %v", i, had)
		}
		e, _ := s.Get("i-1")
		if e.ConsecutiveDrifted != st.consecutive {
			t.Errorf("step %d: consecutive = %d, want %d", i, e.ConsecutiveDrifted, st.consecutive)
		}
		wantFirst := time.Time{}
		if st.firstAt >= 0 {
			wantFirst = t0.Add(time.Duration(st.firstAt) * time.Minute)
		}
		if !e.FirstDrifted.Equal(wantFirst) {
			t.Errorf("step %d: first drifted = %v, want %v", i, e.FirstDrifted, wantFirst)
		}
		if want := t0.Add(time.Duration(st.transition) * time.Minute); !e.LastTransition.Equal(want) {
			t.Errorf("step %d: last transition = %v, want %v", i, e.LastTransition, want)
		}
		if st.v == drift.VerdictDrifted {
			if len(e.Findings) != MaxFindings || e.FindingsTotal != 30 || e.Findings[0].Severity != drift.SeverityCritical {
				t.Errorf("step %d: findings kept %d total %d first %v", i, len(e.Findings), e.FindingsTotal, e.Findings[0].Severity)
			}
		} else if len(e.Findings) != 0 {
			t.Errorf("step %d: findings retained for a %s instance", i, st.v)
		}
		if e.Counts[CountKey(drift.CategoryPackage, drift.SeverityLow)] != 29 {
			t.Errorf("step %d: counts %v", i, e.Counts)
		}
	}
}

func TestRestoreFromTagsAndFile(t *testing.T) {
	s := New()
	if s.RestoreFromTags("i-2", "in_sync", "2026-01-01T00:00:00Z") || s.RestoreFromTags("i-2", "drifted", "yesterday") {
		t.Fatal("restored from non-drifted or bad tags")
	}
	if !s.RestoreFromTags("i-2", "drifted", "2026-01-01T00:00:00Z") {
		t.Fatal("not restored")
	}
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	s.Record(rep("i-2", drift.VerdictDrifted, 1), Inputs{Captures: map[string]time.Time{"AWS:Application": now}}, now)
	e, _ := s.Get("i-2")
	if !e.FirstDrifted.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || e.ConsecutiveDrifted != 1 {
		t.Fatalf("restored entry %+v", e)
	}
	p := filepath.Join(t.TempDir(), "state.json")
	if err := s.Save(p, now); err != nil {
		t.Fatal(err)
	}
	s2, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	e2, ok := s2.Get("i-2")
	if !ok || !e2.FirstDrifted.Equal(e.FirstDrifted) || !e2.Captures["AWS:Application"].Equal(now) || e2.Verdict != drift.VerdictDrifted {
		t.Fatalf("loaded %+v", e2)
	}
	if n := s2.Prune(map[string]bool{}); n != 1 || s2.Len() != 0 {
		t.Fatalf("prune removed %d", n)
	}
	if s3, err := Load(filepath.Join(t.TempDir(), "none.json")); err != nil || s3.Len() != 0 {
		t.Fatal("missing file should give an empty store")
	}
}
