package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/scan"
)

func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		p         scan.Progress
		bar, line string
	}{
		{scan.Progress{ID: 1, Phase: scan.PhaseDiscovering, APICalls: 2, Elapsed: 1200 * time.Millisecond},
			"discovering [........................] 0/? instances, 2 API calls",
			"scan 1 discovering: 0/? instances, 2 API calls, 1s elapsed"},
		{scan.Progress{ID: 3, Phase: scan.PhaseComparing, Discovered: 30, Compared: 15, APICalls: 87, Throttled: 2,
			ThrottleWait: 1234 * time.Millisecond, ETA: 6400 * time.Millisecond, Elapsed: 9 * time.Second},
			"comparing [############............] 15/30 instances, 87 API calls, 2 throttled, 1.2s rate-limit wait, ETA 6s",
			"scan 3 comparing: 15/30 instances, 87 API calls, 2 throttled, 1.2s rate-limit wait, ETA 6s, 9s elapsed"},
		{scan.Progress{ID: 4, Phase: scan.PhaseRecording, Discovered: 0, Compared: 0},
			"recording [........................] 0/0 instances, 0 API calls",
			"scan 4 recording: 0/0 instances, 0 API calls, 0s elapsed"},
	} {
		if got := progressBar(tc.p); got != tc.bar {
			t.Errorf("bar\n got %q\nwant %q", got, tc.bar)
		}
		if got := progressLine(tc.p); got != tc.line {
			t.Errorf("line\n got %q\nwant %q", got, tc.line)
		}
	}
	if got := fit("comparing [####]", 8); got != "compari" {
		t.Errorf("fit: %q", got)
	}
	if stderrProgress(true).w != nil {
		t.Error("--quiet still shows progress")
	}
}

// TestScanShowsProgress: driftd scan draws its live bar on a terminal
// (redrawn in place, cleared at the end) and plain lines otherwise, and
// the report on stdout is unchanged.
func TestScanShowsProgress(t *testing.T) {
	sim, _, cfg := simEnv(t)
	if _, err := sim.AddFault(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", Latency: 60 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{true, false} {
		var out, errOut bytes.Buffer
		cmd := &scanCmd{Config: cfg, Output: "json", out: &out, progress: &progressOut{w: &errOut, tty: tty, width: 200, every: 20 * time.Millisecond}}
		if err := cmd.Run(&Globals{}); exitCode(err) != 0 {
			t.Fatalf("tty=%v: %v", tty, err)
		}
		got := errOut.String()
		if tty {
			if !strings.HasPrefix(got, "\r\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") || !strings.Contains(got, "comparing [") ||
				!strings.Contains(got, "/3 instances") || strings.Contains(got, "\n") {
				t.Errorf("terminal progress %q", got)
			}
		} else if !strings.Contains(got, "driftd: scan 1 comparing: ") || strings.Contains(got, "\x1b") || !strings.HasSuffix(got, "\n") {
			t.Errorf("plain progress %q", got)
		}
		if !strings.HasPrefix(out.String(), "{") || !strings.Contains(out.String(), `"in_sync": 3`) {
			t.Errorf("report %s", out.String())
		}
	}
}
