package alerting

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

// FuzzLoadState: the state file is outside input (disk, operators). A
// corrupt file is an error naming it, never a panic, and whatever loads can
// be used by Decide and saved again.
func FuzzLoadState(f *testing.F) {
	_, st := Decide(NotifyState{}, []InstanceState{drifted("i-1", "web", fA), withVerdict("i-2", "db", drift.VerdictNoBaseline)}, t0, DedupConfig{RepeatInterval: time.Hour})
	good, _ := json.Marshal(st)
	f.Add(good)
	f.Add([]byte(`{"version":1,"instances":{"i-1":{"severity":"critical","since":"2026-01-01T00:00:00Z","last_sent":"bad"}}}`))
	f.Add([]byte(`{"version":1,"instances":{"":{}},"scan_failure":{},"killswitch_since":null}`))
	f.Add([]byte(`{"version":1,"instances":{"i-1":{"severity":"severity(9)"}}}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "state.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := LoadState(p)
		if err != nil {
			return
		}
		evs, next := Decide(st, []InstanceState{drifted("i-1", "web", fA), withVerdict("i-3", "web", drift.VerdictInSync)}, t0, DedupConfig{RepeatInterval: time.Hour})
		seen := map[string]bool{}
		for _, e := range evs {
			k := string(e.Type) + e.InstanceID + e.AMI
			if seen[k] {
				t.Fatalf("event twice: %s", k)
			}
			seen[k] = true
		}
		if err := SaveState(p, next); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzVerify: the signature check parses header values from the network.
func FuzzVerify(f *testing.F) {
	ts := strconv.FormatInt(t0.Unix(), 10)
	f.Add(ts, Sign([]byte("k"), ts, []byte("{}")), []byte("{}"))
	f.Add("", "", []byte{})
	f.Add("-9223372036854775808", "sha256=", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := Verify([]byte("k"), ts, sig, body, t0, 5*time.Minute)
		if err == nil && sig != Sign([]byte("k"), ts, body) {
			t.Fatal("accepted a signature that is not ours")
		}
	})
}

func benchFleet(n int) []InstanceState {
	out := make([]InstanceState, n)
	for i := range out {
		id := "i-" + strconv.Itoa(100000+i)
		asg := "asg-" + strconv.Itoa(i%50)
		switch i % 10 {
		case 0, 1:
			out[i] = drifted(id, asg, fA, fB)
		case 2:
			out[i] = withVerdict(id, asg, drift.VerdictUnknown)
		default:
			out[i] = withVerdict(id, asg, drift.VerdictInSync)
		}
	}
	return out
}

// BenchmarkDecideSteadyState: a 10,000-instance fleet, 20% drifted, no
// transitions (the common scan).
func BenchmarkDecideSteadyState(b *testing.B) {
	cur := benchFleet(10000)
	cfg := DedupConfig{RepeatInterval: 4 * time.Hour}
	_, st := Decide(NotifyState{}, cur, t0, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, _ := Decide(st, cur, t0.Add(time.Minute), cfg)
		if len(evs) != 0 {
			b.Fatal(len(evs))
		}
	}
}

// BenchmarkBuildBatch: 2,000 events over 50 ASGs into a capped batch.
func BenchmarkBuildBatch(b *testing.B) {
	evs, _ := Decide(NotifyState{}, benchFleet(10000), t0, DedupConfig{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		BuildBatch("id", t0, evs, Limits{MaxInstancesPerGroup: 20, MaxFindingsPerInstance: 5})
	}
}
