package scan

import (
	"encoding/json"
	"testing"
	"time"
)

func TestProgressJSON(t *testing.T) {
	for _, tc := range []struct {
		p    Progress
		want string
	}{
		{Progress{ID: 2, Started: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), Phase: PhaseComparing, Discovered: 40, Compared: 10,
			APICalls: 55, Throttled: 1, Elapsed: 1500 * time.Millisecond, ThrottleWait: 250 * time.Millisecond, ETA: 4500 * time.Millisecond},
			`{"id":2,"started":"2026-05-04T10:00:00Z","phase":"comparing","instances_discovered":40,"instances_compared":10,"api_calls":55,"throttled":1,"elapsed_seconds":1.5,"throttle_wait_seconds":0.25,"eta_seconds":4.5}`},
		{Progress{ID: 1, Phase: PhaseDiscovering, Partial: true},
			`{"id":1,"started":"0001-01-01T00:00:00Z","phase":"discovering","partial":true,"instances_discovered":0,"instances_compared":0,"api_calls":0,"throttled":0,"elapsed_seconds":0,"throttle_wait_seconds":0}`},
	} {
		b, err := json.Marshal(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("\n got %s\nwant %s", b, tc.want)
		}
	}
}

func TestProgressFraction(t *testing.T) {
	for _, tc := range []struct {
		d, c int
		want float64
	}{{0, 0, 0}, {0, 3, 0}, {4, 1, 0.25}, {4, 4, 1}, {4, 9, 1}} {
		if got := (Progress{Discovered: tc.d, Compared: tc.c}).Fraction(); got != tc.want {
			t.Errorf("%d/%d: %v, want %v", tc.c, tc.d, got, tc.want)
		}
	}
}
