package config

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
)

// Each section's validator, tested alone on a value built in Go (after
// defaults, as Parse calls it): want lists the exact messages, in order.

func checkErrs(t *testing.T, got []error, want []string) {
	t.Helper()
	var s []string
	for _, e := range got {
		s = append(s, e.Error())
	}
	if strings.Join(s, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(s, "\n"), strings.Join(want, "\n"))
	}
}

func TestAWSValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*AWS)
		want []string
	}{
		{"defaults", func(*AWS) {}, nil},
		{"region", func(a *AWS) { a.Region = "eu_west_1" }, []string{`aws.region: "eu_west_1" is not an AWS region name`}},
		{"attempts", func(a *AWS) { a.MaxAttempts = 21 }, []string{"aws.max_attempts: 21 must be between 1 and 20"}},
		{"backoff", func(a *AWS) { a.MaxBackoff = -time.Second }, []string{"aws.max_backoff: -1s must be positive"}},
		{"mode", func(a *AWS) { a.RetryMode = "legacy" }, []string{`aws.retry_mode: "legacy" is not one of adaptive, standard`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := AWS{}
			a.applyDefaults()
			tc.edit(&a)
			checkErrs(t, a.Validate(), tc.want)
		})
	}
}

func TestSelectionValidate(t *testing.T) {
	many := make([]string, 201)
	for i := range many {
		many[i] = "v"
	}
	for _, tc := range []struct {
		name string
		s    Selection
		want []string
	}{
		{"empty", Selection{}, nil},
		{"tags", Selection{Tags: map[string][]string{"": {"x"}, "env": nil, "team": many}}, []string{
			"selection.tags: empty tag key",
			"selection.tags.env: needs at least one value",
			"selection.tags.team: 201 values exceed the EC2 limit of 200",
		}},
		{"globs", Selection{ASGNames: []string{"web-*", "", "a[b"}}, []string{
			"selection.asg_names[1]: empty name",
			`selection.asg_names[2]: bad glob "a[b"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, tc.s.Validate(), tc.want) })
	}
}

func TestScheduleValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Schedule)
		want []string
	}{
		{"defaults", func(*Schedule) {}, nil},
		{"six fields", func(s *Schedule) { s.Cron = "0 */10 * * * *" }, nil},
		{"descriptor", func(s *Schedule) { s.Cron = "@hourly" }, nil},
		{"time zone", func(s *Schedule) { s.Cron = "CRON_TZ=Europe/Berlin 0 3 * * *" }, nil},
		{"one second", func(s *Schedule) { s.Cron = "@every 1s" }, nil},
		{"negative", func(s *Schedule) { s.Cron = "@every -5m" }, []string{`schedule.cron: "@every -5m": the interval must be positive`}},
		{"zero", func(s *Schedule) { s.Cron = "@every 0s" }, []string{`schedule.cron: "@every 0s": the interval must be positive`}},
		{"sub-second", func(s *Schedule) { s.Cron = "@every 999ms" }, []string{`schedule.cron: "@every 999ms": the interval must be at least 1s`}},
		{"fraction", func(s *Schedule) { s.Cron = "@every 1.5s" }, []string{`schedule.cron: "@every 1.5s": the interval must be whole seconds (the scheduler would run every 1s)`}},
		{"tz sub-second", func(s *Schedule) { s.Cron = "CRON_TZ=UTC @every 10ms" }, []string{`schedule.cron: "CRON_TZ=UTC @every 10ms": the interval must be at least 1s`}},
		{"bare tz", func(s *Schedule) { s.Cron = "TZ=UTC" }, []string{`schedule.cron: "TZ=UTC": a time-zone prefix must be followed by a schedule (e.g. "CRON_TZ=UTC 0 * * * *")`}},
		{"garbage", func(s *Schedule) { s.Cron = "@fortnightly" }, []string{`schedule.cron: "@fortnightly": unrecognized descriptor: @fortnightly`}},
		{"durations", func(s *Schedule) { s.Jitter, s.Timeout, s.ShutdownTimeout = -time.Second, -time.Second, -time.Second }, []string{
			"schedule.jitter: -1s must not be negative",
			"schedule.timeout: -1s must be positive",
			"schedule.shutdown_timeout: -1s must be positive",
		}},
		{"jitter", func(s *Schedule) { s.Cron, s.Jitter = "@every 10m", 10*time.Minute }, []string{"schedule.jitter: 10m0s must be shorter than the schedule interval 10m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Schedule{}
			s.applyDefaults()
			tc.edit(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestScheduleWarnings(t *testing.T) {
	for spec, warn := range map[string]bool{
		"@every 5m": false, "@every 1m": false, "@every 59s": true, "@every 2s": true,
		"*/30 * * * * *": true, "0 * * * * *": false, "* * * * *": false, "@hourly": false, "@every -1s": false,
	} {
		if got := len(Schedule{Cron: spec}.Warnings()) > 0; got != warn {
			t.Errorf("%q: warning %v, want %v", spec, got, warn)
		}
	}
}

func TestInventoryValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Inventory)
		want []string
	}{
		{"defaults", func(*Inventory) {}, nil},
		{"max age", func(v *Inventory) { v.MaxAge = -time.Hour }, []string{"inventory.max_age: -1h0m0s must be positive"}},
		{"concurrency", func(v *Inventory) { v.Concurrency = 257 }, []string{"inventory.concurrency: 257 must be between 1 and 256"}},
		{"pages", func(v *Inventory) { v.MaxPages = -1 }, []string{"inventory.max_pages: -1 must be at least 1"}},
		{"rates", func(v *Inventory) {
			v.RateLimits = map[string]float64{"ssm": math.NaN(), "ec2": math.Inf(1), "autoscaling": 10001, "ssm:GetInventory": math.Inf(-1)}
		}, []string{
			"inventory.rate_limits.autoscaling: 10001 must be a positive number of requests per second (at most 10000)",
			"inventory.rate_limits.ec2: +Inf is not a finite number; want a positive number of requests per second (at most 10000)",
			"inventory.rate_limits.ssm: NaN is not a number; want a positive number of requests per second (at most 10000)",
			"inventory.rate_limits.ssm:GetInventory: -Inf is not a finite number; want a positive number of requests per second (at most 10000)",
		}},
		{"source", func(v *Inventory) { v.Source = "athena" }, []string{`inventory.source: "athena" is not one of ssm_api, resource_data_sync`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Inventory{}
			v.applyDefaults()
			tc.edit(&v)
			checkErrs(t, v.Validate(), tc.want)
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	no := false
	shipped := "default-ssm-agent-self-update"
	for _, tc := range []struct {
		name string
		p    Policy
		want []string
	}{
		{"empty", Policy{}, nil},
		{"shipped id", Policy{Rules: []drift.Rule{{ID: shipped, Action: drift.ActionIgnore}}}, []string{
			`policy.rules[0].id: "default-ssm-agent-self-update" is the id of a shipped default-policy rule (rename it, or set include_default_policy: false)`,
		}},
		{"shipped id without the default policy", Policy{IncludeDefaultPolicy: &no, Rules: []drift.Rule{{ID: shipped, Action: drift.ActionIgnore}}}, nil},
		{"severity", Policy{DefaultSeverity: map[drift.Category]drift.Severity{drift.CategoryFile: drift.SeverityNone}}, []string{
			"policy.default_severity.file: severity must be info, low, high or critical",
		}},
		{"allow_upgrade on files", Policy{Rules: []drift.Rule{{ID: "a", Action: drift.ActionAllowUpgrade, Category: drift.CategoryFile}}}, []string{
			`policy.rules[0].action: allow_upgrade applies to packages only, not category "file"`,
		}},
		{"custom", Policy{Custom: map[string]drift.CustomSpec{"Sysctl": {Key: "Name", Category: "x"}}}, []string{
			"policy.custom.Sysctl: not an inventory type name",
			`policy.custom.Sysctl.category: "x" is not one of package, file, service, custom, instance, runtime, update, role`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, tc.p.Validate(), tc.want) })
	}
}

func TestHTTPValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*HTTP)
		want []string
	}{
		{"defaults", func(*HTTP) {}, nil},
		{"host port", func(h *HTTP) { h.Listen = "127.0.0.1:9464" }, nil},
		{"ipv6", func(h *HTTP) { h.Listen = "[::1]:9464" }, nil},
		{"named port", func(h *HTTP) { h.Listen = ":http" }, nil}, // resolved by Check
		{"any port", func(h *HTTP) { h.Listen = ":0" }, nil},
		{"no colon", func(h *HTTP) { h.Listen = "9464" }, []string{`http.listen: "9464" must be host:port or :port`}},
		{"port range", func(h *HTTP) { h.Listen = ":99999" }, []string{`http.listen: ":99999": port 99999 is out of range 0-65535`}},
		{"negative port", func(h *HTTP) { h.Listen = ":-1" }, []string{`http.listen: ":-1": port -1 is out of range 0-65535`}},
		{"bare ipv6", func(h *HTTP) { h.Listen = "::1:9464" }, []string{`http.listen: "::1:9464" must be host:port or :port (IPv6 hosts in brackets, [::1]:9464)`}},
		{"no port", func(h *HTTP) { h.Listen = "localhost:" }, []string{`http.listen: "localhost:" has no port`}},
		{"timeouts", func(h *HTTP) { h.ReadTimeout, h.IdleTimeout = -time.Second, 0 }, []string{
			"http.read_timeout: must not be negative",
			"http.idle_timeout: must be positive",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := HTTP{}
			h.applyDefaults()
			tc.edit(&h)
			checkErrs(t, h.Validate(), tc.want)
		})
	}
}

func TestLogValidate(t *testing.T) {
	l := Log{}
	l.applyDefaults()
	checkErrs(t, l.Validate(), nil)
	checkErrs(t, Log{Level: "trace", Format: "text"}.Validate(), []string{
		`log.level: "trace" is not one of debug, info, warn, error`,
		`log.format: "text" is not one of json, logfmt, console`,
	})
}

func TestStateValidate(t *testing.T) {
	checkErrs(t, State{}.Validate(), nil)
	checkErrs(t, State{File: "/var/lib/driftd/state.json"}.Validate(), nil)
	checkErrs(t, State{File: "/var/lib/driftd/"}.Validate(), []string{`state.file: "/var/lib/driftd/" is not a file path`})
}

func TestRemediationValidateFloats(t *testing.T) {
	nan, inf, zero := math.NaN(), math.Inf(1), 0.0
	r := Remediation{Global: RemediationGlobal{FleetBreakerPercent: &inf}, Groups: []RemediationGroup{
		{Match: "a", Breaker: RemediationBreaker{DriftPercent: &nan}},
		{Match: "b", Breaker: RemediationBreaker{DriftPercent: &zero}},
	}}
	r.applyDefaults()
	checkErrs(t, r.Validate(), []string{
		"remediation.global.fleet_breaker_percent: +Inf is not a finite number; want greater than 0 and at most 100",
		"remediation.groups[0].breaker.drift_percent: NaN is not a number; want greater than 0 and at most 100",
		"remediation.groups[1].breaker.drift_percent: 0 must be greater than 0 and at most 100",
	})
}
