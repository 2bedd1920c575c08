package config

import (
	"fmt"
	"path"
	"strings"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
)

// Policy is the `policy:` section: how differences become findings.
type Policy struct {
	// IncludeDefaultPolicy layers the shipped default policy (known
	// self-mutators such as the SSM agent) under the rules below. Default true.
	IncludeDefaultPolicy *bool `yaml:"include_default_policy"`
	// DefaultSeverity per category (package, file, service, custom, instance, runtime).
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

// Validate checks the policy section. With the default policy included, a
// rule id may not reuse one of its ids (the daemon compiles both together).
func (p Policy) Validate() []error {
	var errs errorList
	for _, cat := range sortedKeys(p.DefaultSeverity) {
		if !validCategory(cat) {
			errs.add("policy.default_severity.%s: unknown category (want one of %s)", cat, categoryList())
		}
		if p.DefaultSeverity[cat] == drift.SeverityNone {
			errs.add("policy.default_severity.%s: severity must be info, low, high or critical", cat)
		}
	}
	shipped := map[string]bool{}
	if p.DefaultPolicyIncluded() {
		for _, r := range defaultpolicy.Rules() {
			shipped[r.ID] = true
		}
	}
	ids := map[string]int{}
	for i, r := range p.Rules {
		key := fmt.Sprintf("policy.rules[%d]", i)
		if r.ID == "" {
			errs.add("%s.id: required", key)
		} else if j, dup := ids[r.ID]; dup {
			errs.add("%s.id: %q duplicates policy.rules[%d]", key, r.ID, j)
		} else if shipped[r.ID] {
			errs.add("%s.id: %q is the id of a shipped default-policy rule (rename it, or set include_default_policy: false)", key, r.ID)
		} else {
			ids[r.ID] = i
		}
		switch r.Action {
		case drift.ActionIgnore, drift.ActionAllowUpgrade, drift.ActionExempt:
			if r.Severity != drift.SeverityNone {
				errs.add("%s.severity: only valid with action severity", key)
			}
		case drift.ActionSeverity:
			if r.Severity == drift.SeverityNone {
				errs.add("%s.severity: required with action severity", key)
			}
		case "":
			errs.add("%s.action: required (ignore, allow_upgrade, severity or exempt)", key)
		default:
			errs.add("%s.action: %q is not one of ignore, allow_upgrade, severity, exempt", key, r.Action)
		}
		if r.Category != "" && !validCategory(r.Category) {
			errs.add("%s.category: %q is not one of %s", key, r.Category, categoryList())
		}
		if r.AllowAdded && r.Action != drift.ActionAllowUpgrade {
			errs.add("%s.allow_added: only valid with action allow_upgrade", key)
		}
		if r.Action == drift.ActionAllowUpgrade && r.Category != "" && r.Category != drift.CategoryPackage {
			errs.add("%s.action: allow_upgrade applies to packages only, not category %q", key, r.Category)
		}
		for _, g := range [][2]string{{"name", r.Name}, {"attribute", r.Attribute}, {"scope.ami", r.Scope.AMI}, {"scope.asg", r.Scope.ASG}} {
			if _, err := path.Match(g[1], ""); err != nil {
				errs.add("%s.%s: bad glob %q", key, g[0], g[1])
			}
		}
	}
	for _, t := range sortedKeys(p.Custom) {
		if !strings.HasPrefix(t, "Custom:") && !strings.HasPrefix(t, "AWS:") {
			errs.add("policy.custom.%s: not an inventory type name", t)
		}
		spec := p.Custom[t]
		if spec.Key == "" {
			errs.add("policy.custom.%s.key: required", t)
		}
		if spec.Category != "" && !validCategory(spec.Category) {
			errs.add("policy.custom.%s.category: %q is not one of %s", t, spec.Category, categoryList())
		}
	}
	return errs
}
