package config

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Remediation is the `remediation:` section: what driftd may do about drift.
// Everything defaults to report-only (mode_default: off). See docs/remediation.md.
type Remediation struct {
	// ModeDefault applies to groups no `groups[]` entry matches: off|flag|approve|replace.
	ModeDefault string `yaml:"mode_default"`
	// DryRun plans and logs actions but never calls a mutating AWS API.
	DryRun bool `yaml:"dry_run"`
	// AllowTagOverride lets the ASG tag driftd:remediation raise the mode above
	// the configured one. A tag may always lower it.
	AllowTagOverride *bool              `yaml:"allow_tag_override"`
	Tagging          RemediationTagging `yaml:"tagging"`
	// DebounceScans is how many consecutive scans a drifted verdict must hold.
	DebounceScans int `yaml:"debounce_scans"`
	// MinSeverity is the lowest instance severity that can lead to replacement.
	MinSeverity string `yaml:"min_severity"`
	// Action is how one instance is replaced: set_instance_health|terminate.
	Action string `yaml:"action"`
	// ReplacementTimeout bounds how long a replacement may take before it
	// counts as failed.
	ReplacementTimeout time.Duration        `yaml:"replacement_timeout"`
	KillSwitch         RemediationKill      `yaml:"kill_switch"`
	Global             RemediationGlobal    `yaml:"global"`
	Groups             []RemediationGroup   `yaml:"groups"`
	Approvals          RemediationApprovals `yaml:"approvals"`
	Hook               RemediationHook      `yaml:"hook"`
	// ForeignControllers opts instances that another controller launched
	// and replaces (Karpenter, EKS managed node groups) into replacement,
	// fleet-wide. By default they are reported and flagged, never replaced.
	ForeignControllers RemediationForeignControllers `yaml:"foreign_controllers"`
}

// RemediationForeignControllers lists the controllers whose instances
// driftd may replace (ForeignControllerNames).
type RemediationForeignControllers struct {
	Allow []string `yaml:"allow"`
}

// Foreign controllers remediation.foreign_controllers.allow may name; each
// is recognised by the tags it puts on its instances or groups (see
// remediation.ForeignControllers).
const (
	ForeignControllerKarpenter = "karpenter"
	ForeignControllerEKS       = "eks"
)

// ForeignControllerNames are the accepted foreign controller names, sorted.
var ForeignControllerNames = []string{ForeignControllerEKS, ForeignControllerKarpenter}

// RemediationTagging controls the driftd:* instance tags.
type RemediationTagging struct {
	Enabled *bool `yaml:"enabled"`
}

// RemediationKill is the global kill switch. Any source engaged stops every
// mutating action.
type RemediationKill struct {
	// Enabled engages the switch from the config file itself.
	Enabled bool `yaml:"enabled"`
	// SSMParameter names an SSM parameter; a value of true/on/1/stop engages
	// the switch, a read failure engages it (fail closed), ParameterNotFound
	// releases it. Empty disables this source.
	SSMParameter *string `yaml:"ssm_parameter"`
	// File engages the switch while it exists. Empty disables this source.
	File *string `yaml:"file"`
}

// RemediationGlobal are fleet-wide limits.
type RemediationGlobal struct {
	// MaxPerHour caps actions started across the fleet in any rolling hour.
	MaxPerHour *int `yaml:"max_per_hour"`
	// FleetBreakerPercent opens the fleet breaker when more than this share of
	// the fleet's known instances is drifted in one scan.
	FleetBreakerPercent *float64 `yaml:"fleet_breaker_percent"`
}

// RemediationGroup configures the Auto Scaling groups whose name matches Match.
// The first matching entry wins.
type RemediationGroup struct {
	Match       string              `yaml:"match"`
	Mode        string              `yaml:"mode"`
	Budget      string              `yaml:"budget"`
	MaxInFlight int                 `yaml:"max_in_flight"`
	Windows     []RemediationWindow `yaml:"windows"`
	Breaker     RemediationBreaker  `yaml:"breaker"`
	// ForeignControllers allows, in the matched groups, instances of these
	// controllers too (in addition to the fleet-wide list).
	ForeignControllers RemediationForeignControllers `yaml:"foreign_controllers"`
}

