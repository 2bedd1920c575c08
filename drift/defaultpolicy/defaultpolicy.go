// Package defaultpolicy ships driftd's default rules for known
// self-mutators (the SSM agent updating itself, files written per instance
// at first boot, per-login systemd units). The rules live in default.yaml,
// embedded at compile time; docs/manifests.md explains each one.
//
// The package is separate from drift because drift stays free of embed and
// file access; this one only parses a compile-time constant.
package defaultpolicy

import (
	"bytes"
	_ "embed"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
)

//go:embed default.yaml
var defaultYAML []byte

// YAML returns the embedded default policy document.
func YAML() []byte { return bytes.Clone(defaultYAML) }

var rules, parseErr = parse(defaultYAML)

func parse(b []byte) ([]drift.Rule, error) {
	var doc struct {
		Rules []drift.Rule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("defaultpolicy: default.yaml: %w", err)
	}
	if _, err := drift.CompilePolicy(&drift.Policy{Rules: doc.Rules}); err != nil {
		return nil, fmt.Errorf("defaultpolicy: default.yaml: %w", err)
	}
	return doc.Rules, nil
}

// Rules returns a fresh copy of the default rules. Append them after the
// operator's own global rules so that operator rules take precedence:
//
//	p.Rules = append(p.Rules, defaultpolicy.Rules()...)
//
// The embedded file is validated by this package's tests; should it ever
// fail to parse, Rules returns no rules (never a partial set).
func Rules() []drift.Rule {
	if parseErr != nil {
		return nil
	}
	out := make([]drift.Rule, len(rules))
	copy(out, rules)
	return out
}

// Err reports whether the embedded default policy failed to parse.
func Err() error { return parseErr }
