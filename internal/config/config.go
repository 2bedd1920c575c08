// Package config is driftd's configuration: the YAML schema, defaults, strict
// decoding (unknown keys are errors) and cross-field validation with messages
// naming the key. It imports no AWS SDK and no net/http.
//
// Each section's schema lives in its own file (remediation.go, alerting.go,
// baselines.go, ...) so each feature owns its keys.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
)

// Config is the whole driftd configuration file.
type Config struct {
	AWS         AWS         `yaml:"aws"`
	Selection   Selection   `yaml:"selection"`
	Schedule    Schedule    `yaml:"schedule"`
	Inventory   Inventory   `yaml:"inventory"`
	Policy      Policy      `yaml:"policy"`
	Baselines   Baselines   `yaml:"baselines"`
	HTTP        HTTP        `yaml:"http"`
	Log         Log         `yaml:"log"`
	State       State       `yaml:"state"`
	Remediation Remediation `yaml:"remediation"`
	Alerting    Alerting    `yaml:"alerting"`
}

// AWS is the `aws:` section. One daemon watches one region; run one daemon
// per region. Credentials, profile and endpoints come from the SDK's standard
// chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
type AWS struct {
	// Region overrides AWS_REGION / the profile's region when set.
	Region string `yaml:"region"`
	// MaxAttempts is the SDK retryer's attempt limit (adaptive mode). Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the retry backoff. Default 20s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// RetryMode is "adaptive" (default: standard retries plus client-side
	// rate reduction after throttling errors) or "standard".
	RetryMode string `yaml:"retry_mode"`
}

// Selection chooses which instances are scanned.
type Selection struct {
	// Tags are EC2 tag filters: every key must match one of its values
	// ("*" wildcards as EC2 filters allow).
	Tags map[string][]string `yaml:"tags"`
	// ASGNames restricts ASG members to these groups (globs). Empty = all groups.
	ASGNames []string `yaml:"asg_names"`
	// IncludeStandalone also scans running instances outside any ASG.
	IncludeStandalone bool `yaml:"include_standalone"`
}

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

// Inventory is the `inventory:` section.
type Inventory struct {
	// Types are the SSM inventory types collected. AWS:* types are required
	// (an instance without them is unknown "no inventory yet"); Custom:*
	// types are compared when the instance reports them.
	Types []string `yaml:"types"`
	// MaxAge is the staleness limit: inventory captured longer ago is stale,
	// never drift. Default 26h (inventory associations run at most every
	// 30m, commonly daily).
	MaxAge time.Duration `yaml:"max_age"`
	// Concurrency bounds instances collected in parallel. Default 8.
	Concurrency int `yaml:"concurrency"`
	// RateLimits are client-side request rates (requests/s) per service
	// (keys ec2, ssm, autoscaling; defaults ssm 15, ec2 20, autoscaling 10)
	// and optionally per operation ("ssm:ListInventoryEntries"), applied on
	// top of the service's limit.
	RateLimits map[string]float64 `yaml:"rate_limits"`
	// MaxPages bounds ListInventoryEntries pages per instance and type. Default 200.
	MaxPages int `yaml:"max_pages"`
	// InventorySource: source, resource_data_sync, events (datasync.go).
	InventorySource `yaml:",inline"`
}

// Policy is the `policy:` section: how differences become findings.
type Policy struct {
	// IncludeDefaultPolicy layers the shipped default policy (known
	// self-mutators such as the SSM agent) under the rules below. Default true.
	IncludeDefaultPolicy *bool `yaml:"include_default_policy"`
	// DefaultSeverity per category (package, file, service, custom, instance).
	DefaultSeverity map[drift.Category]drift.Severity `yaml:"default_severity"`
	// Rules are ignore/allow/severity/exempt rules (drift.Rule).
	Rules []drift.Rule `yaml:"rules"`
	// Custom says how Custom:* inventory types are compared, by type name.
	Custom map[string]drift.CustomSpec `yaml:"custom"`
}

// DefaultPolicyIncluded reports whether the shipped default policy is layered.
func (p Policy) DefaultPolicyIncluded() bool {
	return p.IncludeDefaultPolicy == nil || *p.IncludeDefaultPolicy
}

// HTTP is the `http:` section.
type HTTP struct {
	Listen            string        `yaml:"listen"` // default ":9464"
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
}

// Log is the `log:` section.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error; default info
	Format string `yaml:"format"` // json (default) or console
}

