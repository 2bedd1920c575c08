package config

import (
	"strings"
	"testing"
	"time"
)

func TestConfigRuleSection(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"absent", "", nil},
		{"token file", "config_rule:\n  result_token_file: /run/driftd/token\n", nil},
		{"no token", "config_rule:\n  test_mode: true\n", []string{"config_rule: needs the rule's result token: result_token_file, result_token_env or result_token"}},
		{"two tokens", "config_rule:\n  result_token: abc\n  result_token_env: TOKEN\n", []string{"config_rule: result_token, result_token_file and result_token_env are mutually exclusive"}},
		{"bad path and interval", "config_rule:\n  result_token_file: /run/driftd/\n  refresh_interval: 10s\n", []string{
			`config_rule.result_token_file: "/run/driftd/" is not a file path`,
			"config_rule.refresh_interval: 10s is shorter than 1m",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("baselines:\n  - dir: {path: /b}\n" + tc.yaml))
			var got []string
			if err != nil {
				ve, ok := err.(*ValidationError)
				if !ok {
					t.Fatalf("Parse: %v", err)
				}
				for _, e := range ve.Errors {
					got = append(got, e.Error())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("errors:\n got %q\nwant %q", got, tc.want)
			}
			if err == nil && c.ConfigRule != nil && c.ConfigRule.RefreshInterval != 24*time.Hour {
				t.Errorf("refresh_interval default = %s", c.ConfigRule.RefreshInterval)
			}
		})
	}
}

func TestConfigRuleUnknownKeyHasLine(t *testing.T) {
	_, err := Parse([]byte("baselines:\n  - dir: {path: /b}\nconfig_rule:\n  result_token_file: /t\n  result_tokn: x\n"))
	if err == nil || !strings.Contains(err.Error(), "config_rule.result_tokn: line 5: unknown key") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigRuleInlineTokenWarns(t *testing.T) {
	c := &ConfigRule{ResultToken: "x"}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "config_rule.result_token") {
		t.Fatalf("warnings = %q", w)
	}
	c.TestMode = true
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("test mode warnings = %q", w)
	}
}
