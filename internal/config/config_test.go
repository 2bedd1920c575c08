package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
)

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/baselines")
	checks := []struct {
		name      string
		got, want any
	}{
		{"region", c.AWS.Region, "eu-west-1"},
		{"max_attempts", c.AWS.MaxAttempts, 4},
		{"tags", c.Selection.Tags["env"][0], "prod"},
		{"standalone", c.Selection.IncludeStandalone, true},
		{"cron", c.Schedule.Cron, "0 */10 * * * *"},
		{"jitter", c.Schedule.Jitter, 30 * time.Second},
		{"types", strings.Join(c.Inventory.Types, ","), "AWS:Application,Custom:FileDigest"},
		{"rate ssm", c.Inventory.RateLimits["ssm"], 10.0},
		{"rate per operation", c.Inventory.RateLimits["ssm:ListInventoryEntries"], 8.0},
		{"rate ec2 default", c.Inventory.RateLimits["ec2"], 20.0},
		{"default policy", c.Policy.DefaultPolicyIncluded(), false},
		{"file severity", c.Policy.DefaultSeverity[drift.CategoryFile], drift.SeverityHigh},
		{"rule severity", c.Policy.Rules[0].Severity, drift.SeverityCritical},
		{"rule expiry", c.Policy.Rules[1].Expires, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"custom key", c.Policy.Custom["Custom:Sysctl"].Key, "Name"},
		{"baseline name", c.Baselines[0].Name, "dir"},
		{"baseline path made absolute", filepath.Clean(c.Baselines[0].Dir.Path), abs},
		{"log format", c.Log.Format, "console"},
		{"http listen", c.HTTP.Listen, "127.0.0.1:9464"},
		{"state file", c.State.File, "/var/lib/driftd/state.json"},
		{"state from tags default", c.State.RestoreFromTags(), true},
		{"ha table", c.HA.DynamoDBTable, "driftd-ha"},
		{"ha lease default", c.HA.LeaseDuration, DefaultLeaseDuration},
		{"ha skew margin", c.HA.SkewMargin, 4 * time.Second},
		{"ha renew every", c.HA.RenewEvery(), 10 * time.Second},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule.Cron != DefaultCron || c.Schedule.Timeout != DefaultTimeout || c.Inventory.Concurrency != DefaultConcurrency ||
		c.Inventory.MaxAge != DefaultMaxAge || c.HTTP.Listen != DefaultListen || c.Log.Level != "info" || c.Log.Format != "json" ||
		!c.Policy.DefaultPolicyIncluded() || len(c.Inventory.Types) != len(DefaultInventoryTypes) || c.Inventory.RateLimits["autoscaling"] != 10 ||
		c.AWS.MaxAttempts != DefaultMaxAttempts || c.HTTP.ReadHeaderTimeout != 5*time.Second ||
		c.HA.Enabled() || c.HA.LeaseDuration != 0 {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestInvalid is the table of invalid files and their exact errors.
func TestInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string // exact messages, in order
	}{
		{"unknown_key", []string{"schedule.crn: line 4: unknown key (did you mean cron?)"}},
		{"unknown_nested", []string{"baselines[0].dir.bucket: line 2: unknown key (valid here: index, path)"}},
		{"two_docs", []string{"line 3: a second YAML document starts here; the configuration is one document"}},
		{"bad_duration", []string{`schedule.timeout: line 4: "five" is not a duration (e.g. 90s, 5m, 2h)`}},
		{"bad_severity", []string{`policy.rules[0].severity: line 7: unknown severity "urgent" (want info, low, high or critical)`}},
		{"all_at_once", []string{
			"baselines[0].dir.bucket: line 5: unknown key (valid here: index, path)",
			"schedule.crn: line 7: unknown key (did you mean cron?)",
			`inventory.concurrency: line 11: "many" is not a whole number`,
			"inventory.concurency: line 12: unknown key (did you mean concurrency?)",
			"remediation.groups[0].windw: line 17: unknown key (did you mean windows?)",
			"log: line 19: duplicate key (first set at line 18)",
			"loglevel: line 20: unknown key (valid here: alerting, aws, baselines, config_rule, ha, http, inventory, log, policy, remediation, schedule, selection, state)",
			"schedule.jitter: 2m0s must be shorter than the schedule interval 1m0s",
			`remediation.groups[0].budget: "150%" is not a count or a percentage 0-100% (e.g. "1" or "10%")`,
		}},
		{"wrong_shapes", []string{
			"baselines: line 2: must be a list, not a mapping",
			`selection.tags.env: line 4: must be a list, not "prod"`,
			`selection.asg_names: line 5: must be a list, not "web-*"`,
			`inventory.types: line 7: must be a list, not "AWS:Application"`,
			"inventory.max_pages: line 8: must be a single value, not a mapping",
			`policy.include_default_policy: line 10: "maybe" is not true or false`,
			`policy.rules[0].expires: line 14: "next year" is not a time (RFC 3339, e.g. 2027-01-01T00:00:00Z)`,
		}},
		{"not_a_mapping", []string{"line 1: must be a mapping, not a list"}},
		{"nan", []string{
			"inventory.rate_limits.ec2: +Inf is not a finite number; want a positive number of requests per second (at most 10000)",
			"inventory.rate_limits.ssm: NaN is not a number; want a positive number of requests per second (at most 10000)",
			"inventory.rate_limits.ssm:ListInventoryEntries: 0 must be a positive number of requests per second (at most 10000)",
			"remediation.global.fleet_breaker_percent: NaN is not a number; want greater than 0 and at most 100",
			"remediation.groups[0].breaker.drift_percent: NaN is not a number; want greater than 0 and at most 100",
			"remediation.groups[1].breaker.drift_percent: -Inf is not a finite number; want greater than 0 and at most 100",
		}},
		{"cron_negative", []string{`schedule.cron: "@every -5m": the interval must be positive`}},
		{"cron_zero", []string{`schedule.cron: "@every 0s": the interval must be positive`}},
		{"cron_1ms", []string{`schedule.cron: "@every 1ms": the interval must be at least 1s`}},
		{"cron_tz", []string{`schedule.cron: "TZ=UTC @every 1ms": the interval must be at least 1s`}},
		{"cron_fraction", []string{`schedule.cron: "@every 90500ms": the interval must be whole seconds (the scheduler would run every 1m30s)`}},
		{"listen_port", []string{`http.listen: ":99999": port 99999 is out of range 0-65535`}},
		{"hook_url_secret", []string{`remediation.hook.url: "ftp://***@hooks.example.com/driftd?token=***&team=***" must be an http:// or https:// URL`}},
		{"default_policy_id", []string{`policy.rules[0].id: "default-ssm-agent-self-update" is the id of a shipped default-policy rule (rename it, or set include_default_policy: false)`}},
		{"no_baselines", []string{"baselines: at least one baseline source is required (e.g. - dir: {path: /etc/driftd/baselines})"}},
		{"bad_cron", []string{`schedule.cron: "every five minutes": expected 5 to 6 fields, found 3: [every five minutes]`}},
		{"jitter_too_long", []string{"schedule.jitter: 2m0s must be shorter than the schedule interval 1m0s"}},
		{"inventory", []string{
			`inventory.types[1]: "Application" is not an inventory type name (AWS:Name or Custom:Name)`,
			`inventory.types[2]: "AWS:Application" duplicates inventory.types[0]`,
			"inventory.max_age: 10m0s is shorter than the shortest SSM inventory schedule (30m); every instance would be stale",
			"inventory.rate_limits.lambda: unknown service (want one of autoscaling, ec2, ssm, optionally with :Operation)",
			"inventory.rate_limits.ssm: -1 must be a positive number of requests per second (at most 10000)",
			`inventory.rate_limits.ssm:list-entries: "list-entries" is not an operation name (e.g. ssm:ListInventoryEntries)`,
		}},
		{"policy", []string{
			"policy.default_severity.packages: unknown category (want one of package, file, service, custom, instance, runtime, update, role)",
			"policy.rules[0].severity: required with action severity",
			`policy.rules[1].id: "a" duplicates policy.rules[0]`,
			"policy.rules[1].severity: only valid with action severity",
			`policy.rules[1].category: "pkg" is not one of package, file, service, custom, instance, runtime, update, role`,
			"policy.rules[2].id: required",
			`policy.rules[2].action: "remove" is not one of ignore, allow_upgrade, severity, exempt`,
			`policy.rules[2].name: bad glob "[x"`,
			"policy.rules[3].allow_added: only valid with action allow_upgrade",
			"policy.custom.Custom:X.key: required",
		}},
		{"baselines", []string{
			"baselines[0]: exactly one source kind must be set (one of dir, s3, ssm_parameter, image_builder)",
			`baselines[1].name: "local" duplicates baselines[0]`,
			"baselines[1].dir.path: required",
			`baselines[1].dir.index: "/abs/index.yaml" must be relative to baselines[1].dir.path`,
			`baselines[2].name: "bad name" must be 1-64 letters, digits, '.', '_' or '-'`,
			`baselines[2].dir.index: "../up.yaml" must stay inside baselines[2].dir.path`,
		}},
		{"log_http", []string{
			`aws.region: "Frankfurt" is not an AWS region name`,
			"aws.max_attempts: -1 must be between 1 and 20",
			`aws.retry_mode: "fast" is not one of adaptive, standard`,
			`http.listen: "9464" must be host:port or :port`,
			"http.read_timeout: must not be negative",
			`log.level: "verbose" is not one of debug, info, warn, error`,
			`log.format: "xml" is not one of json, logfmt, console`,
		}},
		{"ha", []string{
			"ha.verify_fnce: line 8: unknown key (did you mean verify_fence?)",
			`ha.dynamodb_table: "driftd ha" is not a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')`,
			"ha.lease_duration: 1s must be between 3s and 10m0s",
			"ha.skew_margin: 2s must be less than half ha.lease_duration 1s",
			`ha.holder: "a b": only printable characters without spaces`,
		}},
		{"ha_without_table", []string{
			"ha.holder: only valid with ha.dynamodb_table",
			"ha.lease_duration: only valid with ha.dynamodb_table",
		}},
		{"ha_margin", []string{"ha.skew_margin: 5s must be less than half ha.lease_duration 10s"}},
		{"selection", []string{
			"selection.tags.env: needs at least one value",
			"selection.asg_names[0]: empty name",
			`selection.asg_names[1]: bad glob "web-[x"`,
		}},
	}
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("%d invalid files in testdata, %d in the table", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/invalid", tt.file+".yaml")
			_, err := Load(path)
			if err == nil {
				t.Fatal("loaded without error")
			}
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				if ve.File != path {
					t.Errorf("ValidationError.File = %q", ve.File)
				}
				for _, e := range ve.Errors {
					got = append(got, e.Error())
				}
			} else {
				got = []string{strings.TrimPrefix(err.Error(), path+": ")}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range append(files, more...) {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if len(c.Validate()) != 0 {
			t.Fatal("Parse accepted a config that does not validate")
		}
		// The tree check agrees with yaml.v3's own strict decoding: nothing
		// it accepts has an unknown key, a duplicate or a mistyped value.
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&Config{}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("Parse accepted what strict decoding refuses: %v", err)
		}
		// The daemon compiles the policy with the shipped default rules; a
		// valid file never fails there.
		rules := c.Policy.Rules
		if c.Policy.DefaultPolicyIncluded() {
			rules = append(append([]drift.Rule(nil), rules...), defaultpolicy.Rules()...)
		}
		if _, err := drift.CompilePolicy(&drift.Policy{MaxInventoryAge: c.Inventory.MaxAge, DefaultSeverity: c.Policy.DefaultSeverity, Rules: rules, Custom: c.Policy.Custom}); err != nil {
			t.Fatalf("valid configuration, policy does not compile: %v", err)
		}
	})
}

