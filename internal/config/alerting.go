package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Alerting is the `alerting:` section: notifications on drift transitions
// and remediation events (see docs/alerting.md).
//
//	alerting:
//	  repeat_interval: 4h
//	  max_instances_per_group: 20
//	  max_findings_per_instance: 5
//	  state_file: /var/lib/driftd/notify-state.json
//	  sinks:
//	    - name: ops-webhook
//	      type: webhook
//	      url: https://hooks.example.com/driftd
//	      secret_env: DRIFTD_WEBHOOK_SECRET
type Alerting struct {
	// RepeatInterval is how long an unchanged drifted instance waits before
	// it is announced again (Alertmanager's repeat_interval). Zero or absent
	// means the default, 4h.
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	// MinDriftedScans debounces notifications: new drift is announced once
	// it persisted this many consecutive scans (default 1 = at once).
	MinDriftedScans int `yaml:"min_drifted_scans"`
	// MaxInstancesPerGroup bounds the events listed per ASG in one
	// notification; the rest are counted, not listed.
	MaxInstancesPerGroup int `yaml:"max_instances_per_group"`
	// MaxFindingsPerInstance bounds the findings listed per event.
	MaxFindingsPerInstance int `yaml:"max_findings_per_instance"`
	// StateFile persists the deduplication state across restarts ("" = in
	// memory only; instance tags still seed it, see SeedFromTags).
	StateFile string `yaml:"state_file"`
	// ExternalURL is driftd's externally reachable base URL, used as the
	// generatorURL of Alertmanager alerts ("" = omitted).
	ExternalURL string      `yaml:"external_url"`
	Sinks       []AlertSink `yaml:"sinks"`
}

// Sink types.
const (
	SinkWebhook      = "webhook"
	SinkSlack        = "slack"
	SinkSNS          = "sns"
	SinkEventBridge  = "eventbridge"
	SinkAlertmanager = "alertmanager"
	SinkSecurityHub  = "securityhub"
)

// SinkTypes lists the accepted sink types.
var SinkTypes = []string{SinkWebhook, SinkSlack, SinkSNS, SinkEventBridge, SinkAlertmanager, SinkSecurityHub}

// AlertEventTypes lists the event types a sink's `events` filter accepts. It
// mirrors the constants of package alerting (kept here because config must
// not import it); a test in package alerting asserts both lists agree.
var AlertEventTypes = []string{
	"drift.detected", "drift.changed", "drift.resolved", "baseline.missing", "scan.failed",
	"remediation.started", "remediation.succeeded", "remediation.failed", "remediation.blocked",
	"breaker.opened", "breaker.closed", "killswitch.engaged", "killswitch.released",
}

// AlertSink is one notification destination.
type AlertSink struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// URL: webhook endpoint, Slack incoming-webhook URL (prefer secret_file /
	// secret_env for Slack: the URL is the secret), or one Alertmanager.
	URL string `yaml:"url"`
	// URLs: several Alertmanagers of one HA cluster (sent to all).
	URLs []string `yaml:"urls"`
	// SecretFile / SecretEnv name where the secret is read: the HMAC key for
	// webhooks, the incoming-webhook URL for Slack.
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// Secret is an inline secret; accepted with a warning (see Warnings).
	Secret   string `yaml:"secret"`
	TopicARN string `yaml:"topic_arn"`
	EventBus string `yaml:"event_bus"`
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is the number of retries after the first attempt (default 5
	// when the key is absent; 0 disables retries).
	MaxRetries int `yaml:"max_retries"`
	// QueueSize bounds the notifications waiting for this sink (default 100);
	// when full the oldest is dropped and counted.
	QueueSize int `yaml:"queue_size"`
	// ResendWindow (alertmanager) is how far in the future endsAt is set on
	// firing alerts; it must exceed the scan interval (default 1h).
	ResendWindow time.Duration `yaml:"resend_window"`
	// Events filters the event types sent to this sink (empty = all).
	Events []string `yaml:"events"`
	// AccountID (securityhub) is the account the findings belong to: the
	// account driftd runs in (BatchImportFindings must be called by it).
	AccountID string `yaml:"account_id"`
	// ProductARN (securityhub) overrides the product findings are imported
	// to; default arn:<partition>:securityhub:<region>:<account>:product/<account>/default.
	ProductARN string `yaml:"product_arn"`
}

// Defaults of the alerting section.
const (
	DefaultRepeatInterval         = 4 * time.Hour
	DefaultMaxInstancesPerGroup   = 20
	DefaultMaxFindingsPerInstance = 5
	DefaultSinkTimeout            = 10 * time.Second
	DefaultSinkMaxRetries         = 5
	DefaultSinkQueueSize          = 100
	DefaultResendWindow           = time.Hour
	DefaultEventBus               = "default"
	maxSinkRetries                = 20
)

