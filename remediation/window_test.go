package remediation

import (
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
)

func windowPolicy(t *testing.T, schedule string, d time.Duration, zone string) *groupPolicy {
	t.Helper()
	p := compile(config.Remediation{Groups: []config.RemediationGroup{{Match: "*", Mode: "replace",
		Windows: []config.RemediationWindow{{Schedule: schedule, Duration: d, TimeZone: zone}}}}})
	gp := p.groups[0]
	if gp.err != nil {
		t.Fatal(gp.err)
	}
	return gp
}

func TestWindows(t *testing.T) {
	berlin, ny := mustLoc("Europe/Berlin"), mustLoc("America/New_York")
	cases := []struct {
		name     string
		schedule string
		dur      time.Duration
		zone     string
		at       time.Time
		open     bool
	}{
		// Plain daily window 02:00-05:00 Berlin (summer, UTC+2).
		{"before", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 1, 59, 0, 0, berlin), false},
		{"at start", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 2, 0, 0, 0, berlin), true},
		{"last minute", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 4, 59, 59, 0, berlin), true},
		{"at end", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 5, 0, 0, 0, berlin), false},
		{"zone matters: 02:30 UTC is 04:30 Berlin", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 2, 30, 0, 0, time.UTC), true},
		{"zone matters: 03:30 UTC is 05:30 Berlin", "0 2 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 3, 30, 0, 0, time.UTC), false},
		// Across midnight: 23:00-02:00.
		{"midnight: before midnight", "0 23 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 10, 23, 30, 0, 0, berlin), true},
		{"midnight: after midnight", "0 23 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 11, 1, 30, 0, 0, berlin), true},
		{"midnight: closed", "0 23 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 6, 11, 2, 0, 0, 0, berlin), false},
		// Across midnight into a day the schedule does not match: Fri 23:00 + 3h.
		{"weekday: Saturday 01:00 from Friday's window", "0 23 * * FRI", 3 * time.Hour, "UTC", time.Date(2026, 6, 13, 1, 0, 0, 0, time.UTC), true},
		{"weekday: Saturday 23:30 no window", "0 23 * * FRI", 3 * time.Hour, "UTC", time.Date(2026, 6, 13, 23, 30, 0, 0, time.UTC), false},
		// DST spring forward, Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST.
		{"spring: 02:30 start in the gap opens at 03:00 CEST", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 3, 0, 0, 0, berlin), true},
		{"spring: gap window lasts its duration", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 3, 59, 0, 0, berlin), true},
		{"spring: closed after", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 4, 0, 0, 0, berlin), false},
		{"spring: closed before", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), false},
		{"spring: 01:00 + 3h is elapsed time, ends 05:00 CEST", "0 1 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 4, 59, 0, 0, berlin), true},
		{"spring: 01:00 + 3h closed at 05:00 CEST", "0 1 * * *", 3 * time.Hour, "Europe/Berlin", time.Date(2026, 3, 29, 5, 0, 0, 0, berlin), false},
		{"spring: next day normal", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 3, 30, 2, 45, 0, 0, berlin), true},
		// DST fall back, Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET.
		{"fall: first 02:30 (CEST) opens", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC), true},
		{"fall: window ends one elapsed hour later (02:30 CET)", "30 2 * * *", time.Hour, "Europe/Berlin", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), false},
		{"fall: 00:00 + 4h elapsed ends 03:00 CET", "0 0 * * *", 4 * time.Hour, "Europe/Berlin", time.Date(2026, 10, 25, 2, 59, 0, 0, berlin), true},
		{"fall: 00:00 + 4h closed at 03:00 CET", "0 0 * * *", 4 * time.Hour, "Europe/Berlin", time.Date(2026, 10, 25, 3, 0, 0, 0, berlin), false},
		// New York spring forward 2026-03-08 02:00 EST -> 03:00 EDT.
		{"NY spring: 02:15 start opens at 03:00 EDT", "15 2 * * *", 30 * time.Minute, "America/New_York", time.Date(2026, 3, 8, 3, 10, 0, 0, ny), true},
		{"NY spring: closed at 03:30 EDT", "15 2 * * *", 30 * time.Minute, "America/New_York", time.Date(2026, 3, 8, 3, 30, 0, 0, ny), false},
		{"descriptor @weekly", "@weekly", 2 * time.Hour, "UTC", time.Date(2026, 6, 14, 1, 0, 0, 0, time.UTC), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gp := windowPolicy(t, tc.schedule, tc.dur, tc.zone)
			open, detail := gp.windowOpen(tc.at)
			if open != tc.open {
				t.Errorf("at %s: open=%v (%s), want %v", tc.at.Format(time.RFC3339), open, detail, tc.open)
			}
		})
	}
}

func TestWindowNextStart(t *testing.T) {
	gp := windowPolicy(t, "0 2 * * *", time.Hour, "Europe/Berlin")
	open, detail := gp.windowOpen(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC))
	if open || detail != "next window opens 2026-06-11T02:00:00+02:00" {
		t.Errorf("got %v %q", open, detail)
	}
	gp = windowPolicy(t, "0 0 30 2 *", time.Hour, "UTC") // Feb 30 never happens
	if open, detail = gp.windowOpen(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)); open || detail != "no window opens in the next 366 days" {
		t.Errorf("got %v %q", open, detail)
	}
}

func TestWallClockGap(t *testing.T) {
	berlin := mustLoc("Europe/Berlin")
	got := wallClock(2026, 3, 29, 2, 30, berlin)
	if want := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("gap start = %s, want %s", got, want)
	}
	got = wallClock(2026, 10, 25, 2, 30, berlin)
	if want := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("ambiguous start = %s, want first occurrence %s", got, want)
	}
}

func BenchmarkWindowOpen(b *testing.B) {
	p := compile(config.Remediation{Groups: []config.RemediationGroup{{Match: "*", Windows: []config.RemediationWindow{{Schedule: "*/5 * * * *", Duration: 2 * time.Hour, TimeZone: "Europe/Berlin"}}}}})
	gp := p.groups[0]
	now := time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)
	for b.Loop() {
		gp.windowOpen(now)
	}
}