// RemediationWindow is a maintenance window: it opens at each activation of
// Schedule (5-field cron, evaluated in TimeZone) and stays open for Duration.
type RemediationWindow struct {
	Schedule string        `yaml:"schedule"`
	Duration time.Duration `yaml:"duration"`
	TimeZone string        `yaml:"timezone"`
}

// RemediationBreaker configures a group's circuit breakers.
type RemediationBreaker struct {
	// DriftPercent opens the group breaker when more than this share of the
	// group is drifted in one scan. 100 disables it.
	DriftPercent *float64 `yaml:"drift_percent"`
	// MaxFailures consecutive failed replacements open the breaker.
	MaxFailures int `yaml:"max_failures"`
	// Backoff is the wait after the first failure, doubled per further
	// failure up to BackoffMax.
	Backoff    time.Duration `yaml:"backoff"`
	BackoffMax time.Duration `yaml:"backoff_max"`
}

// RemediationApprovals configures operator approvals (mode approve).
type RemediationApprovals struct {
	TTL time.Duration `yaml:"ttl"`
}

// RemediationHook is an optional HTTP endpoint asked before every action.
type RemediationHook struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// Remediation modes, in increasing order of authority.
const (
	RemediationModeOff     = "off"
	RemediationModeFlag    = "flag"
	RemediationModeApprove = "approve"
	RemediationModeReplace = "replace"
)

// Remediation actions.
const (
	RemediationActionSetInstanceHealth = "set_instance_health"
	RemediationActionTerminate         = "terminate"
)

// Defaults (documented in docs/remediation.md).
const (
	DefaultRemediationDebounce               = 3
	DefaultRemediationMinSeverity            = "high"
	DefaultRemediationTimeout                = 20 * time.Minute
	DefaultRemediationKillSwitchSSMParameter = "/driftd/kill-switch"
	DefaultRemediationKillSwitchFile         = "/etc/driftd/STOP"
	DefaultRemediationMaxPerHour             = 10
	DefaultRemediationFleetBreakerPercent    = 30.0
	DefaultRemediationGroupBudget            = "1"
	DefaultRemediationGroupMaxInFlight       = 1
	DefaultRemediationGroupDriftPercent      = 50.0
	DefaultRemediationGroupMaxFailures       = 3
	DefaultRemediationGroupBackoff           = 10 * time.Minute
	DefaultRemediationGroupBackoffMax        = 2 * time.Hour
	DefaultRemediationApprovalTTL            = 24 * time.Hour
	DefaultRemediationHookTimeout            = 5 * time.Second
	RemediationMaxInFlight                   = 5 // bounded by the 256-character ASG tag value holding the in-flight set
	maxRemediationMaxFailures                = 100
	remediationKeyPrefix                     = "remediation"
	remediationTagOverrideDefault            = true
	remediationTaggingDefault                = true
	remediationReplacementMaxLimit           = 24 * time.Hour
	remediationMaxWindow                     = 31 * 24 * time.Hour
)

// RemediationModeRank orders modes (off < flag < approve < replace); -1 for unknown.
func RemediationModeRank(m string) int {
	switch m {
	case RemediationModeOff:
		return 0
	case RemediationModeFlag:
		return 1
	case RemediationModeApprove:
		return 2
	case RemediationModeReplace:
		return 3
	}
	return -1
}

// RemediationBudget is a parsed group budget: a count or a percentage of desired capacity.
type RemediationBudget struct {
	Percent bool
	Value   int // count, or percent 0-100
}