// UnmarshalYAML fills defaults before decoding, so an absent key keeps its
// default while an explicit zero (max_retries: 0) is honoured. The obsolete
// unmarshaler signature keeps the caller's decoder, hence KnownFields(true).
func (a *Alerting) UnmarshalYAML(unmarshal func(any) error) error {
	type alerting Alerting // same fields, no UnmarshalYAML (named for decode errors)
	p := alerting{
		RepeatInterval:         DefaultRepeatInterval,
		MaxInstancesPerGroup:   DefaultMaxInstancesPerGroup,
		MaxFindingsPerInstance: DefaultMaxFindingsPerInstance,
	}
	if err := unmarshal(&p); err != nil {
		return err
	}
	*a = Alerting(p)
	return nil
}

// UnmarshalYAML fills a sink's defaults before decoding (see Alerting.UnmarshalYAML).
func (s *AlertSink) UnmarshalYAML(unmarshal func(any) error) error {
	type alertSink AlertSink
	p := alertSink{MaxRetries: DefaultSinkMaxRetries}
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = AlertSink(p)
	return nil
}

// applyDefaults fills zero values (also for a section absent from the file).
func (a *Alerting) applyDefaults() {
	if a.RepeatInterval == 0 {
		a.RepeatInterval = DefaultRepeatInterval
	}
	if a.MaxInstancesPerGroup == 0 {
		a.MaxInstancesPerGroup = DefaultMaxInstancesPerGroup
	}
	if a.MinDriftedScans == 0 {
		a.MinDriftedScans = 1
	}
	if a.MaxFindingsPerInstance == 0 {
		a.MaxFindingsPerInstance = DefaultMaxFindingsPerInstance
	}
	for i := range a.Sinks {
		s := &a.Sinks[i]
		if s.Timeout == 0 {
			s.Timeout = DefaultSinkTimeout
		}
		if s.QueueSize == 0 {
			s.QueueSize = DefaultSinkQueueSize
		}
		if s.Type == SinkAlertmanager && s.ResendWindow == 0 {
			s.ResendWindow = DefaultResendWindow
		}
		if s.Type == SinkEventBridge && s.EventBus == "" {
			s.EventBus = DefaultEventBus
		}
	}
}

// ApplyDefaults is applyDefaults for callers outside the package (tests of
// other packages, programmatic configs).
func (a *Alerting) ApplyDefaults() { a.applyDefaults() }

