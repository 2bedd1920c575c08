package config

import (
	"fmt"
	"time"
)

// validateAcrossSections checks rules that tie two sections together; each
// message names the key the operator should change.
func (c *Config) validateAcrossSections() []error {
	var errs errorList
	gap, ok := c.Schedule.LongestGap()
	if !ok {
		return nil // schedule.cron is invalid: Schedule.Validate reports it
	}
	for i, s := range c.Alerting.Sinks {
		if s.Type != SinkAlertmanager || s.ResendWindow <= 0 {
			continue
		}
		// Alertmanager expires an alert at endsAt = send time + resend_window;
		// the next scan must re-send it before then, or a drifted instance's
		// alert resolves and fires again every scan.
		if s.ResendWindow <= gap {
			errs = append(errs, fmt.Errorf("alerting.sinks[%d].resend_window: %s does not exceed the longest gap between scans of schedule.cron %q (%s); alerts would resolve between scans", i, s.ResendWindow, c.Schedule.Cron, gap))
		}
	}
	return errs
}

// LongestGap returns the longest time between two consecutive scans of the
// schedule, over the year after a fixed reference date (so that weekly and
// monthly schedules are measured by their real gaps), and false when the
// schedule does not parse.
func (s Schedule) LongestGap() (time.Duration, bool) {
	if d := s.Interval(); d > 0 {
		return d, true
	}
	sch, err := parseScanCron(s.Cron)
	if err != nil {
		return 0, false
	}
	start := time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	prev := sch.Next(start)
	if prev.IsZero() {
		return 0, false
	}
	var longest time.Duration
	// 10,000 activations cover a year of any schedule of an hour or more;
	// a denser schedule's longest gap shows up well within them.
	for i := 0; i < 10000 && prev.Before(end); i++ {
		next := sch.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest, true
}
