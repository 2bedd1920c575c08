// Package config is driftd's configuration: the YAML schema, defaults, strict
// decoding (every unknown key is an error, named by its YAML path and line),
// per-section validation with messages naming the key, and the start-up
// checks against the environment (Check) that `driftd validate` and the
// daemon share. It imports no AWS SDK and no net/http.
//
// Each section lives in its own file with its schema, its defaults and its
// validator (aws.go, selection.go, schedule.go, inventory.go, policy.go,
// baselines.go, http.go, state.go, remediation.go, alerting.go, configrule.go), so each
// feature owns its keys and each validator is tested alone.
package config

import (
	"fmt"
	"math"
	"sort"
	"strings"

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
	ConfigRule  *ConfigRule `yaml:"config_rule"`
}

// Default returns a configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// applyDefaults fills every key left at its zero value (absent from the
// file, or written as 0) with its default. Keys where an explicit zero
// means something (alerting max_retries, remediation.global.max_per_hour,
// the breaker percentages) keep it: they are pointers or are preset in an
// UnmarshalYAML before decoding.
func (c *Config) applyDefaults() {
	c.AWS.applyDefaults()
	c.Schedule.applyDefaults()
	c.Inventory.applyDefaults()
	c.HTTP.applyDefaults()
	c.Log.applyDefaults()
	c.Baselines.applyDefaults()
	c.Remediation.applyDefaults()
	c.Alerting.applyDefaults()
	c.ConfigRule.applyDefaults()
}

// Validate runs every section's validator, in file order, and returns all
// problems; each message starts with the full YAML path of the key.
func (c *Config) Validate() []error {
	var errs []error
	for _, v := range []func() []error{
		c.AWS.Validate,
		c.Selection.Validate,
		c.Schedule.Validate,
		c.Inventory.validateCore,
		c.Policy.Validate,
		c.Baselines.Validate,
		c.Inventory.InventorySource.Validate,
		c.HTTP.Validate,
		c.Log.Validate,
		c.State.Validate,
		c.Remediation.Validate,
		c.Alerting.Validate,
		c.ConfigRule.Validate,
		c.validateAcrossSections,
	} {
		errs = append(errs, v()...)
	}
	return errs
}

// Warnings returns remarks about a valid configuration that deserve an
// operator's attention but do not stop the daemon.
func (c *Config) Warnings() []string {
	return append(append(c.Schedule.Warnings(), c.Alerting.Warnings()...), c.ConfigRule.Warnings()...)
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

// errorList collects a section's problems.
type errorList []error

func (l *errorList) add(format string, args ...any) { *l = append(*l, fmt.Errorf(format, args...)) }

// inRange reports whether v is a finite number with lo < v <= hi (loOpen)
// or lo <= v <= hi. NaN and ±Inf are never in range.
func inRange(v, lo, hi float64, loOpen bool) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) || v > hi {
		return false
	}
	if loOpen {
		return v > lo
	}
	return v >= lo
}

// notFinite names NaN and ±Inf for messages ("" for finite numbers).
func notFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN is not a number"
	case math.IsInf(v, 0):
		return fmt.Sprintf("%g is not a finite number", v)
	}
	return ""
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
