package config

import (
	"regexp"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// Inventory is the `inventory:` section.
type Inventory struct {
	// Types are the SSM inventory types collected. Each instance is asked
	// only for the types its platform reports (AWS:WindowsUpdate,
	// AWS:Service, AWS:WindowsRole and AWS:WindowsRegistry on Windows,
	// Custom:SystemdUnit elsewhere; drift.TypeApplies). AWS:* types are
	// required (an instance without them is unknown "no inventory yet");
	// Custom:* types are compared when the instance reports them.
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

// Defaults and limits of the inventory section.
const (
	DefaultMaxAge      = 26 * time.Hour
	DefaultConcurrency = 8
	DefaultMaxPages    = 200
	// MaxRateLimit caps inventory.rate_limits (requests per second).
	MaxRateLimit = 10000
	// minMaxAge is the shortest SSM inventory association schedule.
	minMaxAge = 30 * time.Minute
)

// DefaultInventoryTypes are collected when inventory.types is empty. Each
// instance is asked only for the types its platform reports
// (drift.TypeApplies on its SSM PlatformType): Linux instances for
// AWS:Application, Custom:FileDigest and Custom:SystemdUnit, Windows
// instances for AWS:Application, Custom:FileDigest, AWS:WindowsUpdate,
// AWS:Service and AWS:WindowsRole.
var DefaultInventoryTypes = []string{drift.TypeApplication, drift.TypeFileDigest, drift.TypeSystemdUnit,
	drift.TypeWindowsUpdate, drift.TypeService, drift.TypeWindowsRole}

// DefaultRateLimits are the client-side request rates (requests/s).
var DefaultRateLimits = map[string]float64{"ssm": 15, "ec2": 20, "autoscaling": 10}

// RateLimitServices are the keys accepted in inventory.rate_limits.
var RateLimitServices = []string{"autoscaling", "ec2", "ssm"}

var (
	invTypeRe = regexp.MustCompile(`^(AWS|Custom):[A-Za-z0-9_.\-]{1,93}$`)
	opRe      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{1,63}$`)
)

func (v *Inventory) applyDefaults() {
	if len(v.Types) == 0 {
		v.Types = append([]string(nil), DefaultInventoryTypes...)
	}
	if v.MaxAge == 0 {
		v.MaxAge = DefaultMaxAge
	}
	if v.Concurrency == 0 {
		v.Concurrency = DefaultConcurrency
	}
	if v.MaxPages == 0 {
		v.MaxPages = DefaultMaxPages
	}
	rl := make(map[string]float64, len(DefaultRateLimits)+len(v.RateLimits))
	for k, r := range DefaultRateLimits {
		rl[k] = r
	}
	for k, r := range v.RateLimits {
		rl[k] = r
	}
	v.RateLimits = rl
	v.InventorySource.applyDefaults()
}

// Validate checks the whole inventory section, its source keys included.
func (v Inventory) Validate() []error {
	return append(v.validateCore(), v.InventorySource.Validate()...)
}

// validateCore checks the keys other than the source's (Config.Validate
// reports those after baselines, where they have always been listed).
func (v Inventory) validateCore() []error {
	var errs errorList
	seen := map[string]int{}
	for i, t := range v.Types {
		if !invTypeRe.MatchString(t) {
			errs.add("inventory.types[%d]: %q is not an inventory type name (AWS:Name or Custom:Name)", i, t)
		}
		if j, dup := seen[t]; dup {
			errs.add("inventory.types[%d]: %q duplicates inventory.types[%d]", i, t, j)
		}
		seen[t] = i
	}
	if v.MaxAge <= 0 {
		errs.add("inventory.max_age: %s must be positive", v.MaxAge)
	} else if v.MaxAge < minMaxAge {
		errs.add("inventory.max_age: %s is shorter than the shortest SSM inventory schedule (30m); every instance would be stale", v.MaxAge)
	}
	if v.Concurrency < 1 || v.Concurrency > 256 {
		errs.add("inventory.concurrency: %d must be between 1 and 256", v.Concurrency)
	}
	if v.MaxPages < 1 {
		errs.add("inventory.max_pages: %d must be at least 1", v.MaxPages)
	}
	for _, k := range sortedKeys(v.RateLimits) {
		svc, op, hasOp := strings.Cut(k, ":")
		if !contains(RateLimitServices, svc) {
			errs.add("inventory.rate_limits.%s: unknown service (want one of %s, optionally with :Operation)", k, strings.Join(RateLimitServices, ", "))
			continue
		}
		if hasOp && !opRe.MatchString(op) {
			errs.add("inventory.rate_limits.%s: %q is not an operation name (e.g. ssm:ListInventoryEntries)", k, op)
			continue
		}
		r := v.RateLimits[k]
		if nf := notFinite(r); nf != "" {
			errs.add("inventory.rate_limits.%s: %s; want a positive number of requests per second (at most %d)", k, nf, MaxRateLimit)
		} else if !inRange(r, 0, MaxRateLimit, true) {
			errs.add("inventory.rate_limits.%s: %g must be a positive number of requests per second (at most %d)", k, r, MaxRateLimit)
		}
	}
	return errs
}
