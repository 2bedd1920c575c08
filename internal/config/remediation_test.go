package config

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func decodeRemediation(t *testing.T, src string) (*Remediation, error) {
	t.Helper()
	var doc struct {
		Remediation Remediation `yaml:"remediation"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	doc.Remediation.applyDefaults()
	return &doc.Remediation, nil
}

func TestRemediationDefaults(t *testing.T) {
	r, err := decodeRemediation(t, "remediation:\n  groups:\n    - match: web-*\n")
	if err != nil {
		t.Fatal(err)
	}
	if errs := r.Validate(); len(errs) != 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	if r.ModeDefault != "off" || r.DryRun || !r.TagOverride() || !r.TaggingEnabled() || r.DebounceScans != 3 ||
		r.MinSeverity != "high" || r.Action != "set_instance_health" || r.ReplacementTimeout != 20*time.Minute {
		t.Errorf("top-level defaults wrong: %+v", r)
	}
	if r.KillSwitch.Enabled || *r.KillSwitch.SSMParameter != "/driftd/kill-switch" || *r.KillSwitch.File != "/etc/driftd/STOP" {
		t.Errorf("kill switch defaults wrong: %+v", r.KillSwitch)
	}
	if *r.Global.MaxPerHour != 10 || *r.Global.FleetBreakerPercent != 30 {
		t.Errorf("global defaults wrong: %+v", r.Global)
	}
	g := r.Groups[0]
	if g.Mode != "flag" || g.Budget != "1" || g.MaxInFlight != 1 || *g.Breaker.DriftPercent != 50 ||
		g.Breaker.MaxFailures != 3 || g.Breaker.Backoff != 10*time.Minute || g.Breaker.BackoffMax != 2*time.Hour {
		t.Errorf("group defaults wrong: %+v", g)
	}
	if r.Approvals.TTL != 24*time.Hour || r.Hook.Timeout != 5*time.Second {
		t.Errorf("approvals/hook defaults wrong")
	}
}

func TestRemediationFullExample(t *testing.T) {
	src := `remediation:
  mode_default: flag
  dry_run: true
  allow_tag_override: false
  tagging: {enabled: false}
  debounce_scans: 2
  min_severity: critical
  action: terminate
  replacement_timeout: 30m
  kill_switch: {enabled: false, ssm_parameter: "", file: /run/driftd/STOP}
  global: {max_per_hour: 4, fleet_breaker_percent: 25}
  groups:
    - match: "web-*"
      mode: replace
      budget: "10%"
      max_in_flight: 2
      windows: [{schedule: "0 2 * * *", duration: 3h, timezone: Europe/Berlin}]
      breaker: {drift_percent: 40, max_failures: 2, backoff: 5m, backoff_max: 1h}
      foreign_controllers: {allow: [eks]}
  approvals: {ttl: 2h}
  hook: {url: "https://hooks.example/driftd", timeout: 3s}
  foreign_controllers: {allow: [karpenter]}
`
	r, err := decodeRemediation(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if errs := r.Validate(); len(errs) != 0 {
		t.Fatalf("valid example rejected: %v", errs)
	}
	if r.TagOverride() || r.TaggingEnabled() || *r.KillSwitch.SSMParameter != "" || r.Groups[0].Windows[0].Duration != 3*time.Hour {
		t.Errorf("explicit values not kept: %+v", r)
	}
	if strings.Join(r.ForeignControllers.Allow, ",") != "karpenter" || strings.Join(r.Groups[0].ForeignControllers.Allow, ",") != "eks" {
		t.Errorf("foreign_controllers not kept: %+v / %+v", r.ForeignControllers, r.Groups[0].ForeignControllers)
	}
}

func TestRemediationUnknownKey(t *testing.T) {
	_, err := decodeRemediation(t, "remediation:\n  modes_default: off\n")
	if err == nil || !strings.Contains(err.Error(), "modes_default") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}

func TestRemediationInvalid(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"mode", "mode_default: auto", `remediation.mode_default: "auto" is not a mode (want off, flag, approve or replace)`},
		{"debounce", "debounce_scans: -1", `remediation.debounce_scans: -1 must be at least 1`},
		{"severity", "min_severity: urgent", `remediation.min_severity: "urgent" is not a severity (want info, low, high or critical)`},
		{"action", "action: reboot", `remediation.action: "reboot" is not an action (want set_instance_health or terminate)`},
		{"timeout", "replacement_timeout: 10s", `remediation.replacement_timeout: 10s must be between 1m and 24h`},
		{"kill file", "kill_switch: {file: STOP}", `remediation.kill_switch.file: "STOP" must be an absolute path`},
		{"ssm name", "kill_switch: {ssm_parameter: driftd/kill}", `remediation.kill_switch.ssm_parameter: "driftd/kill": a hierarchical parameter name must start with /`},
		{"max per hour", "global: {max_per_hour: -1}", `remediation.global.max_per_hour: -1 must not be negative`},
		{"fleet pct", "global: {fleet_breaker_percent: 130}", `remediation.global.fleet_breaker_percent: 130 must be greater than 0 and at most 100`},
		{"match empty", "groups: [{mode: replace}]", `remediation.groups[0].match: must not be empty (an ASG name or glob such as "web-*")`},
		{"match glob", "groups: [{match: \"web-[\"}]", `remediation.groups[0].match: "web-[" is not a valid glob`},
		{"group mode", "groups: [{match: a}, {match: b, mode: yes}]", `remediation.groups[1].mode: "yes" is not a mode (want off, flag, approve or replace)`},
		{"budget", "groups: [{match: a}, {match: b}, {match: c, budget: 15x}]", `remediation.groups[2].budget: "15x" is not a count or a percentage 0-100% (e.g. "1" or "10%")`},
		{"budget pct", "groups: [{match: a, budget: \"150%\"}]", `remediation.groups[0].budget: "150%" is not a count or a percentage 0-100% (e.g. "1" or "10%")`},
		{"budget neg", "groups: [{match: a, budget: \"-1\"}]", `remediation.groups[0].budget: "-1" is not a count or a percentage 0-100% (e.g. "1" or "10%")`},
		{"in flight", "groups: [{match: a, max_in_flight: 9}]", `remediation.groups[0].max_in_flight: 9 must be between 1 and 5`},
		{"cron", "groups: [{match: a, windows: [{schedule: \"61 2 * * *\", duration: 1h}]}]", `remediation.groups[0].windows[0].schedule: "61 2 * * *" is not a valid cron schedule: end of range (61) above maximum (59): 61`},
		{"cron tz", "groups: [{match: a, windows: [{schedule: \"CRON_TZ=UTC 0 2 * * *\", duration: 1h}]}]", `remediation.groups[0].windows[0].schedule: "CRON_TZ=UTC 0 2 * * *": put the time zone in the timezone key, not in the schedule`},
		{"window duration", "groups: [{match: a, windows: [{schedule: \"@daily\"}]}]", `remediation.groups[0].windows[0].duration: must be set and positive (e.g. "3h")`},
		{"zone", "groups: [{match: a, windows: [{schedule: \"@daily\", duration: 1h, timezone: Mars/Olympus}]}]", `remediation.groups[0].windows[0].timezone: unknown time zone "Mars/Olympus" (want an IANA name such as "Europe/Berlin")`},
		{"zone local", "groups: [{match: a, windows: [{schedule: \"@daily\", duration: 1h, timezone: Local}]}]", `remediation.groups[0].windows[0].timezone: time zone "Local" depends on the host; name an IANA zone such as "Europe/Berlin"`},
		{"drift pct", "groups: [{match: a, breaker: {drift_percent: 0.0}}]", `remediation.groups[0].breaker.drift_percent: 0 must be greater than 0 and at most 100`},
		{"failures", "groups: [{match: a, breaker: {max_failures: -2}}]", `remediation.groups[0].breaker.max_failures: -2 must be between 1 and 100`},
		{"backoff max", "groups: [{match: a, breaker: {backoff: 1h, backoff_max: 10m}}]", `remediation.groups[0].breaker.backoff_max: 10m0s must not be less than breaker.backoff (1h0m0s)`},
		{"ttl", "approvals: {ttl: 10s}", `remediation.approvals.ttl: 10s must be at least 1m`},
		{"hook url", "hook: {url: ftp://x}", `remediation.hook.url: "ftp://x" must be an http:// or https:// URL`},
		{"hook timeout", "hook: {timeout: 2m}", `remediation.hook.timeout: 2m0s must be greater than 0 and at most 1m`},
		{"foreign controller", "foreign_controllers: {allow: [karpenter, cluster-autoscaler]}", `remediation.foreign_controllers.allow[1]: "cluster-autoscaler" is not a controller driftd knows (want eks or karpenter)`},
		{"foreign controller twice", "foreign_controllers: {allow: [eks, eks]}", `remediation.foreign_controllers.allow[1]: "eks" duplicates allow[0]`},
		{"group foreign controller", "groups: [{match: a}, {match: b, foreign_controllers: {allow: [Karpenter]}}]", `remediation.groups[1].foreign_controllers.allow[0]: "Karpenter" is not a controller driftd knows (want eks or karpenter)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "remediation:\n  " + tc.yaml + "\n"
			r, err := decodeRemediation(t, src)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			errs := r.Validate()
			if len(errs) != 1 {
				t.Fatalf("want exactly 1 error, got %d: %v", len(errs), errs)
			}
			if errs[0].Error() != tc.want {
				t.Errorf("got  %s\nwant %s", errs[0], tc.want)
			}
		})
	}
}

func TestRemediationBudgetAllowed(t *testing.T) {
	cases := []struct {
		budget  string
		desired int
		want    int
	}{
		{"1", 10, 1}, {"0", 10, 0}, {"3", 2, 3},
		{"10%", 10, 1}, {"10%", 19, 1}, {"10%", 20, 2}, {"10%", 5, 1}, {"10%", 0, 0},
		{"0%", 50, 0}, {"100%", 7, 7}, {"33%", 10, 3}, {"50%", 3, 1},
	}
	for _, tc := range cases {
		b, err := ParseRemediationBudget(tc.budget)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Allowed(tc.desired); got != tc.want {
			t.Errorf("%s of %d = %d, want %d", tc.budget, tc.desired, got, tc.want)
		}
	}
}

func FuzzParseRemediationBudget(f *testing.F) {
	for _, s := range []string{"1", "10%", "100%", "0", "", "%", "15x", "-1", "+3", " 5 ", "999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseRemediationBudget(s)
		if err != nil {
			return
		}
		if b.Value < 0 || (b.Percent && b.Value > 100) {
			t.Fatalf("%q parsed to out-of-range %+v", s, b)
		}
		for _, d := range []int{0, 1, 10, 1000} {
			if n := b.Allowed(d); n < 0 || (b.Percent && n > d) {
				t.Fatalf("%q allowed %d of %d", s, n, d)
			}
		}
	})
}

func FuzzParseRemediationSchedule(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "@daily", "*/5 * * * 1-5", "CRON_TZ=UTC 0 1 * * *", "61 * * * *", "@every 1h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseRemediationSchedule(s)
		if err != nil {
			return
		}
		_ = sch.Next(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC))
	})
}