// ParseRemediationBudget parses "3" or "10%". Percentages are 0-100.
func ParseRemediationBudget(s string) (RemediationBudget, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 100 || p != strings.TrimSpace(p) || strings.HasPrefix(p, "+") {
			return RemediationBudget{}, fmt.Errorf("%q is not a count or a percentage 0-100%% (e.g. \"1\" or \"10%%\")", s)
		}
		return RemediationBudget{Percent: true, Value: v}, nil
	}
	v, err := strconv.Atoi(t)
	if err != nil || v < 0 || t == "" || strings.HasPrefix(t, "+") {
		return RemediationBudget{}, fmt.Errorf("%q is not a count or a percentage 0-100%% (e.g. \"1\" or \"10%%\")", s)
	}
	return RemediationBudget{Value: v}, nil
}

// Allowed returns how many replacements the budget allows for a group of
// the given desired capacity. Percentages round down, but a non-zero
// percentage of a non-empty group always allows at least 1 (so small groups
// can heal); "0" and "0%" allow none.
func (b RemediationBudget) Allowed(desired int) int {
	if !b.Percent {
		return b.Value
	}
	if b.Value == 0 || desired <= 0 {
		return 0
	}
	n := desired * b.Value / 100
	if n < 1 {
		n = 1
	}
	return n
}

func (b RemediationBudget) String() string {
	if b.Percent {
		return strconv.Itoa(b.Value) + "%"
	}
	return strconv.Itoa(b.Value)
}

// RemediationCronParser is the schedule parser for maintenance windows: standard
// 5-field cron plus descriptors (@daily, @weekly, ...).
var RemediationCronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// RemediationLocation resolves an IANA time zone name; "" means UTC. Local is
// refused: a window must not depend on the host's zone.
func RemediationLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q depends on the host; name an IANA zone such as \"Europe/Berlin\"", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as \"Europe/Berlin\")", name)
	}
	return loc, nil
}

// ParseRemediationSchedule parses a window's cron schedule. CRON_TZ/TZ prefixes
// are refused: the zone belongs in the timezone key.
func ParseRemediationSchedule(s string) (cron.Schedule, error) {
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") {
		return nil, fmt.Errorf("%q: put the time zone in the timezone key, not in the schedule", s)
	}
	if strings.HasPrefix(s, "@every") {
		return nil, fmt.Errorf("%q: @every is not a wall-clock schedule", s)
	}
	sch, err := RemediationCronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid cron schedule: %v", s, err)
	}
	return sch, nil
}

// TagOverride reports whether the ASG tag may raise the mode.
func (r *Remediation) TagOverride() bool {
	if r.AllowTagOverride == nil {
		return remediationTagOverrideDefault
	}
	return *r.AllowTagOverride
}

// TaggingEnabled reports whether driftd writes driftd:* instance tags.
func (r *Remediation) TaggingEnabled() bool {
	if r.Tagging.Enabled == nil {
		return remediationTaggingDefault
	}
	return *r.Tagging.Enabled
}

// ApplyDefaults fills unset keys with their defaults (exported for packages
// that build a Remediation without the top-level loader, e.g. tests).
func (r *Remediation) ApplyDefaults() { r.applyDefaults() }

