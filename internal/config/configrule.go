package config

import (
	"strings"
	"time"
)

// ConfigRule is the `config_rule:` section: driftd reports each instance's
// verdict to AWS Config as the evaluator of a custom rule (PutEvaluations),
// COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE per AWS::EC2::Instance (see
// docs/securityhub.md). Absent: nothing is sent.
//
//	config_rule:
//	  result_token_file: /run/driftd/config-result-token
//	  refresh_interval: 24h
//
// The result token ties evaluations to a rule; AWS Config hands one to the
// rule's Lambda function with each invocation. The file (or variable) is
// read again before every send, so whatever receives the invocation can
// write the current token there. test_mode sends with TestMode (nothing is
// recorded by AWS Config; any non-empty token is accepted): a dry run of
// the permissions and the payloads.
type ConfigRule struct {
	ResultToken     string `yaml:"result_token"`
	ResultTokenFile string `yaml:"result_token_file"`
	ResultTokenEnv  string `yaml:"result_token_env"`
	TestMode        bool   `yaml:"test_mode"`
	// RefreshInterval is how often every instance's evaluation is sent
	// again even when unchanged (default 24h); in between, only changed
	// evaluations are sent.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
}

// DefaultConfigRuleRefresh is config_rule.refresh_interval's default.
const DefaultConfigRuleRefresh = 24 * time.Hour

func (c *ConfigRule) applyDefaults() {
	if c != nil && c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultConfigRuleRefresh
	}
}

// Validate checks the section; messages name the full key.
func (c *ConfigRule) Validate() []error {
	if c == nil {
		return nil
	}
	var errs errorList
	n := 0
	for _, set := range []bool{c.ResultToken != "", c.ResultTokenFile != "", c.ResultTokenEnv != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		errs.add("config_rule: needs the rule's result token: result_token_file, result_token_env or result_token")
	case n > 1:
		errs.add("config_rule: result_token, result_token_file and result_token_env are mutually exclusive")
	}
	if c.ResultTokenFile != "" && (strings.HasSuffix(c.ResultTokenFile, "/") || strings.ContainsRune(c.ResultTokenFile, 0)) {
		errs.add("config_rule.result_token_file: %q is not a file path", c.ResultTokenFile)
	}
	if c.RefreshInterval < time.Minute {
		errs.add("config_rule.refresh_interval: %s is shorter than 1m", c.RefreshInterval)
	}
	return errs
}

// Warnings returns remarks about the section (an inline token).
func (c *ConfigRule) Warnings() []string {
	if c != nil && c.ResultToken != "" && !c.TestMode {
		return []string{"config_rule.result_token: an inline result token expires with the invocation that issued it; prefer result_token_file"}
	}
	return nil
}
