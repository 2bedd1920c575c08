package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/drift"
)

// TestTreeKnowsEveryKeyYAMLWrites: every key yaml.v3 writes for a fully
// populated configuration is known to the tree check (its field rules —
// tags, inline structs — match yaml.v3's), and the written file parses back.
func TestTreeKnowsEveryKeyYAMLWrites(t *testing.T) {
	c := Default()
	c.AWS.Region = "eu-west-1"
	c.Selection = Selection{Tags: map[string][]string{"env": {"prod"}}, ASGNames: []string{"web-*"}, IncludeStandalone: true}
	c.Schedule.Jitter = time.Second
	c.Inventory.Source = SourceResourceDataSync
	c.Inventory.ResourceDataSync = &ResourceDataSync{Bucket: "inv-bucket", Prefix: "p", AccountID: "123456789012", Region: "eu-west-1"}
	c.Inventory.Events = &InventoryEvents{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/q", WaitSeconds: 10, MaxMessages: 5}
	yes := true
	c.Policy = Policy{IncludeDefaultPolicy: &yes,
		DefaultSeverity: map[drift.Category]drift.Severity{drift.CategoryFile: drift.SeverityHigh},
		Rules: []drift.Rule{{ID: "r", Scope: drift.Scope{ASG: "web-*", AMI: "ami-*"}, Category: drift.CategoryPackage, Name: "kernel*",
			Attribute: "version", Action: drift.ActionAllowUpgrade, AllowAdded: true, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "why"}},
		Custom: map[string]drift.CustomSpec{"Custom:Sysctl": {Key: "Name", Attributes: []string{"Value"}, Category: drift.CategoryCustom}}}
	fetch := BaselineFetch{CacheTTL: time.Minute, Timeout: time.Second}
	c.Baselines = Baselines{
		{Name: "local", Dir: &DirBaseline{Path: "/b", Index: "index.yaml"}},
		{Name: "s3", S3: &S3Baseline{URI: "s3://golden/m/", Tag: "driftd:manifest", BaselineFetch: fetch}},
		{Name: "ssm", SSMParameter: &SSMParameterBaseline{Name: "/g/{ami_id}", WithDecryption: true, BaselineFetch: fetch}},
		{Name: "ib", ImageBuilder: &ImageBuilderBaseline{Tag: "Ec2ImageBuilderArn", PackageFormat: "rpm", BaselineFetch: fetch}},
	}
	c.State = State{File: "/var/lib/driftd/state.json", FromTags: &yes}
	c.Remediation.Groups = []RemediationGroup{{Match: "web-*", Windows: []RemediationWindow{{Schedule: "0 2 * * *", Duration: time.Hour}}}}
	c.Remediation.Hook.URL = "https://hooks.example.com/x"
	c.Remediation.ApplyDefaults()
	c.Alerting = Alerting{ExternalURL: "https://driftd.example.com", StateFile: "/var/lib/driftd/notify.json", Sinks: []AlertSink{
		{Name: "am", Type: SinkAlertmanager, URLs: []string{"http://am:9093"}, Events: []string{"drift.detected"}},
		{Name: "hook", Type: SinkWebhook, URL: "https://hooks.example.com/d", SecretEnv: "HOOK_SECRET"},
	}}
	c.Alerting.ApplyDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("fixture does not validate: %v", errs)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if errs, _ := checkTree(doc.Content[0], reflect.TypeOf(Config{})); len(errs) > 0 {
		t.Fatalf("tree check refuses what yaml.v3 wrote: %v\n%s", errs[0], out)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	again, err := yaml.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Errorf("round trip differs:\n%s\nwant:\n%s", again, out)
	}
	for _, k := range []string{"cache_ttl:", "with_decryption:", "queue_url:", "allow_added:", "resend_window:"} {
		if !strings.Contains(string(out), k) {
			t.Errorf("fixture does not exercise %s", k)
		}
	}
}