func TestExamplesValidate(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configurations found")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestParseAnchorsAndMerges: anchors, aliases and merge keys decode as
// yaml.v3 decodes them, and keys inside merged mappings are checked too.
func TestParseAnchorsAndMerges(t *testing.T) {
	doc := `
baselines:
  - dir: {path: /b}
remediation:
  groups:
    - &web {match: "web-*", mode: approve, budget: "10%", breaker: {max_failures: 2}}
    - <<: *web
      match: "api-*"
    - {<<: [*web], match: "batch-*", max_in_flight: 2}
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Remediation.Groups
	if len(g) != 3 || g[1].Match != "api-*" || g[1].Mode != "approve" || g[1].Budget != "10%" || g[1].Breaker.MaxFailures != 2 ||
		g[2].Match != "batch-*" || g[2].MaxInFlight != 2 || g[2].Budget != "10%" {
		t.Fatalf("groups = %+v", g)
	}
	_, err = Parse([]byte(doc + "    - {<<: {matchh: x}, match: y}\n"))
	if err == nil || !strings.Contains(err.Error(), "remediation.groups[3].matchh: line 10: unknown key (did you mean match?)") {
		t.Fatalf("unknown key in a merged mapping: %v", err)
	}
}

func TestParseSizeCap(t *testing.T) {
	big := append([]byte("baselines: [{dir: {path: /b}}]\n#"), bytes.Repeat([]byte("x"), MaxFileSize)...)
	if _, err := Parse(big); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes (1 MiB)") {
		t.Fatalf("err = %v", err)
	}
	f := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(f, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f); err == nil || !strings.HasPrefix(err.Error(), f+": the configuration is larger than") {
		t.Fatalf("Load: %v", err)
	}
	// Just under the cap is read whole.
	ok := append([]byte("baselines: [{dir: {path: /b}}]\n#"), bytes.Repeat([]byte("x"), MaxFileSize-40)...)
	if _, err := Parse(ok); err != nil {
		t.Fatalf("file under the cap: %v", err)
	}
}

// TestParseAliasBomb: a billion-laughs document is refused quickly, not
// expanded.
func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-a0: &a0 {match: web}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x-a%d: &a%d {<<: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("baselines: [{dir: {path: /b}}]\nremediation: {groups: [*a9]}\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[len(ve.Errors)-1].Error() != "line 1: the document expands to more than 1000000 nodes through aliases and merge keys" {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
}