// State is the `state:` section.
type State struct {
	// File, when set, persists per-instance verdict history across restarts.
	File string `yaml:"file"`
	// FromTags restores first-seen-drifted times from the driftd:status and
	// driftd:since instance tags when the state file has no entry. Default true.
	FromTags *bool `yaml:"from_tags"`
}

// RestoreFromTags reports whether tags are consulted on restart.
func (s State) RestoreFromTags() bool { return s.FromTags == nil || *s.FromTags }

// Defaults.
const (
	DefaultCron            = "@every 5m"
	DefaultTimeout         = 4 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
	DefaultMaxAge          = 26 * time.Hour
	DefaultConcurrency     = 8
	DefaultMaxPages        = 200
	DefaultListen          = ":9464"
	DefaultMaxAttempts     = 5
	DefaultMaxBackoff      = 20 * time.Second
)

// DefaultInventoryTypes are collected when inventory.types is empty.
var DefaultInventoryTypes = []string{drift.TypeApplication, drift.TypeFileDigest, drift.TypeSystemdUnit}

// DefaultRateLimits are the client-side request rates (requests/s).
var DefaultRateLimits = map[string]float64{"ssm": 15, "ec2": 20, "autoscaling": 10}

// RateLimitServices are the keys accepted in inventory.rate_limits.
var RateLimitServices = []string{"autoscaling", "ec2", "ssm"}

// CronParser parses schedule.cron: seconds optional, descriptors allowed.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Default returns a configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.AWS.MaxAttempts == 0 {
		c.AWS.MaxAttempts = DefaultMaxAttempts
	}
	if c.AWS.MaxBackoff == 0 {
		c.AWS.MaxBackoff = DefaultMaxBackoff
	}
	if c.AWS.RetryMode == "" {
		c.AWS.RetryMode = "adaptive"
	}
	if c.Schedule.Cron == "" {
		c.Schedule.Cron = DefaultCron
	}
	if c.Schedule.Timeout == 0 {
		c.Schedule.Timeout = DefaultTimeout
	}
	if c.Schedule.ShutdownTimeout == 0 {
		c.Schedule.ShutdownTimeout = DefaultShutdownTimeout
	}
	if len(c.Inventory.Types) == 0 {
		c.Inventory.Types = append([]string(nil), DefaultInventoryTypes...)
	}
	if c.Inventory.MaxAge == 0 {
		c.Inventory.MaxAge = DefaultMaxAge
	}
	if c.Inventory.Concurrency == 0 {
		c.Inventory.Concurrency = DefaultConcurrency
	}
	if c.Inventory.MaxPages == 0 {
		c.Inventory.MaxPages = DefaultMaxPages
	}
	rl := make(map[string]float64, len(DefaultRateLimits))
	for k, v := range DefaultRateLimits {
		rl[k] = v
	}
	for k, v := range c.Inventory.RateLimits {
		rl[k] = v
	}
	c.Inventory.RateLimits = rl
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultListen
	}
	if c.HTTP.ReadHeaderTimeout == 0 {
		c.HTTP.ReadHeaderTimeout = 5 * time.Second
	}
	if c.HTTP.ReadTimeout == 0 {
		c.HTTP.ReadTimeout = 10 * time.Second
	}
	if c.HTTP.WriteTimeout == 0 {
		c.HTTP.WriteTimeout = 30 * time.Second
	}
	if c.HTTP.IdleTimeout == 0 {
		c.HTTP.IdleTimeout = 120 * time.Second
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	c.Baselines.applyDefaults()
	c.Inventory.InventorySource.applyDefaults()
	applySectionDefaults(&c.Remediation)
	applySectionDefaults(&c.Alerting)
}

// The remediation and alerting sections are owned by other features; they
// take part in defaults and validation when they implement these methods.
type defaulter interface{ applyDefaults() }
type validator interface{ Validate() []error }

func applySectionDefaults(v any) {
	if d, ok := v.(defaulter); ok {
		d.applyDefaults()
	}
}

func validateSection(v any) []error {
	if s, ok := v.(validator); ok {
		return s.Validate()
	}
	return nil
}

// ValidationError lists every problem found in a configuration file.
type ValidationError struct {
	File   string
	Errors []error
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	fmt.Fprintf(&b, "%d configuration error(s):", len(e.Errors))
	for _, err := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Load reads, strictly decodes, defaults and validates a configuration file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.File = file
			return nil, ve
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	base, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	c.Baselines.resolvePaths(base)
	return c, nil
}

