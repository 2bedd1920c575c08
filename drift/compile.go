package drift

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// glob is a precompiled path.Match pattern; literal patterns compare by
// string equality and "" or "*" match everything.
type glob struct {
	pat     string
	any     bool
	literal bool
}

func compileGlob(pat string) (glob, error) {
	if pat == "" || pat == "*" {
		return glob{pat: pat, any: true}, nil
	}
	if _, err := path.Match(pat, ""); err != nil {
		return glob{}, fmt.Errorf("bad glob %q: %v", pat, err)
	}
	return glob{pat: pat, literal: !strings.ContainsAny(pat, `*?[\`)}, nil
}

func (g *glob) match(s string) bool {
	if g.any {
		return true
	}
	if g.literal {
		return g.pat == s
	}
	ok, _ := path.Match(g.pat, s)
	return ok
}

type compiledRule struct {
	Rule
	asg, ami, name, attr glob
}

// CompiledPolicy is a validated Policy prepared for Compare: rules split into
// layers (ASG scope, AMI scope, global) with precompiled globs. Compile once
// per scan and share it across instances; it is read-only and safe for
// concurrent use.
type CompiledPolicy struct {
	now             time.Time
	maxAge          time.Duration
	maxFindings     int
	defaultSeverity [len(severityByCategoryIndex)]Severity
	layers          [3][]compiledRule // 0: ASG-scoped, 1: AMI-scoped, 2: global
	exempt          [3][]compiledRule
	custom          map[string]CustomSpec
}

// severityByCategoryIndex lists the categories by index (see categoryIndex).
var severityByCategoryIndex = [...]Category{CategoryPackage, CategoryFile, CategoryService, CategoryCustom, CategoryInstance, CategoryRuntime, CategoryUpdate, CategoryRole}

// categoryIndex is a category's position in Categories (the order of
// findings in a report), -1 for an unknown category.
func categoryIndex(c Category) int {
	switch c {
	case CategoryPackage:
		return 0
	case CategoryFile:
		return 1
	case CategoryService:
		return 2
	case CategoryCustom:
		return 3
	case CategoryInstance:
		return 4
	case CategoryRuntime:
		return 5
	case CategoryUpdate:
		return 6
	case CategoryRole:
		return 7
	}
	return -1
}

func validCategory(c Category) bool { return categoryIndex(c) >= 0 }

// categoryNames is "package, file, ..., update or role", for messages.
var categoryNames = func() string {
	var b strings.Builder
	for i, c := range Categories {
		switch {
		case i == len(Categories)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(c))
	}
	return b.String()
}()

// CompilePolicy validates p and prepares it for Compare. Errors name the rule
// (by id and index) and the field, e.g.
// `rules[2] (id "ssm-agent"): name: bad glob "[": syntax error in pattern`.
// A nil policy compiles to the empty policy.
func CompilePolicy(p *Policy) (*CompiledPolicy, error) {
	cp := &CompiledPolicy{maxFindings: MaxFindings}
	for i := range cp.defaultSeverity {
		cp.defaultSeverity[i] = SeverityLow
	}
	if p == nil {
		return cp, nil
	}
	cp.now, cp.maxAge = p.Now, p.MaxInventoryAge
	var errs []error
	if p.MaxInventoryAge < 0 {
		errs = append(errs, fmt.Errorf("max_inventory_age: %s is negative", p.MaxInventoryAge))
	}
	switch {
	case p.MaxFindings < 0:
		errs = append(errs, fmt.Errorf("max_findings: %d is negative", p.MaxFindings))
	case p.MaxFindings > 0:
		cp.maxFindings = p.MaxFindings
	}
	errs = append(errs, cp.compileSeverities(p.DefaultSeverity)...)
	seen := make(map[string]int, len(p.Rules))
	for i, r := range p.Rules {
		cr, rerrs := compileRule(i, r, seen)
		errs = append(errs, rerrs...)
		layer := 2
		switch {
		case r.Scope.ASG != "":
			layer = 0
		case r.Scope.AMI != "":
			layer = 1
		}
		if r.Action == ActionExempt {
			cp.exempt[layer] = append(cp.exempt[layer], cr)
		} else {
			cp.layers[layer] = append(cp.layers[layer], cr)
		}
	}
	for name, spec := range p.Custom {
		if spec.Category != "" && !validCategory(spec.Category) {
			errs = append(errs, fmt.Errorf("custom[%s].category: unknown category %q", name, spec.Category))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cp.custom = p.Custom
	return cp, nil
}

// compileSeverities sets the default severity of each category.
func (cp *CompiledPolicy) compileSeverities(def map[Category]Severity) []error {
	var errs []error
	for c, sev := range def {
		i := categoryIndex(c)
		if i < 0 {
			errs = append(errs, fmt.Errorf("default_severity: unknown category %q", c))
			continue
		}
		if sev < SeverityInfo || sev > SeverityCritical {
			errs = append(errs, fmt.Errorf("default_severity.%s: invalid severity %d", c, sev))
			continue
		}
		cp.defaultSeverity[i] = sev
	}
	return errs
}

// compileRule validates rule i and precompiles its globs; seen maps rule
// ids to their index, to find duplicates.
func compileRule(i int, r Rule, seen map[string]int) (compiledRule, []error) {
	var errs []error
	where := fmt.Sprintf("rules[%d] (id %q)", i, r.ID)
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", where, field, fmt.Sprintf(format, a...)))
	}
	if r.ID == "" {
		errs = append(errs, fmt.Errorf("rules[%d]: id: required", i))
	} else if j, dup := seen[r.ID]; dup {
		bad("id", "duplicate of rules[%d]", j)
	} else {
		seen[r.ID] = i
	}
	cr := compiledRule{Rule: r}
	var err error
	if cr.asg, err = compileGlob(r.Scope.ASG); err != nil {
		bad("scope.asg", "%v", err)
	}
	if cr.ami, err = compileGlob(r.Scope.AMI); err != nil {
		bad("scope.ami", "%v", err)
	}
	if cr.name, err = compileGlob(r.Name); err != nil {
		bad("name", "%v", err)
	}
	if cr.attr, err = compileGlob(r.Attribute); err != nil {
		bad("attribute", "%v", err)
	}
	if r.Category != "" && !validCategory(r.Category) {
		bad("category", "unknown category %q (want %s)", r.Category, categoryNames)
	}
	switch r.Action {
	case ActionIgnore, ActionExempt:
	case ActionAllowUpgrade:
		if r.Category != "" && r.Category != CategoryPackage {
			bad("action", "allow_upgrade applies to packages only, not category %q", r.Category)
		}
	case ActionSeverity:
		if r.Severity < SeverityInfo || r.Severity > SeverityCritical {
			bad("severity", "required with action severity (info, low, high or critical)")
		}
	case "":
		bad("action", "required (ignore, allow_upgrade, severity or exempt)")
	default:
		bad("action", "unknown action %q (want ignore, allow_upgrade, severity or exempt)", r.Action)
	}
	if r.AllowAdded && r.Action != ActionAllowUpgrade {
		bad("allow_added", "only valid with action allow_upgrade")
	}
	if r.Severity != SeverityNone && r.Action != ActionSeverity {
		bad("severity", "only valid with action severity")
	}
	return cr, errs
}

// Now returns the evaluation time of the policy.
func (cp *CompiledPolicy) Now() time.Time { return cp.now }

// At returns a copy of cp evaluated at now (the rules are shared, not copied).
func (cp *CompiledPolicy) At(now time.Time) *CompiledPolicy {
	c := *cp
	c.now = now
	return &c
}

func (cp *CompiledPolicy) severityFor(c Category) Severity {
	if i := categoryIndex(c); i >= 0 {
		return cp.defaultSeverity[i]
	}
	return SeverityLow
}

func (r *compiledRule) scopeMatches(s *Snapshot) bool {
	if r.Scope.ASG != "" && (s.ASG == "" || !r.asg.match(s.ASG)) {
		return false
	}
	if r.Scope.AMI != "" && (s.AMI == "" || !r.ami.match(s.AMI)) {
		return false
	}
	return true
}

func (r *compiledRule) expired(now time.Time) bool {
	return !r.Expires.IsZero() && r.Expires.Before(now)
}

// applies reports whether the rule's action applies to the finding; an
// allow_upgrade rule does not apply to downgrades, removals or (without
// allow_added) additions, so those fall through to later rules and layers.
func (r *compiledRule) applies(f *Finding) bool {
	if r.Category != "" && r.Category != f.Category {
		return false
	}
	if !r.name.match(f.Name) || !r.attr.match(f.Attribute) {
		return false
	}
	if r.Action == ActionAllowUpgrade {
		if f.Category != CategoryPackage || f.Direction != DirectionUpgrade {
			// added packages without a baseline version of that name have no direction
			return f.Category == CategoryPackage && f.Change == ChangeAdded && r.AllowAdded
		}
		switch f.Change {
		case ChangeChanged:
			return true
		case ChangeAdded:
			// an install-only package (kernel) installed beside an older baseline version
			return true
		}
		return false
	}
	return true
}
