package config

import (
	"regexp"
	"time"
)

// AWS is the `aws:` section. One daemon watches one region; run one daemon
// per region. Credentials, profile and endpoints come from the SDK's standard
// chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
type AWS struct {
	// Region overrides AWS_REGION / the profile's region when set.
	Region string `yaml:"region"`
	// MaxAttempts is the SDK retryer's attempt limit (adaptive mode). Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the retry backoff. Default 20s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// RetryMode is "adaptive" (default: standard retries plus client-side
	// rate reduction after throttling errors) or "standard".
	RetryMode string `yaml:"retry_mode"`
}

// Defaults of the aws section.
const (
	DefaultMaxAttempts = 5
	DefaultMaxBackoff  = 20 * time.Second
)

var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

func (a *AWS) applyDefaults() {
	if a.MaxAttempts == 0 {
		a.MaxAttempts = DefaultMaxAttempts
	}
	if a.MaxBackoff == 0 {
		a.MaxBackoff = DefaultMaxBackoff
	}
	if a.RetryMode == "" {
		a.RetryMode = "adaptive"
	}
}

// Validate checks the aws section (after defaults).
func (a AWS) Validate() []error {
	var errs errorList
	if a.Region != "" && !regionRe.MatchString(a.Region) {
		errs.add("aws.region: %q is not an AWS region name", a.Region)
	}
	if a.MaxAttempts < 1 || a.MaxAttempts > 20 {
		errs.add("aws.max_attempts: %d must be between 1 and 20", a.MaxAttempts)
	}
	if a.MaxBackoff <= 0 {
		errs.add("aws.max_backoff: %s must be positive", a.MaxBackoff)
	}
	if a.RetryMode != "adaptive" && a.RetryMode != "standard" {
		errs.add("aws.retry_mode: %q is not one of adaptive, standard", a.RetryMode)
	}
	return errs
}
