package config

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func decodeAlerting(t *testing.T, src string) (Alerting, error) {
	t.Helper()
	var doc struct {
		Alerting Alerting `yaml:"alerting"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	err := dec.Decode(&doc)
	doc.Alerting.applyDefaults()
	return doc.Alerting, err
}

func TestAlertingDefaults(t *testing.T) {
	a, err := decodeAlerting(t, `
alerting:
  sinks:
    - name: hook
      type: webhook
      url: https://hooks.example.com/x
      secret_env: HOOK_SECRET
    - name: am
      type: alertmanager
      urls: [http://am1:9093, http://am2:9093]
    - name: eb
      type: eventbridge
    - name: quiet
      type: sns
      topic_arn: arn:aws:sns:eu-west-1:123456789012:driftd
      max_retries: 0
`)
	if err != nil {
		t.Fatal(err)
	}
	if a.RepeatInterval != 4*time.Hour || a.MaxInstancesPerGroup != 20 || a.MaxFindingsPerInstance != 5 {
		t.Errorf("section defaults: %+v", a)
	}
	if got := a.Sinks[0]; got.Timeout != 10*time.Second || got.MaxRetries != 5 || got.QueueSize != 100 {
		t.Errorf("sink defaults: %+v", got)
	}
	if a.Sinks[1].ResendWindow != time.Hour {
		t.Errorf("alertmanager resend_window default: %s", a.Sinks[1].ResendWindow)
	}
	if a.Sinks[2].EventBus != "default" {
		t.Errorf("event_bus default: %q", a.Sinks[2].EventBus)
	}
	if a.Sinks[3].MaxRetries != 0 {
		t.Errorf("explicit max_retries: 0 must be kept, got %d", a.Sinks[3].MaxRetries)
	}
	if errs := a.Validate(); len(errs) != 0 {
		t.Errorf("valid config rejected: %v", errs)
	}
}

func TestAlertingAbsentSectionDefaults(t *testing.T) {
	var a Alerting
	a.applyDefaults()
	if a.RepeatInterval != DefaultRepeatInterval || a.MaxInstancesPerGroup != DefaultMaxInstancesPerGroup {
		t.Errorf("defaults not applied: %+v", a)
	}
	if errs := a.Validate(); len(errs) != 0 {
		t.Errorf("empty section must be valid: %v", errs)
	}
}

func TestAlertingUnknownKeyRejected(t *testing.T) {
	_, err := decodeAlerting(t, `
alerting:
  sinks:
    - name: hook
      type: webhook
      urll: https://x
`)
	if err == nil || !strings.Contains(err.Error(), "field urll not found") {
		t.Fatalf("unknown sink key must be rejected under KnownFields, got %v", err)
	}
	_, err = decodeAlerting(t, "alerting:\n  repeat: 1h\n")
	if err == nil || !strings.Contains(err.Error(), "field repeat not found") {
		t.Fatalf("unknown section key must be rejected, got %v", err)
	}
}

func TestAlertingValidateErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"sns without topic", `
alerting:
  sinks:
    - {name: a, type: webhook, url: "https://h/x", secret_env: S}
    - {name: b, type: sns}`,
			[]string{"alerting.sinks[1].topic_arn: required for type sns"}},
		{"bad topic arn", `
alerting:
  sinks:
    - {name: b, type: sns, topic_arn: "driftd"}`,
			[]string{`alerting.sinks[0].topic_arn: "driftd" is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)`}},
		{"missing name and type", `
alerting:
  sinks:
    - {url: "https://h/x"}`,
			[]string{"alerting.sinks[0].name: required", "alerting.sinks[0].type: required (one of webhook, slack, sns, eventbridge, alertmanager, securityhub)"}},
		{"unknown type", `
alerting:
  sinks:
    - {name: p, type: pagerduty}`,
			[]string{`alerting.sinks[0].type: unknown sink type "pagerduty" (want one of webhook, slack, sns, eventbridge, alertmanager, securityhub)`}},
		{"duplicate names", `
alerting:
  sinks:
    - {name: x, type: eventbridge}
    - {name: x, type: eventbridge}`,
			[]string{`alerting.sinks[1].name: "x" already used by alerting.sinks[0]`}},
		{"webhook needs url and secret", `
alerting:
  sinks:
    - {name: w, type: webhook}`,
			[]string{"alerting.sinks[0].url: required for type webhook", "alerting.sinks[0]: type webhook needs a signing secret (secret_file or secret_env)"}},
		{"webhook bad url", `
alerting:
  sinks:
    - {name: w, type: webhook, url: "ftp://h/x?token=abc", secret_file: /s}`,
			[]string{`alerting.sinks[0].url: "ftp://h/…" is not an absolute http(s) URL`}},
		{"slack without url", `
alerting:
  sinks:
    - {name: s, type: slack}`,
			[]string{"alerting.sinks[0]: type slack needs the incoming-webhook URL in secret_file or secret_env (or url)"}},
		{"slack bad inline url not echoed", `
alerting:
  sinks:
    - {name: s, type: slack, url: "hooks.slack.com/services/T0/B0/SECRETTOKEN"}`,
			[]string{"alerting.sinks[0].url: not a valid http(s) URL"}},
		{"alertmanager without urls", `
alerting:
  sinks:
    - {name: am, type: alertmanager}`,
			[]string{"alerting.sinks[0].urls: required for type alertmanager (or url)"}},
		{"alertmanager bad url in list", `
alerting:
  sinks:
    - {name: am, type: alertmanager, urls: ["http://ok:9093", "am2:9093"]}`,
			[]string{`alerting.sinks[0].urls[1]: "<redacted>" is not an absolute http(s) URL`}},
		{"unknown event filter", `
alerting:
  sinks:
    - {name: eb, type: eventbridge, events: [drift.detected, drift.exploded]}`,
			[]string{`alerting.sinks[0].events[1]: unknown event type "drift.exploded" (want one of ` + strings.Join(AlertEventTypes, ", ") + ")"}},
		{"retries out of range", `
alerting:
  sinks:
    - {name: eb, type: eventbridge, max_retries: 50}`,
			[]string{"alerting.sinks[0].max_retries: 50 is outside 0..20"}},
		{"negative numbers", `
alerting:
  repeat_interval: -1h
  min_drifted_scans: -4
  max_instances_per_group: -1
  max_findings_per_instance: -2
  sinks:
    - {name: eb, type: eventbridge, timeout: -1s, queue_size: -3}`,
			[]string{
				"alerting.repeat_interval: -1h0m0s is negative",
				"alerting.min_drifted_scans: -4 is negative",
				"alerting.max_instances_per_group: -1 is negative",
				"alerting.max_findings_per_instance: -2 is negative",
				"alerting.sinks[0].timeout: -1s is negative",
				"alerting.sinks[0].queue_size: -3 is negative",
			}},
		{"keys for another type", `
alerting:
  sinks:
    - {name: s, type: sns, topic_arn: "arn:aws:sns:us-east-1:123456789012:t", url: "https://x/y", event_bus: b}`,
			[]string{"alerting.sinks[0].url: not used by type sns", "alerting.sinks[0].event_bus: not used by type sns"}},
		{"secret on aws sink", `
alerting:
  sinks:
    - {name: e, type: eventbridge, secret_env: X}`,
			[]string{"alerting.sinks[0]: secrets are not used by type eventbridge"}},
		{"both secret sources", `
alerting:
  sinks:
    - {name: w, type: webhook, url: "https://h/x", secret_env: X, secret_file: /y}`,
			[]string{"alerting.sinks[0]: secret_file and secret_env are mutually exclusive"}},
		{"securityhub without account", `
alerting:
  sinks:
    - {name: sh, type: securityhub}`,
			[]string{`alerting.sinks[0].account_id: "" is not a 12-digit AWS account id (required for type securityhub)`}},
		{"securityhub bad product and events", `
alerting:
  sinks:
    - {name: sh, type: securityhub, account_id: "123456789012", product_arn: "arn:aws:sns:us-east-1:123456789012:t", events: [drift.detected, scan.failed], topic_arn: "arn:aws:sns:us-east-1:123456789012:t"}`,
			[]string{
				`alerting.sinks[0].product_arn: "arn:aws:sns:us-east-1:123456789012:t" is not a Security Hub product ARN (arn:PARTITION:securityhub:REGION:ACCOUNT:product/COMPANY/PRODUCT)`,
				`alerting.sinks[0].events[1]: "scan.failed" is not sent to Security Hub (only drift.detected, drift.changed, drift.resolved)`,
				"alerting.sinks[0].topic_arn: not used by type securityhub",
			}},
		{"account_id on another type", `
alerting:
  sinks:
    - {name: eb, type: eventbridge, account_id: "123456789012"}`,
			[]string{"alerting.sinks[0].account_id: not used by type eventbridge"}},
		{"bad external url", `
alerting:
  external_url: "driftd:9464"`,
			[]string{`alerting.external_url: "<redacted>" is not an absolute http(s) URL`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := decodeAlerting(t, tc.yaml)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var got []string
			for _, e := range a.Validate() {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got: %q\nwant: %q", got, tc.want)
			}
			for _, g := range got {
				if strings.Contains(g, "SECRETTOKEN") || strings.Contains(g, "token=abc") {
					t.Errorf("error leaks a secret: %s", g)
				}
			}
		})
	}
}

func TestAlertingWarningsForInlineSecrets(t *testing.T) {
	a, err := decodeAlerting(t, `
alerting:
  sinks:
    - {name: w, type: webhook, url: "https://h/x", secret: "s3cr3t"}
    - {name: s, type: slack, url: "https://hooks.slack.com/services/T/B/X"}
    - {name: ok, type: webhook, url: "https://h/x", secret_env: S}`)
	if err != nil {
		t.Fatal(err)
	}
	if errs := a.Validate(); len(errs) != 0 {
		t.Fatalf("inline secrets are allowed: %v", errs)
	}
	w := a.Warnings()
	want := []string{
		"alerting.sinks[0].secret: inline secret in the config file; prefer secret_file or secret_env",
		"alerting.sinks[1].url: the Slack webhook URL is a secret; prefer secret_file or secret_env",
	}
	if strings.Join(w, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings: %q", w)
	}
	for _, s := range w {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "/T/B/X") {
			t.Errorf("warning leaks the secret: %s", s)
		}
	}
}
