package daemon

import (
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
	"github.com/driftd/driftd/internal/config"
)

// policyRules layers the configured rules over the shipped default policy
// (drift/defaultpolicy: known self-mutators such as the SSM agent), which
// comes last so any operator rule that matches first wins.
func policyRules(cfg *config.Config) []drift.Rule {
	rules := append([]drift.Rule(nil), cfg.Policy.Rules...)
	if cfg.Policy.DefaultPolicyIncluded() {
		rules = append(rules, defaultpolicy.Rules()...)
	}
	return rules
}
