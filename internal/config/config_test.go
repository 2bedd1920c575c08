package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
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
		!c.Policy.DefaultPolicyIncluded() || len(c.Inventory.Types) != 3 || c.Inventory.RateLimits["autoscaling"] != 10 ||
		c.AWS.MaxAttempts != DefaultMaxAttempts || c.HTTP.ReadHeaderTimeout != 5*time.Second {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestInvalid is the table of invalid files and their exact errors.
func TestInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string // exact messages, in order
	}{
		{"unknown_key", []string{"decoding YAML: yaml: unmarshal errors:\n  line 4: field crn not found in type config.Schedule"}},
		{"unknown_nested", []string{"decoding YAML: yaml: unmarshal errors:\n  line 2: field bucket not found in type config.DirBaseline"}},
		{"two_docs", []string{"decoding YAML: more than one YAML document"}},
		{"bad_duration", []string{"decoding YAML: yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `five` into time.Duration"}},
		{"bad_severity", []string{`decoding YAML: unknown severity "urgent" (want info, low, high or critical)`}},
		{"no_baselines", []string{"baselines: at least one baseline source is required (e.g. - dir: {path: /etc/driftd/baselines})"}},
		{"bad_cron", []string{`schedule.cron: "every five minutes": expected 5 to 6 fields, found 3: [every five minutes]`}},
		{"jitter_too_long", []string{"schedule.jitter: 2m0s must be shorter than the schedule interval 1m0s"}},
		{"inventory", []string{
			`inventory.types[1]: "Application" is not an inventory type name (AWS:Name or Custom:Name)`,
			`inventory.types[2]: "AWS:Application" duplicates inventory.types[0]`,
			"inventory.max_age: 10m0s is shorter than the shortest SSM inventory schedule (30m); every instance would be stale",
			"inventory.rate_limits.lambda: unknown service (want one of autoscaling, ec2, ssm, optionally with :Operation)",
			"inventory.rate_limits.ssm: -1 must be a positive number of requests per second",
			`inventory.rate_limits.ssm:list-entries: "list-entries" is not an operation name (e.g. ssm:ListInventoryEntries)`,
		}},
		{"policy", []string{
			"policy.default_severity.packages: unknown category (want one of package, file, service, custom, instance)",
			"policy.rules[0].severity: required with action severity",
			`policy.rules[1].id: "a" duplicates policy.rules[0]`,
			"policy.rules[1].severity: only valid with action severity",
			`policy.rules[1].category: "pkg" is not one of package, file, service, custom, instance`,
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
			`log.format: "xml" is not one of json, console`,
		}},
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
		if err == nil && len(c.Validate()) != 0 {
			t.Fatal("Parse accepted a config that does not validate")
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
