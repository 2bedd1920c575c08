package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestInventorySourceConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // exact validation errors; nil = valid
	}{
		{"default", "inventory: {}", nil},
		{"data sync", `
inventory:
  source: resource_data_sync
  resource_data_sync: {bucket: my-inventory, prefix: inventory, account_id: "123456789012", region: eu-west-1}
  events: {queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}`, nil},
		{"unknown source", "inventory: {source: athena}", []string{`inventory.source: "athena" is not one of ssm_api, resource_data_sync`}},
		{"sync section missing", "inventory: {source: resource_data_sync}", []string{"inventory.resource_data_sync: required with inventory.source: resource_data_sync"}},
		{"bad sync keys", `
inventory:
  source: resource_data_sync
  resource_data_sync: {bucket: My_Bucket, account_id: "12345", region: mars}`, []string{
			`inventory.resource_data_sync.bucket: "My_Bucket" is not an S3 bucket name`,
			`inventory.resource_data_sync.account_id: "12345" is not a 12-digit AWS account id`,
			`inventory.resource_data_sync.region: "mars" is not an AWS region name`}},
		{"sync without source", `
inventory:
  resource_data_sync: {bucket: my-inventory, account_id: "123456789012"}`, []string{`inventory.resource_data_sync: set but inventory.source is "ssm_api"`}},
		{"events need data sync", `
inventory:
  events: {queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/q"}`, []string{"inventory.events: needs inventory.source: resource_data_sync (events are S3 notifications of the sync bucket)"}},
		{"bad events", `
inventory:
  source: resource_data_sync
  resource_data_sync: {bucket: my-inventory, account_id: "123456789012"}
  events: {queue_url: "q", wait_seconds: 30, max_messages: 11}`, []string{
			`inventory.events.queue_url: "q" is not an SQS queue URL`,
			"inventory.events.wait_seconds: 30 must be between 1 and 20",
			"inventory.events.max_messages: 11 must be between 1 and 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("baselines: [{dir: {path: /var/lib/driftd/baselines}}]\n" + tc.yaml))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.Inventory.Source == "" || (c.Inventory.Events != nil && c.Inventory.Events.WaitSeconds != 20) {
					t.Fatalf("defaults not applied: %+v", c.Inventory.InventorySource)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want validation errors", err)
			}
			var got []string
			for _, e := range ve.Errors {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestInventorySourceUnknownKey(t *testing.T) {
	_, err := Parse([]byte("inventory:\n  resource_data_sync: {bucket: b, acount_id: x}\n"))
	if err == nil || !strings.Contains(err.Error(), "acount_id") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}
