package config

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is the `schedule:` section.
type Schedule struct {
	// Cron is a cron expression (5 or 6 fields, seconds optional) or a
	// descriptor such as "@every 5m" or "@hourly". Default "@every 5m".
	Cron string `yaml:"cron"`
	// Jitter delays each scheduled scan by a random duration in [0, jitter).
	Jitter time.Duration `yaml:"jitter"`
	// Timeout bounds one scan. Default 4m.
	Timeout time.Duration `yaml:"timeout"`
	// ShutdownTimeout bounds how long a running scan may continue after
	// SIGTERM before it is cancelled. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Defaults and limits of the schedule section.
const (
	DefaultCron            = "@every 5m"
	DefaultTimeout         = 4 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
	// MinScanInterval is the floor of an "@every" schedule: the cron
	// scheduler cannot run more often, and used to round anything shorter
	// (0s, -5m, 1ms) silently up to it.
	MinScanInterval = time.Second
	// ScanIntervalWarning: schedules firing more often than this are valid
	// but warned about (every scan lists the fleet's instances and groups).
	ScanIntervalWarning = time.Minute
)

// CronParser parses schedule.cron: seconds optional, descriptors allowed.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (s *Schedule) applyDefaults() {
	if s.Cron == "" {
		s.Cron = DefaultCron
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.ShutdownTimeout == 0 {
		s.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Validate checks the schedule section (after defaults).
func (s Schedule) Validate() []error {
	var errs errorList
	if _, err := parseScanCron(s.Cron); err != nil {
		errs.add("schedule.cron: %q: %v", s.Cron, err)
	} else if d, ok := everyInterval(s.Cron); ok {
		switch {
		case d <= 0:
			errs.add("schedule.cron: %q: the interval must be positive", s.Cron)
		case d < MinScanInterval:
			errs.add("schedule.cron: %q: the interval must be at least %s", s.Cron, MinScanInterval)
		case d%time.Second != 0:
			errs.add("schedule.cron: %q: the interval must be whole seconds (the scheduler would run every %s)", s.Cron, d.Truncate(time.Second))
		}
	}
	if s.Jitter < 0 {
		errs.add("schedule.jitter: %s must not be negative", s.Jitter)
	}
	if s.Timeout <= 0 {
		errs.add("schedule.timeout: %s must be positive", s.Timeout)
	}
	if s.ShutdownTimeout <= 0 {
		errs.add("schedule.shutdown_timeout: %s must be positive", s.ShutdownTimeout)
	}
	if iv := s.Interval(); iv > 0 {
		// A timeout longer than the interval is allowed: ticks that arrive
		// while a scan runs are skipped, so scans then run back to back.
		if s.Jitter >= iv {
			errs.add("schedule.jitter: %s must be shorter than the schedule interval %s", s.Jitter, iv)
		}
	}
	return errs
}

// Warnings returns remarks about a valid schedule.
func (s Schedule) Warnings() []string {
	often := false
	if d, ok := everyInterval(s.Cron); ok {
		often = d > 0 && d < ScanIntervalWarning
	} else if sch, err := parseScanCron(s.Cron); err == nil {
		if spec, ok := sch.(*cron.SpecSchedule); ok {
			often = bits.OnesCount64(spec.Second&^(1<<63)) > 1 // more than one second of each minute
		}
	}
	if often {
		return []string{fmt.Sprintf("schedule.cron: %q scans more often than once a minute; every scan lists the fleet's instances and groups (EC2, Auto Scaling), and SSM inventory changes at most every 30m", s.Cron)}
	}
	return nil
}

// parseScanCron is CronParser.Parse made safe: robfig/cron v3.0.1 panics
// on a time-zone prefix with nothing after it ("TZ=UTC").
func parseScanCron(spec string) (sch cron.Schedule, err error) {
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return nil, fmt.Errorf("a time-zone prefix must be followed by a schedule (e.g. \"CRON_TZ=UTC 0 * * * *\")")
	}
	defer func() {
		if p := recover(); p != nil {
			sch, err = nil, fmt.Errorf("not a valid schedule")
		}
	}()
	return CronParser.Parse(spec)
}

// Interval returns the fixed interval of a valid "@every" schedule, else 0.
func (s Schedule) Interval() time.Duration {
	if d, ok := everyInterval(s.Cron); ok && d >= MinScanInterval {
		return d
	}
	return 0
}

// everyInterval reads an "@every" schedule as robfig/cron does: an optional
// TZ= or CRON_TZ= prefix, then "@every " and a Go duration.
func everyInterval(spec string) (time.Duration, bool) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		_, rest, ok := strings.Cut(spec, " ")
		if !ok {
			return 0, false
		}
		spec = strings.TrimSpace(rest)
	}
	d, ok := strings.CutPrefix(spec, "@every ")
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(d)
	if err != nil {
		return 0, false
	}
	return v, true
}
