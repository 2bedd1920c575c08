package config

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleLongestGap(t *testing.T) {
	for _, tc := range []struct {
		cron string
		want time.Duration
	}{
		{"@every 5m", 5 * time.Minute},
		{"CRON_TZ=UTC @every 90s", 90 * time.Second},
		{"*/10 * * * *", 10 * time.Minute},
		{"0 */10 * * * *", 10 * time.Minute},
		{"0 9-17 * * *", 16 * time.Hour},               // last 17:00, next 09:00
		{"0 3 * * 1", 7 * 24 * time.Hour},              // weekly
		{"@hourly", time.Hour},                         // descriptor
		{"0 0 1 * *", 31 * 24 * time.Hour},             // monthly: the longest month
		{"30 6 * * 1-5", 72 * time.Hour},               // Friday to Monday
		{"TZ=Europe/Berlin 0 2 * * *", 47 * time.Hour}, // 02:00 does not exist on the spring-forward day: robfig/cron skips it
	} {
		got, ok := Schedule{Cron: tc.cron}.LongestGap()
		if !ok || got != tc.want {
			t.Errorf("LongestGap(%q) = %s, %v; want %s", tc.cron, got, ok, tc.want)
		}
	}
	if _, ok := (Schedule{Cron: "not a schedule"}).LongestGap(); ok {
		t.Error("an invalid schedule has no gap")
	}
}

func TestResendWindowMustExceedScanGap(t *testing.T) {
	base := `aws: {region: eu-west-1}
baselines: [{dir: {path: /etc/driftd/baselines}}]
schedule: {cron: "%CRON%"}
alerting:
  sinks:
    - name: am
      type: alertmanager
      urls: [http://am:9093]
%RW%`
	for _, tc := range []struct {
		name, cron, rw, want string
	}{
		{"default window, 5m scans", "@every 5m", "", ""},
		{"window longer than the gap", "@every 30m", "      resend_window: 31m", ""},
		{"window equal to the gap", "@every 30m", "      resend_window: 30m", "alerting.sinks[0].resend_window: 30m0s does not exceed the longest gap between scans of schedule.cron \"@every 30m\" (30m0s)"},
		{"default window, 2h scans", "@every 2h", "", "alerting.sinks[0].resend_window: 1h0m0s does not exceed"},
		{"weekday schedule: the weekend gap counts", "0 * * * 1-5", "      resend_window: 2h", "(49h0m0s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.ReplaceAll(strings.ReplaceAll(base, "%CRON%", tc.cron), "%RW%", tc.rw)
			_, err := Parse([]byte(src))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