func (r *Remediation) applyDefaults() {
	if r.ModeDefault == "" {
		r.ModeDefault = RemediationModeOff
	}
	if r.AllowTagOverride == nil {
		v := remediationTagOverrideDefault
		r.AllowTagOverride = &v
	}
	if r.Tagging.Enabled == nil {
		v := remediationTaggingDefault
		r.Tagging.Enabled = &v
	}
	if r.DebounceScans == 0 {
		r.DebounceScans = DefaultRemediationDebounce
	}
	if r.MinSeverity == "" {
		r.MinSeverity = DefaultRemediationMinSeverity
	}
	if r.Action == "" {
		r.Action = RemediationActionSetInstanceHealth
	}
	if r.ReplacementTimeout == 0 {
		r.ReplacementTimeout = DefaultRemediationTimeout
	}
	if r.KillSwitch.SSMParameter == nil {
		v := DefaultRemediationKillSwitchSSMParameter
		r.KillSwitch.SSMParameter = &v
	}
	if r.KillSwitch.File == nil {
		v := DefaultRemediationKillSwitchFile
		r.KillSwitch.File = &v
	}
	if r.Global.MaxPerHour == nil {
		v := DefaultRemediationMaxPerHour
		r.Global.MaxPerHour = &v
	}
	if r.Global.FleetBreakerPercent == nil {
		v := DefaultRemediationFleetBreakerPercent
		r.Global.FleetBreakerPercent = &v
	}
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Mode == "" {
			g.Mode = RemediationModeFlag
		}
		if g.Budget == "" {
			g.Budget = DefaultRemediationGroupBudget
		}
		if g.MaxInFlight == 0 {
			g.MaxInFlight = DefaultRemediationGroupMaxInFlight
		}
		for j := range g.Windows {
			if g.Windows[j].TimeZone == "" {
				g.Windows[j].TimeZone = "UTC"
			}
		}
		if g.Breaker.DriftPercent == nil {
			v := DefaultRemediationGroupDriftPercent
			g.Breaker.DriftPercent = &v
		}
		if g.Breaker.MaxFailures == 0 {
			g.Breaker.MaxFailures = DefaultRemediationGroupMaxFailures
		}
		if g.Breaker.Backoff == 0 {
			g.Breaker.Backoff = DefaultRemediationGroupBackoff
		}
		if g.Breaker.BackoffMax == 0 {
			g.Breaker.BackoffMax = DefaultRemediationGroupBackoffMax
		}
	}
	if r.Approvals.TTL == 0 {
		r.Approvals.TTL = DefaultRemediationApprovalTTL
	}
	if r.Hook.Timeout == 0 {
		r.Hook.Timeout = DefaultRemediationHookTimeout
	}
}

