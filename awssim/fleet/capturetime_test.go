package fleet

import (
	"testing"
	"time"
)

// A change made within the second of the node's last report is reported
// with a later CaptureTime (whole seconds), never under the CaptureTime a
// reader has already seen for the old content.
func TestInjectedChangeMovesCaptureTime(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	f := New(Options{Clock: clock, AccountID: "123456789012", Region: "us-east-1", Seed: 1}, nil)
	ami, err := f.AddAMI(AMISpec{Name: "l", Packages: []PackageSpec{{Name: "bash", Version: "5.2.15", Release: "1.amzn2023"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.AddInstances(ami, "m7i.large", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	capture := func() time.Time {
		f.mu.RLock()
		defer f.mu.RUnlock()
		return f.NodeCaptureTime(f.instances[ids[0]], clock.Now())
	}
	inject := func(name string) {
		t.Helper()
		if err := f.Inject(ids[0], Drift{Action: DriftInstall, Package: &PackageSpec{Name: name, Version: "1", Release: "1.amzn2023"}}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(300 * time.Millisecond)
	inject("telnet") // reported at once: 09:00:00
	first := capture()
	if want := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC); !first.Equal(want) {
		t.Fatalf("first change: CaptureTime %s, want %s", first, want)
	}
	clock.Advance(300 * time.Millisecond)
	inject("gdb") // the same second as the last report
	if got := capture(); !got.After(first) {
		t.Errorf("a change within the second of the last report: CaptureTime %s, want later than %s", got, first)
	}
	clock.Advance(2 * time.Second)
	inject("strace") // a later second: its own
	if got, want := capture(), first.Add(2*time.Second); !got.Equal(want) {
		t.Errorf("a change two seconds later: CaptureTime %s, want %s", got, want)
	}
}
