// Package config is driftd's configuration: the YAML schema, defaults, strict
// decoding (unknown keys are errors) and cross-field validation with messages
// naming the key. It imports no AWS SDK and no net/http.
//
// Each section's schema lives in its own file (remediation.go, alerting.go,
// baselines.go, ...) so each feature owns its keys.
package config

// Config is the whole driftd configuration file.
type Config struct {
	Remediation Remediation `yaml:"remediation"`
	Alerting    Alerting    `yaml:"alerting"`
	Baselines   Baselines   `yaml:"baselines"`
}