// Validate checks the section (after applyDefaults); each error names the
// full key, e.g. `remediation.groups[2].budget: "150%" is not a count or a percentage 0-100%`.
func (r *Remediation) Validate() []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", remediationKeyPrefix, key, fmt.Sprintf(format, a...)))
	}
	if RemediationModeRank(r.ModeDefault) < 0 {
		add("mode_default", "%q is not a mode (want off, flag, approve or replace)", r.ModeDefault)
	}
	if r.DebounceScans < 1 {
		add("debounce_scans", "%d must be at least 1", r.DebounceScans)
	}
	switch r.MinSeverity {
	case "info", "low", "high", "critical":
	default:
		add("min_severity", "%q is not a severity (want info, low, high or critical)", r.MinSeverity)
	}
	switch r.Action {
	case RemediationActionSetInstanceHealth, RemediationActionTerminate:
	default:
		add("action", "%q is not an action (want set_instance_health or terminate)", r.Action)
	}
	if d := r.ReplacementTimeout; d < time.Minute || d > remediationReplacementMaxLimit {
		add("replacement_timeout", "%s must be between 1m and 24h", d)
	}
	if p := r.KillSwitch.SSMParameter; p != nil && *p != "" && !strings.HasPrefix(*p, "/") && strings.Contains(*p, "/") {
		add("kill_switch.ssm_parameter", "%q: a hierarchical parameter name must start with /", *p)
	}
	if f := r.KillSwitch.File; f != nil && *f != "" && !path.IsAbs(*f) {
		add("kill_switch.file", "%q must be an absolute path", *f)
	}
	if v := r.Global.MaxPerHour; v != nil && *v < 0 {
		add("global.max_per_hour", "%d must not be negative", *v)
	}
	if v := r.Global.FleetBreakerPercent; v != nil {
		checkPercent(add, "global.fleet_breaker_percent", *v)
	}
	for i, g := range r.Groups {
		k := fmt.Sprintf("groups[%d]", i)
		if g.Match == "" {
			add(k+".match", "must not be empty (an ASG name or glob such as \"web-*\")")
		} else if _, err := path.Match(g.Match, ""); err != nil {
			add(k+".match", "%q is not a valid glob", g.Match)
		}
		if RemediationModeRank(g.Mode) < 0 {
			add(k+".mode", "%q is not a mode (want off, flag, approve or replace)", g.Mode)
		}
		if _, err := ParseRemediationBudget(g.Budget); err != nil {
			add(k+".budget", "%v", err)
		}
		if g.MaxInFlight < 1 || g.MaxInFlight > RemediationMaxInFlight {
			add(k+".max_in_flight", "%d must be between 1 and %d", g.MaxInFlight, RemediationMaxInFlight)
		}
		for j, w := range g.Windows {
			wk := fmt.Sprintf("%s.windows[%d]", k, j)
			if _, err := ParseRemediationSchedule(w.Schedule); err != nil {
				add(wk+".schedule", "%v", err)
			}
			if d := w.Duration; d <= 0 {
				add(wk+".duration", "must be set and positive (e.g. \"3h\")")
			} else if d > remediationMaxWindow {
				add(wk+".duration", "%s must be at most 744h (31 days)", d)
			}
			if _, err := RemediationLocation(w.TimeZone); err != nil {
				add(wk+".timezone", "%v", err)
			}
		}
		b := g.Breaker
		if v := b.DriftPercent; v != nil {
			checkPercent(add, k+".breaker.drift_percent", *v)
		}
		if b.MaxFailures < 1 || b.MaxFailures > maxRemediationMaxFailures {
			add(k+".breaker.max_failures", "%d must be between 1 and %d", b.MaxFailures, maxRemediationMaxFailures)
		}
		if b.Backoff <= 0 {
			add(k+".breaker.backoff", "%s must be positive", b.Backoff)
		}
		if b.BackoffMax < b.Backoff {
			add(k+".breaker.backoff_max", "%s must not be less than breaker.backoff (%s)", b.BackoffMax, b.Backoff)
		}
	}
	if d := r.Approvals.TTL; d < time.Minute {
		add("approvals.ttl", "%s must be at least 1m", d)
	}
	if u, err := url.Parse(r.Hook.URL); r.Hook.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		// The URL may carry credentials (user:password@, ?token=): never echo them.
		add("hook.url", "%q must be an http:// or https:// URL", RedactURL(r.Hook.URL))
	}
	if d := r.Hook.Timeout; d <= 0 || d > time.Minute {
		add("hook.timeout", "%s must be greater than 0 and at most 1m", d)
	}
	r.ForeignControllers.validate(add, "foreign_controllers")
	for i, g := range r.Groups {
		g.ForeignControllers.validate(add, fmt.Sprintf("groups[%d].foreign_controllers", i))
	}
	return errs
}

// validate checks the allow list: known names, each once.
func (f RemediationForeignControllers) validate(add func(key, format string, a ...any), key string) {
	seen := map[string]int{}
	for i, name := range f.Allow {
		k := fmt.Sprintf("%s.allow[%d]", key, i)
		if !contains(ForeignControllerNames, name) {
			add(k, "%q is not a controller driftd knows (want %s)", name, strings.Join(ForeignControllerNames, " or "))
			continue
		}
		if j, dup := seen[name]; dup {
			add(k, "%q duplicates allow[%d]", name, j)
			continue
		}
		seen[name] = i
	}
}

// checkPercent reports a breaker percentage that is not a finite number in (0, 100].
func checkPercent(add func(key, format string, a ...any), key string, v float64) {
	if nf := notFinite(v); nf != "" {
		add(key, "%s; want greater than 0 and at most 100", nf)
	} else if !inRange(v, 0, 100, true) {
		add(key, "%g must be greater than 0 and at most 100", v)
	}
}