// Parse decodes YAML with unknown keys rejected, applies defaults and
// validates. A decode error is returned as is; validation problems come back
// together in a *ValidationError.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	// A second document is almost always a mistake.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("decoding YAML: more than one YAML document")
	}
	c.applyDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return c, nil
}

var (
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	invTypeRe = regexp.MustCompile(`^(AWS|Custom):[A-Za-z0-9_.\-]{1,93}$`)
	opRe      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{1,63}$`)
)

// Validate checks every key and cross-field rule; it returns all problems.
func (c *Config) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.AWS.Region != "" && !regionRe.MatchString(c.AWS.Region) {
		add("aws.region: %q is not an AWS region name", c.AWS.Region)
	}
	if c.AWS.MaxAttempts < 1 || c.AWS.MaxAttempts > 20 {
		add("aws.max_attempts: %d must be between 1 and 20", c.AWS.MaxAttempts)
	}
	if c.AWS.MaxBackoff < 0 {
		add("aws.max_backoff: must not be negative")
	}
	if c.AWS.RetryMode != "adaptive" && c.AWS.RetryMode != "standard" {
		add("aws.retry_mode: %q is not one of adaptive, standard", c.AWS.RetryMode)
	}

	tagKeys := sortedKeys(c.Selection.Tags)
	for _, k := range tagKeys {
		if k == "" {
			add("selection.tags: empty tag key")
			continue
		}
		if len(c.Selection.Tags[k]) == 0 {
			add("selection.tags.%s: needs at least one value", k)
		}
		if len(c.Selection.Tags[k]) > 200 {
			add("selection.tags.%s: %d values exceed the EC2 limit of 200", k, len(c.Selection.Tags[k]))
		}
	}
	for i, n := range c.Selection.ASGNames {
		if n == "" {
			add("selection.asg_names[%d]: empty name", i)
		} else if _, err := path.Match(n, ""); err != nil {
			add("selection.asg_names[%d]: bad glob %q", i, n)
		}
	}

	if _, err := CronParser.Parse(c.Schedule.Cron); err != nil {
		add("schedule.cron: %q: %v", c.Schedule.Cron, err)
	}
	if c.Schedule.Jitter < 0 {
		add("schedule.jitter: must not be negative")
	}
	if c.Schedule.Timeout < 0 {
		add("schedule.timeout: must not be negative")
	}
	if c.Schedule.ShutdownTimeout < 0 {
		add("schedule.shutdown_timeout: must not be negative")
	}
	if iv := c.Schedule.Interval(); iv > 0 {
		// A timeout longer than the interval is allowed: ticks that arrive
		// while a scan runs are skipped, so scans then run back to back.
		if c.Schedule.Jitter >= iv {
			add("schedule.jitter: %s must be shorter than the schedule interval %s", c.Schedule.Jitter, iv)
		}
	}

	seen := map[string]int{}
	for i, t := range c.Inventory.Types {
		if !invTypeRe.MatchString(t) {
			add("inventory.types[%d]: %q is not an inventory type name (AWS:Name or Custom:Name)", i, t)
		}
		if j, dup := seen[t]; dup {
			add("inventory.types[%d]: %q duplicates inventory.types[%d]", i, t, j)
		}
		seen[t] = i
	}
	if c.Inventory.MaxAge < 0 {
		add("inventory.max_age: must not be negative")
	} else if c.Inventory.MaxAge > 0 && c.Inventory.MaxAge < 30*time.Minute {
		add("inventory.max_age: %s is shorter than the shortest SSM inventory schedule (30m); every instance would be stale", c.Inventory.MaxAge)
	}
	if c.Inventory.Concurrency < 1 || c.Inventory.Concurrency > 256 {
		add("inventory.concurrency: %d must be between 1 and 256", c.Inventory.Concurrency)
	}
	if c.Inventory.MaxPages < 1 {
		add("inventory.max_pages: %d must be at least 1", c.Inventory.MaxPages)
	}
	for _, k := range sortedKeys(c.Inventory.RateLimits) {
		svc, op, hasOp := strings.Cut(k, ":")
		if !contains(RateLimitServices, svc) {
			add("inventory.rate_limits.%s: unknown service (want one of %s, optionally with :Operation)", k, strings.Join(RateLimitServices, ", "))
			continue
		}
		if hasOp && !opRe.MatchString(op) {
			add("inventory.rate_limits.%s: %q is not an operation name (e.g. ssm:ListInventoryEntries)", k, op)
			continue
		}
		if v := c.Inventory.RateLimits[k]; v <= 0 || v > 10000 {
			add("inventory.rate_limits.%s: %g must be a positive number of requests per second", k, v)
		}
	}

	for _, cat := range sortedKeys(c.Policy.DefaultSeverity) {
		if !validCategory(cat) {
			add("policy.default_severity.%s: unknown category (want one of %s)", cat, categoryList())
		}
		if c.Policy.DefaultSeverity[cat] == drift.SeverityNone {
			add("policy.default_severity.%s: severity must be info, low, high or critical", cat)
		}
	}
	ids := map[string]int{}
	for i, r := range c.Policy.Rules {
		key := fmt.Sprintf("policy.rules[%d]", i)
		if r.ID == "" {
			add("%s.id: required", key)
		} else if j, dup := ids[r.ID]; dup {
			add("%s.id: %q duplicates policy.rules[%d]", key, r.ID, j)
		} else {
			ids[r.ID] = i
		}
		switch r.Action {
		case drift.ActionIgnore, drift.ActionAllowUpgrade, drift.ActionExempt:
			if r.Severity != drift.SeverityNone {
				add("%s.severity: only valid with action severity", key)
			}
		case drift.ActionSeverity:
			if r.Severity == drift.SeverityNone {
				add("%s.severity: required with action severity", key)
			}
		case "":
			add("%s.action: required (ignore, allow_upgrade, severity or exempt)", key)
		default:
			add("%s.action: %q is not one of ignore, allow_upgrade, severity, exempt", key, r.Action)
		}
		if r.Category != "" && !validCategory(r.Category) {
			add("%s.category: %q is not one of %s", key, r.Category, categoryList())
		}
		if r.AllowAdded && r.Action != drift.ActionAllowUpgrade {
			add("%s.allow_added: only valid with action allow_upgrade", key)
		}
		if r.Action == drift.ActionAllowUpgrade && r.Category != "" && r.Category != drift.CategoryPackage {
			add("%s.action: allow_upgrade applies to packages only, not category %q", key, r.Category)
		}
		for _, g := range [][2]string{{"name", r.Name}, {"attribute", r.Attribute}, {"scope.ami", r.Scope.AMI}, {"scope.asg", r.Scope.ASG}} {
			if _, err := path.Match(g[1], ""); err != nil {
				add("%s.%s: bad glob %q", key, g[0], g[1])
			}
		}
	}
	for _, t := range sortedKeys(c.Policy.Custom) {
		if !strings.HasPrefix(t, "Custom:") && !strings.HasPrefix(t, "AWS:") {
			add("policy.custom.%s: not an inventory type name", t)
		}
		spec := c.Policy.Custom[t]
		if spec.Key == "" {
			add("policy.custom.%s.key: required", t)
		}
		if spec.Category != "" && !validCategory(spec.Category) {
			add("policy.custom.%s.category: %q is not one of %s", t, spec.Category, categoryList())
		}
	}

	errs = append(errs, c.Baselines.Validate()...)
	errs = append(errs, c.Inventory.InventorySource.Validate()...)

	if c.HTTP.Listen != "" && !strings.Contains(c.HTTP.Listen, ":") {
		add("http.listen: %q must be host:port or :port", c.HTTP.Listen)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"read_timeout", c.HTTP.ReadTimeout}, {"write_timeout", c.HTTP.WriteTimeout}, {"idle_timeout", c.HTTP.IdleTimeout}} {
		if t.d < 0 {
			add("http.%s: must not be negative", t.name)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		add("log.format: %q is not one of json, console", c.Log.Format)
	}
	errs = append(errs, validateSection(&c.Remediation)...)
	errs = append(errs, validateSection(&c.Alerting)...)
	return errs
}

// Interval returns the fixed interval of an "@every" schedule, else 0.
func (s Schedule) Interval() time.Duration {
	if d, ok := strings.CutPrefix(s.Cron, "@every "); ok {
		v, err := time.ParseDuration(strings.TrimSpace(d))
		if err == nil {
			return v
		}
	}
	return 0
}

func validCategory(c drift.Category) bool {
	for _, k := range drift.Categories {
		if k == c {
			return true
		}
	}
	return false
}

func categoryList() string {
	s := make([]string, len(drift.Categories))
	for i, c := range drift.Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
