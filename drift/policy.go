package drift

import "time"

// RuleAction says what a matching rule does to a difference.
type RuleAction string

const (
	// ActionIgnore drops the difference (counted in Report.Suppressed).
	ActionIgnore RuleAction = "ignore"
	// ActionAllowUpgrade drops package upgrades (and added packages when
	// AllowAdded is set) but keeps downgrades and removals; e.g. the SSM agent
	// updating itself.
	ActionAllowUpgrade RuleAction = "allow_upgrade"
	// ActionSeverity keeps the difference and sets its severity.
	ActionSeverity RuleAction = "severity"
	// ActionExempt exempts the whole instance (verdict exempt).
	ActionExempt RuleAction = "exempt"
)

// Scope restricts a rule to AMIs and/or ASGs by glob. Empty fields match all.
type Scope struct {
	AMI string `json:"ami,omitempty" yaml:"ami,omitempty"`
	ASG string `json:"asg,omitempty" yaml:"asg,omitempty"`
}

// Rule is one ignore/allow/severity/exempt rule. Rules are layered: ASG-scoped
// rules are consulted before AMI-scoped rules, which come before global rules;
// within a layer the first matching rule wins.
type Rule struct {
	ID        string     `json:"id" yaml:"id"`
	Scope     Scope      `json:"scope,omitempty" yaml:"scope,omitempty"`
	Category  Category   `json:"category,omitempty" yaml:"category,omitempty"`   // "" matches every category
	Name      string     `json:"name,omitempty" yaml:"name,omitempty"`           // glob on the item name; "" matches all
	Attribute string     `json:"attribute,omitempty" yaml:"attribute,omitempty"` // glob on the attribute; "" matches all
	Action    RuleAction `json:"action" yaml:"action"`
	// AllowAdded, with ActionAllowUpgrade, also allows newly installed packages.
	AllowAdded bool      `json:"allow_added,omitempty" yaml:"allow_added,omitempty"`
	Severity   Severity  `json:"severity,omitempty" yaml:"severity,omitempty"` // with ActionSeverity
	Expires    time.Time `json:"expires,omitempty" yaml:"expires,omitempty"`   // zero = never
	Reason     string    `json:"reason,omitempty" yaml:"reason,omitempty"`
}

// CustomSpec says how entries of a Custom:* inventory type are compared.
type CustomSpec struct {
	Key        string   `json:"key" yaml:"key"`                                   // attribute identifying an entry
	Attributes []string `json:"attributes,omitempty" yaml:"attributes,omitempty"` // compared attributes; empty = all
	Category   Category `json:"category,omitempty" yaml:"category,omitempty"`     // default CategoryCustom
}

// Policy shapes a comparison. It is built once per scan (Now set by the caller).
type Policy struct {
	// Now is the evaluation time: rule expiry and inventory staleness are
	// judged against it. The engine never reads the wall clock.
	Now time.Time
	// MaxInventoryAge: inventory captured earlier than Now-MaxInventoryAge
	// yields VerdictStale. Zero disables the check.
	MaxInventoryAge time.Duration
	// DefaultSeverity per category; missing categories default to SeverityLow.
	DefaultSeverity map[Category]Severity
	Rules           []Rule
	// Custom says how each custom type is compared (by TypeName). Types
	// without a spec are compared by their "Name" attribute, all attributes.
	Custom map[string]CustomSpec
	// InstallOnly overrides DefaultInstallOnly: globs on package names that
	// may be installed in several versions at once (kernels). nil = default.
	InstallOnly []string
	// MaxFindings caps the findings a Report lists (the most severe are
	// kept; FindingsTotal and Counts stay exact). Zero uses MaxFindings.
	MaxFindings int `json:",omitempty"`
}