// Validate checks the section; every message names the full key.
func (a *Alerting) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.RepeatInterval < 0 {
		add("alerting.repeat_interval: %s is negative", a.RepeatInterval)
	}
	if a.MinDriftedScans < 0 {
		add("alerting.min_drifted_scans: %d is negative", a.MinDriftedScans)
	}
	if a.MaxInstancesPerGroup < 0 {
		add("alerting.max_instances_per_group: %d is negative", a.MaxInstancesPerGroup)
	}
	if a.MaxFindingsPerInstance < 0 {
		add("alerting.max_findings_per_instance: %d is negative", a.MaxFindingsPerInstance)
	}
	if a.ExternalURL != "" {
		if err := alertingCheckURL(a.ExternalURL); err != nil {
			add("alerting.external_url: %v", err)
		}
	}
	names := map[string]int{}
	for i := range a.Sinks {
		s := &a.Sinks[i]
		key := fmt.Sprintf("alerting.sinks[%d]", i)
		if s.Name == "" {
			add("%s.name: required", key)
		} else if j, dup := names[s.Name]; dup {
			add("%s.name: %q already used by alerting.sinks[%d]", key, s.Name, j)
		} else {
			names[s.Name] = i
		}
		if s.Timeout < 0 {
			add("%s.timeout: %s is negative", key, s.Timeout)
		}
		if s.MaxRetries < 0 || s.MaxRetries > maxSinkRetries {
			add("%s.max_retries: %d is outside 0..%d", key, s.MaxRetries, maxSinkRetries)
		}
		if s.QueueSize < 0 {
			add("%s.queue_size: %d is negative", key, s.QueueSize)
		}
		for k, ev := range s.Events {
			if !alertingContains(AlertEventTypes, ev) {
				add("%s.events[%d]: unknown event type %q (want one of %s)", key, k, ev, strings.Join(AlertEventTypes, ", "))
			}
		}
		if s.SecretFile != "" && s.SecretEnv != "" {
			add("%s: secret_file and secret_env are mutually exclusive", key)
		}
		hasSecret := s.SecretFile != "" || s.SecretEnv != "" || s.Secret != ""
		switch s.Type {
		case "":
			add("%s.type: required (one of %s)", key, strings.Join(SinkTypes, ", "))
		case SinkWebhook:
			if s.URL == "" {
				add("%s.url: required for type webhook", key)
			} else if err := alertingCheckURL(s.URL); err != nil {
				add("%s.url: %v", key, err)
			}
			if !hasSecret {
				add("%s: type webhook needs a signing secret (secret_file or secret_env)", key)
			}
			alertingOnlyFor(add, key, s, "urls", "topic_arn", "event_bus", "resend_window", "account_id", "product_arn")
		case SinkSlack:
			if s.URL == "" && s.SecretFile == "" && s.SecretEnv == "" {
				add("%s: type slack needs the incoming-webhook URL in secret_file or secret_env (or url)", key)
			}
			if s.URL != "" {
				if err := alertingCheckURL(s.URL); err != nil {
					// The URL is a secret: never echo it.
					add("%s.url: not a valid http(s) URL", key)
				}
			}
			if s.Secret != "" {
				add("%s.secret: not used by type slack (put the URL in secret_file or secret_env)", key)
			}
			alertingOnlyFor(add, key, s, "urls", "topic_arn", "event_bus", "resend_window", "account_id", "product_arn")
		case SinkSNS:
			if s.TopicARN == "" {
				add("%s.topic_arn: required for type sns", key)
			} else if !strings.HasPrefix(s.TopicARN, "arn:") || strings.Count(s.TopicARN, ":") != 5 {
				add("%s.topic_arn: %q is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)", key, s.TopicARN)
			}
			if hasSecret {
				add("%s: secrets are not used by type sns", key)
			}
			alertingOnlyFor(add, key, s, "url", "urls", "event_bus", "resend_window", "account_id", "product_arn")
		case SinkEventBridge:
			if hasSecret {
				add("%s: secrets are not used by type eventbridge", key)
			}
			alertingOnlyFor(add, key, s, "url", "urls", "topic_arn", "resend_window", "account_id", "product_arn")
		case SinkAlertmanager:
			if s.URL == "" && len(s.URLs) == 0 {
				add("%s.urls: required for type alertmanager (or url)", key)
			}
			if s.URL != "" {
				if err := alertingCheckURL(s.URL); err != nil {
					add("%s.url: %v", key, err)
				}
			}
			for k, u := range s.URLs {
				if err := alertingCheckURL(u); err != nil {
					add("%s.urls[%d]: %v", key, k, err)
				}
			}
			if s.ResendWindow < 0 {
				add("%s.resend_window: %s is negative", key, s.ResendWindow)
			}
			if hasSecret {
				add("%s: secrets are not used by type alertmanager", key)
			}
			alertingOnlyFor(add, key, s, "topic_arn", "event_bus", "account_id", "product_arn")
		case SinkSecurityHub:
			if !accountRe.MatchString(s.AccountID) {
				add("%s.account_id: %q is not a 12-digit AWS account id (required for type securityhub)", key, s.AccountID)
			}
			if s.ProductARN != "" && !productARNRe.MatchString(s.ProductARN) {
				add("%s.product_arn: %q is not a Security Hub product ARN (arn:PARTITION:securityhub:REGION:ACCOUNT:product/COMPANY/PRODUCT)", key, s.ProductARN)
			}
			for k, ev := range s.Events {
				if !alertingContains(SecurityHubEventTypes, ev) {
					add("%s.events[%d]: %q is not sent to Security Hub (only %s)", key, k, ev, strings.Join(SecurityHubEventTypes, ", "))
				}
			}
			if hasSecret {
				add("%s: secrets are not used by type securityhub", key)
			}
			alertingOnlyFor(add, key, s, "url", "urls", "topic_arn", "event_bus", "resend_window")
		default:
			add("%s.type: unknown sink type %q (want one of %s)", key, s.Type, strings.Join(SinkTypes, ", "))
		}
	}
	return errs
}

// Warnings returns non-fatal remarks about the section (inline secrets).
func (a *Alerting) Warnings() []string {
	var w []string
	for i, s := range a.Sinks {
		if s.Secret != "" {
			w = append(w, fmt.Sprintf("alerting.sinks[%d].secret: inline secret in the config file; prefer secret_file or secret_env", i))
		}
		if s.Type == SinkSlack && s.URL != "" {
			w = append(w, fmt.Sprintf("alerting.sinks[%d].url: the Slack webhook URL is a secret; prefer secret_file or secret_env", i))
		}
	}
	return w
}

// SecurityHubEventTypes are the events a securityhub sink turns into
// findings: the drift lifecycle of one instance.
var SecurityHubEventTypes = []string{"drift.detected", "drift.changed", "drift.resolved"}

var productARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$`)

// onlyFor reports keys set on a sink whose type does not use them.
func alertingOnlyFor(add func(string, ...any), key string, s *AlertSink, unused ...string) {
	for _, k := range unused {
		set := false
		switch k {
		case "url":
			set = s.URL != ""
		case "urls":
			set = len(s.URLs) > 0
		case "topic_arn":
			set = s.TopicARN != ""
		case "event_bus":
			set = s.EventBus != ""
		case "resend_window":
			set = s.ResendWindow != 0
		case "account_id":
			set = s.AccountID != ""
		case "product_arn":
			set = s.ProductARN != ""
		}
		if set {
			add("%s.%s: not used by type %s", key, k, s.Type)
		}
	}
}

func alertingCheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", alertingRedactURL(raw))
	}
	return nil
}

// redactURL keeps scheme and host only (paths and queries may hold tokens).
func alertingRedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func alertingContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
